"""WhatsApp Cloud API pieces without a server of ours: webhook parsing, signatures, error
classification, pacing, and the sender against the fake Graph API on 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

import pytest

from hablo.adapters.accounts import AccountDirectory, OpenAccount
from hablo.adapters.base import PermanentSendError, TransientSendError
from hablo.adapters.whatsapp_cloud import (
    TokenBucket,
    WhatsAppCloudSender,
    _classify,
    signature_ok,
)
from hablo.adapters.whatsapp_cloud_parse import parse_webhook, phone_number_ids
from hablo.db.base import utcnow
from hablo.db.enums import DeliveryStatus
from hablo.engine.messages import OutboundEnvelope
from tests.providers.fake_whatsapp_cloud import (
    ACCESS_TOKEN,
    PHONE_NUMBER_ID,
    FakeWhatsAppCloud,
    envelope,
    inbound,
    sign,
    status_update,
    text_message,
)

TENANT = uuid.uuid4()
PEER = "5491155550002"


# -- parsing ---------------------------------------------------------------------------------


def test_text_message_with_profile_name() -> None:
    messages, statuses = parse_webhook(text_message(PEER, "hola", "wamid.A", name="Ana"))
    assert statuses == []
    [message] = messages
    assert (message.phone_number_id, message.peer, message.provider_message_id) == (
        PHONE_NUMBER_ID,
        PEER,
        "wamid.A",
    )
    assert message.text == "hola" and message.sender_name == "Ana"
    assert dict(message.extra)["wa_type"] == "text"


def test_list_reply_document_and_location_without_name() -> None:
    listed = {"type": "list_reply", "list_reply": {"id": "svc-1", "title": "Corte"}}
    [reply], _ = parse_webhook(inbound(PEER, "interactive", listed, "wamid.L"))
    assert reply.text == "Corte" and dict(reply.extra)["reply_id"] == "svc-1"

    doc = {"id": "M1", "mime_type": "application/pdf", "sha256": "ab", "filename": "x.pdf"}
    [document], _ = parse_webhook(inbound(PEER, "document", doc, "wamid.D"))
    assert document.text == "[document]"
    assert dict(document.extra)["attachments"][0]["filename"] == "x.pdf"

    [pin], _ = parse_webhook(inbound(PEER, "location", {"latitude": 1.5, "longitude": 2}, "w.P"))
    assert pin.text == "📍 1.5, 2"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"entry": "nope"},
        {"entry": [{"changes": [{"value": {"metadata": {}}}]}]},
        inbound(PEER, "reaction", {"emoji": "👍"}, "wamid.R"),
        inbound(PEER, "location", {"latitude": "x"}, "wamid.BADLOC"),
        inbound(PEER, "text", {"body": "   "}, "wamid.EMPTY"),
        envelope(messages=[{"from": PEER, "type": "text", "text": {"body": "no id"}}]),
        envelope(
            messages=[
                {"from": PEER, "id": "w.G", "type": "text", "text": {"body": "hi"}, "group_id": "1"}
            ]
        ),
        envelope(statuses=[{"id": "wamid.S", "status": "deleted"}]),
    ],
)
def test_malformed_or_unsupported_parts_are_skipped(payload: Any) -> None:
    assert parse_webhook(payload) == ([], [])


def test_statuses_and_numbers() -> None:
    payload = status_update(PEER, "wamid.OUT", "failed", error=(131026, "Undeliverable"))
    assert phone_number_ids(payload) == {PHONE_NUMBER_ID}
    _, [status] = parse_webhook(payload)
    assert status.status is DeliveryStatus.FAILED
    assert status.error == "whatsapp error 131026: Undeliverable"
    _, [read] = parse_webhook(status_update(PEER, "wamid.OUT", "read"))
    assert read.status is DeliveryStatus.READ and read.error is None


def test_signature() -> None:
    body = b'{"a": 1}'
    assert signature_ok("s3cret", body, sign(body, "s3cret"))
    assert signature_ok("s3cret", body, sign(body, "s3cret").upper().replace("SHA256", "sha256"))
    assert not signature_ok("s3cret", body + b" ", sign(body, "s3cret"))
    assert not signature_ok("s3cret", body, None)
    assert not signature_ok("s3cret", body, sign(body, "other"))
    # An account stored without an app secret: a body "signed" with the empty key is refused.
    assert not signature_ok("", body, sign(body, ""))


# -- error classification and pacing --------------------------------------------------------


def graph(code: int) -> bytes:
    return b'{"error": {"code": %d, "message": "m"}}' % code


def test_classify() -> None:
    throttled = _classify(400, "3", graph(130429))
    assert isinstance(throttled, TransientSendError) and throttled.retry_after == 3.0
    assert isinstance(_classify(429, None, b""), TransientSendError)
    assert isinstance(
        _classify(503, "Wed, 21 Oct 2015 07:28:00 GMT", b"<html>"), TransientSendError
    )
    assert isinstance(_classify(400, None, graph(131056)), TransientSendError)
    invalid = _classify(400, None, graph(100))
    assert isinstance(invalid, PermanentSendError) and "error 100" in str(invalid)
    token = _classify(401, None, graph(190))
    assert isinstance(token, PermanentSendError) and "access token rejected" in str(token)


def test_token_bucket_spreads_a_burst_at_the_rate() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(80.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(161):
        bucket.acquire()
    # 161 sends took 2 s: never more than 80 in any second (plus the first one).
    assert now[0] == pytest.approx(2.0)
    assert sleeps and max(sleeps) == pytest.approx(1 / 80)


# -- the sender against the fake Graph API ---------------------------------------------------


class Directory:
    def __init__(self, account: OpenAccount | None) -> None:
        self.account = account
        self.rejected: list[tuple[OpenAccount, str]] = []

    def for_tenant(self, tenant_id: uuid.UUID, channel: str) -> OpenAccount | None:
        return self.account

    def report_rejected(self, account: OpenAccount, reason: str) -> None:
        self.rejected.append((account, reason))


@pytest.fixture
def fake() -> Iterator[FakeWhatsAppCloud]:
    server = FakeWhatsAppCloud().start()
    yield server
    server.stop()


def account(fake: FakeWhatsAppCloud, **config: Any) -> OpenAccount:
    return OpenAccount(
        id=uuid.uuid4(),
        tenant_id=TENANT,
        channel="whatsapp_cloud",
        address=PHONE_NUMBER_ID,
        config=config,
        secrets={"access_token": ACCESS_TOKEN, "app_secret": "x"},
    )


def sender(
    found: OpenAccount | None,
    last: datetime | None = None,
    api_base: str = "http://127.0.0.1:9/unset",
    allow_private_urls: bool = True,
) -> WhatsAppCloudSender:
    directory = cast(AccountDirectory, Directory(found))
    return WhatsAppCloudSender(
        directory,
        last_inbound=lambda _conversation: last,
        api_base=api_base,
        allow_private_urls=allow_private_urls,
    )


def reply(text: str = "¡Hola!") -> OutboundEnvelope:
    return OutboundEnvelope(
        outbox_id=1,
        tenant_id=TENANT,
        channel="whatsapp_cloud",
        peer=PEER,
        text=text,
        conversation_id=uuid.uuid4(),
    )


def test_send_returns_the_wamid(fake: FakeWhatsAppCloud) -> None:
    receipt = sender(account(fake), api_base=fake.api_base).send(reply())
    assert receipt.provider_message_id is not None
    assert receipt.provider_message_id.startswith("wamid.")
    assert fake.sent_to(PEER)[0].text == "¡Hola!"


def test_long_silence_sends_the_template_up_front(fake: FakeWhatsAppCloud) -> None:
    found = account(fake, template_name="hola", template_text_param=True)
    late = utcnow() - timedelta(hours=25)
    sender(found, last=late, api_base=fake.api_base).send(reply("Tu turno es mañana"))
    [sent] = fake.sent_to(PEER)
    assert sent.body["type"] == "template"
    assert sent.body["template"]["language"] == {"code": "es"}
    parameters = sent.body["template"]["components"][0]["parameters"]
    assert parameters == [{"type": "text", "text": "Tu turno es mañana"}]
    assert fake.attempts == 1  # no wasted free-form attempt


def test_wrong_token_and_missing_account_are_permanent(fake: FakeWhatsAppCloud) -> None:
    bad = OpenAccount(
        id=uuid.uuid4(),
        tenant_id=TENANT,
        channel="whatsapp_cloud",
        address=PHONE_NUMBER_ID,
        config={},
        secrets={"access_token": "EAAG-wrong"},
    )
    refused = sender(bad, api_base=fake.api_base)
    with pytest.raises(PermanentSendError, match="access token rejected") as caught:
        refused.send(reply())
    assert "EAAG-wrong" not in str(caught.value)
    # Staff are told the channel is down (the directory records a staff notification).
    reports = cast(Directory, refused._accounts).rejected
    assert [(a.id, "access token rejected" in why) for a, why in reports] == [(bad.id, True)]
    with pytest.raises(PermanentSendError, match="no enabled whatsapp_cloud account"):
        sender(None).send(reply())


def test_unreachable_provider_is_transient(fake: FakeWhatsAppCloud) -> None:
    down = account(fake, timeout_s=2)
    with pytest.raises(TransientSendError, match="network error"):
        sender(down, api_base="http://127.0.0.1:9/v21.0").send(reply())


def test_media_link_into_a_private_network_is_refused(fake: FakeWhatsAppCloud) -> None:
    strict = sender(account(fake), api_base=fake.api_base, allow_private_urls=False)
    for link in ("http://127.0.0.1:8080/x.png", "http://169.254.169.254/latest/meta-data"):
        with pytest.raises(PermanentSendError, match="media_url refused"):
            strict.send(replace(reply(), media_url=link))
    assert fake.attempts == 0  # nothing reached the provider
    lenient = sender(account(fake), api_base=fake.api_base, allow_private_urls=True)
    lenient.send(replace(reply(), media_url="http://127.0.0.1:8080/x.png"))
    assert fake.attempts == 1
