"""TwilioSender against the fake Twilio without the engine: error mapping, pacing,
messaging services, WhatsApp prefixes; and address parsing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, cast

import pytest
from twilio.request_validator import RequestValidator

from hablo.adapters.accounts import AccountDirectory, OpenAccount
from hablo.adapters.base import PermanentSendError, TransientSendError
from hablo.adapters.twilio import TwilioSender, split_address, valid_signature
from hablo.engine.messages import OutboundEnvelope
from tests.providers.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, FakeTwilio

TENANT = uuid.uuid4()
PEER = "+5491155550001"


class OneAccount:
    """The one method of AccountDirectory the sender uses."""

    def __init__(self, channel: str, **config: Any) -> None:
        self.account = OpenAccount(
            id=uuid.uuid4(),
            tenant_id=TENANT,
            channel=channel,
            address=OUR_NUMBER,
            config={"account_sid": ACCOUNT_SID, **config},
            secrets={"auth_token": AUTH_TOKEN},
        )
        self.rejected: list[tuple[OpenAccount, str]] = []

    def for_tenant(self, tenant_id: uuid.UUID, channel: str) -> OpenAccount | None:
        return self.account if (tenant_id, channel) == (TENANT, self.account.channel) else None

    def report_rejected(self, account: OpenAccount, reason: str) -> None:
        self.rejected.append((account, reason))


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    server = FakeTwilio().start()
    yield server
    server.stop()


def sender(fake: FakeTwilio, channel: str = "twilio_sms", **config: Any) -> TwilioSender:
    accounts = cast(AccountDirectory, OneAccount(channel, **config))
    return TwilioSender(
        channel,
        accounts,
        "https://hablo.example.com/",
        api_base=fake.api_base,
        allow_private_urls=True,
    )


def envelope(channel: str = "twilio_sms", text: str = "hola") -> OutboundEnvelope:
    return OutboundEnvelope(1, TENANT, channel, PEER, text, None)


def test_split_address_normalises_and_tells_the_channel() -> None:
    assert split_address("+54 9 11 5555-0001") == ("twilio_sms", PEER)
    assert split_address("whatsapp:+5491155550001") == ("twilio_whatsapp", PEER)
    with pytest.raises(ValueError):
        split_address("whatsapp:hello")


def test_an_empty_auth_token_verifies_nothing() -> None:
    url, params = "https://hablo.example.com/webhooks/twilio/sms", {"To": OUR_NUMBER}
    forged = RequestValidator("").compute_signature(url, params)
    assert not valid_signature("", url, params, forged)
    real = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    assert valid_signature(AUTH_TOKEN, url, params, real)


def test_media_link_into_a_private_network_is_refused(fake: FakeTwilio) -> None:
    accounts = cast(AccountDirectory, OneAccount("twilio_sms", max_per_second=100))
    strict = TwilioSender("twilio_sms", accounts, "https://x", api_base=fake.api_base)
    with pytest.raises(PermanentSendError, match="media_url refused"):
        strict.send(replace(envelope(), media_url="http://10.0.0.5/m.png"))
    assert fake.attempts == 0


def test_error_mapping(fake: FakeTwilio) -> None:
    sms = sender(fake, max_per_second=100)
    fake.fail_next(1, status=503)
    with pytest.raises(TransientSendError):
        sms.send(envelope())
    fake.fail_next(1, status=429, retry_after=7, code=20429, message="Too Many Requests")
    with pytest.raises(TransientSendError) as throttled:
        sms.send(envelope())
    assert throttled.value.retry_after == 7.0
    fake.fail_next(1, status=400, code=21211, message="The 'To' number is not valid.")
    with pytest.raises(PermanentSendError, match="21211"):
        sms.send(envelope())
    assert sms.send(envelope()).provider_message_id.startswith("SM")  # type: ignore[union-attr]


def test_wrong_auth_token_is_permanent_and_reported(fake: FakeTwilio) -> None:
    fake.auth_token = "rotated"
    sms = sender(fake)
    with pytest.raises(PermanentSendError, match="20003"):
        sms.send(envelope())
    reports = cast(OneAccount, sms._accounts).rejected
    assert [why.startswith("twilio credentials rejected") for _, why in reports] == [True]


def test_connection_refused_is_transient() -> None:
    accounts = cast(AccountDirectory, OneAccount("twilio_sms"))
    closed = TwilioSender("twilio_sms", accounts, "https://x", api_base="http://127.0.0.1:9")
    with pytest.raises(TransientSendError):
        closed.send(envelope())


def test_no_account_is_permanent(fake: FakeTwilio) -> None:
    sms_only = cast(AccountDirectory, OneAccount("twilio_sms"))
    wa = TwilioSender("twilio_whatsapp", sms_only, "https://x", api_base=fake.api_base)
    with pytest.raises(PermanentSendError, match="no enabled twilio_whatsapp account"):
        wa.send(envelope("twilio_whatsapp"))
    assert fake.attempts == 0


def test_long_code_is_paced_one_per_second_by_default(fake: FakeTwilio) -> None:
    sms = sender(fake)
    began = time.monotonic()
    for _ in range(3):
        sms.send(envelope())
    assert time.monotonic() - began >= 1.9  # 3 sends at 1/s: two waits
    assert len(fake.sent) == 3


def test_whatsapp_prefix_and_messaging_service(fake: FakeTwilio) -> None:
    sender(fake, channel="twilio_whatsapp").send(envelope("twilio_whatsapp"))
    sender(fake, messaging_service_sid="MG" + "1" * 32, max_per_second=100).send(envelope())
    wa, via_service = fake.sent
    assert (wa.from_, wa.to) == ("whatsapp:" + OUR_NUMBER, "whatsapp:" + PEER)
    assert via_service.form["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in via_service.form
    assert wa.form["StatusCallback"] == "https://hablo.example.com/webhooks/twilio/status"


def test_choices_are_numbered_and_media_goes_as_mms(fake: FakeTwilio) -> None:
    rich = replace(envelope(text="¿Te reservo?"), choices=("Sí", "No"), media_url="https://x/m.png")
    sender(fake, max_per_second=100).send(rich)
    sent = fake.sent[0]
    assert sent.body == "¿Te reservo?\n\n1. Sí\n2. No"
    assert sent.form["MediaUrl"] == "https://x/m.png"
