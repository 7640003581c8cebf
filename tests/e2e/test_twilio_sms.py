"""The Twilio SMS (and Twilio WhatsApp) channel end to end, on SQLite and PostgreSQL: our
real server on a real port, webhooks signed with Twilio's real scheme, the real engine and
database, and a fake Twilio REST API on 127.0.0.1 that receives the replies through the
official `twilio` client (never Twilio's servers)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from hablo.bootstrap import bootstrap
from hablo.db.enums import DeliveryStatus, OutboxStatus, Role, SenderKind
from hablo.db.models import ChannelAccount, Contact, InboxEvent, Message, OutboxMessage
from hablo.demo import seed_demo
from tests.api.support import Api
from tests.conftest import make_settings
from tests.e2e.server import serve, wait_until
from tests.integration.helpers import count
from tests.providers.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    OUR_NUMBER,
    PUBLIC_URL,
    FakeTwilio,
    basic,
    inbound_sms,
    post_signed,
    status_callback,
)

PEER = "+5491155550001"
QUESTION = "hola, cuánto sale el corte?"
SMS_HOOK = "/webhooks/twilio/sms"
STATUS_HOOK = "/webhooks/twilio/status"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    server = FakeTwilio().start()
    yield server
    server.stop()


@contextmanager
def live_twilio(db_url: str, fake: FakeTwilio) -> Iterator[Api]:
    settings = make_settings(
        db_url,
        channels=["console", "twilio_sms", "twilio_whatsapp"],
        public_url=PUBLIC_URL,
        twilio_api_base=fake.api_base,  # a platform setting, never an account's
    )
    runtime = bootstrap(settings, upgrade_schema=False)
    with runtime.db.transaction() as session:
        seed_demo(session)
    try:
        with serve(runtime) as server:
            yield Api(server, runtime)
    finally:
        runtime.db.dispose()


def connect(api: Api, fake: FakeTwilio, channel: str = "twilio_sms", **config: Any) -> None:
    """Connect the business's Twilio number the way an owner does: POST /api/channels."""
    created = api.as_role(Role.OWNER).post(
        "/api/channels",
        json={
            "channel": channel,
            "address": OUR_NUMBER,
            "display_name": "Salón (SMS)",
            # Pacing is tested separately; here replies should not wait a second each.
            "config": {
                "account_sid": ACCOUNT_SID,
                "max_per_second": 50,
                **config,
            },
            "secrets": {"auth_token": AUTH_TOKEN},
        },
    )
    assert created.status_code == 201, created.text


@pytest.fixture
def api(db_url: str, fake: FakeTwilio) -> Iterator[Api]:
    with live_twilio(db_url, fake) as running:
        connect(running, fake)
        yield running


def bot_messages(api: Api) -> int:
    return count(api.runtime, Message, Message.sender_kind == SenderKind.BOT)


def wait_replies(fake: FakeTwilio, to: str = PEER, n: int = 1) -> list[Any]:
    return wait_until(lambda: len(fake.sent_to(to)) >= n and fake.sent_to(to), what="reply")


def settle() -> None:
    time.sleep(0.5)  # room for a wrong extra send to show up


def test_sms_question_gets_a_reply_through_the_rest_api(api: Api, fake: FakeTwilio) -> None:
    answer = post_signed(api.base_url, SMS_HOOK, inbound_sms(PEER, QUESTION, "SMin1"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/xml")
    assert "<Response/>" in answer.text

    sent = wait_replies(fake)[0]
    assert sent.account_sid == ACCOUNT_SID
    assert sent.authorization == basic()
    assert sent.from_ == OUR_NUMBER and sent.to == PEER
    assert "corte" in sent.body.lower() or "$" in sent.body
    assert sent.form["StatusCallback"] == PUBLIC_URL + STATUS_HOOK

    row = wait_until(
        lambda: count(api.runtime, OutboxMessage, OutboxMessage.status == OutboxStatus.SENT),
        what="outbox row sent",
    )
    assert row
    with api.runtime.db.transaction() as session:
        customer = session.scalars(
            select(Message).where(Message.sender_kind == SenderKind.CUSTOMER)
        ).one()
        assert customer.body == QUESTION
        ids = session.scalars(select(OutboxMessage.provider_message_id)).all()
    assert all(i and i.startswith("SM") for i in ids if i)


def test_the_same_webhook_five_times_is_one_inbox_row_and_one_reply(
    api: Api, fake: FakeTwilio
) -> None:
    params = inbound_sms(PEER, QUESTION, "SMdup1")
    for _ in range(5):
        assert post_signed(api.base_url, SMS_HOOK, params).status_code == 200
    wait_replies(fake)
    settle()
    assert count(api.runtime, InboxEvent) == 1
    assert count(api.runtime, Message, Message.sender_kind == SenderKind.CUSTOMER) == 1
    assert len(fake.sent_to(PEER)) == bot_messages(api) >= 1
    replies = bot_messages(api)
    assert replies == len(fake.sent), "a duplicate webhook produced another reply"


def test_bad_or_missing_signature_is_403_and_nothing_stored(api: Api, fake: FakeTwilio) -> None:
    params = inbound_sms(PEER, QUESTION, "SMforged")
    forged = post_signed(api.base_url, SMS_HOOK, params, auth_token="someone-elses-token")
    missing = post_signed(api.base_url, SMS_HOOK, params, signature="")
    # Signed for another URL: Twilio's signature covers the public URL it called.
    wrong_url = post_signed(api.base_url, SMS_HOOK, params, public_url="https://evil.example")
    tampered = dict(params, Body="gratis?")
    good_sig = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + SMS_HOOK, params)
    altered = post_signed(api.base_url, SMS_HOOK, tampered, signature=good_sig)
    for answer in (forged, missing, wrong_url, altered):
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "invalid_signature"
    unknown_number = post_signed(
        api.base_url, SMS_HOOK, inbound_sms(PEER, QUESTION, "SMx", to="+15005550009")
    )
    assert unknown_number.status_code == 403
    settle()
    assert count(api.runtime, InboxEvent) == 0
    assert count(api.runtime, Message) == 0
    assert fake.attempts == 0


def test_an_account_stored_without_auth_token_accepts_no_webhook(
    api: Api, fake: FakeTwilio
) -> None:
    with api.runtime.db.transaction() as session:
        row = session.scalars(select(ChannelAccount)).one()
        row.secrets = {}  # as an older hablo let it be saved
    api.runtime.accounts.forget()
    params = inbound_sms(PEER, QUESTION, "SMemptykey")
    forged = post_signed(api.base_url, SMS_HOOK, params, auth_token="")
    assert forged.status_code == 403, forged.text
    settle()
    assert count(api.runtime, InboxEvent) == 0


def test_500_then_429_then_ok_delivers_exactly_once(api: Api, fake: FakeTwilio) -> None:
    fake.fail_next(1, status=500)
    fake.fail_next(1, status=429, retry_after=1.0, code=20429, message="Too Many Requests")
    began = time.monotonic()
    post_signed(api.base_url, SMS_HOOK, inbound_sms(PEER, QUESTION, "SMretry"))
    wait_replies(fake)
    # Test backoff is at most 0.2 s: only Twilio's Retry-After explains a 1 s wait.
    assert time.monotonic() - began >= 1.0
    settle()
    assert len(fake.sent_to(PEER)) == bot_messages(api)
    with api.runtime.db.transaction() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert [r.status for r in rows] == [OutboxStatus.SENT] * len(rows)
    assert fake.attempts == len(rows) + 2


def test_a_400_is_dead_lettered_with_twilios_message(api: Api, fake: FakeTwilio) -> None:
    fake.fail_next(
        1, status=400, code=21211, message="The 'To' number +5491155550001 is not valid."
    )
    post_signed(api.base_url, SMS_HOOK, inbound_sms(PEER, QUESTION, "SMbad"))
    owner = api.as_role(Role.OWNER)

    def dead() -> list[dict[str, Any]]:
        listed = owner.get("/api/outbox", params={"status": "dead"})
        assert listed.status_code == 200, listed.text
        items: list[dict[str, Any]] = listed.json()["items"]
        return items

    items = wait_until(dead, what="dead letter")
    assert items[0]["channel"] == "twilio_sms"
    assert "21211" in items[0]["last_error"]
    assert "is not valid" in items[0]["last_error"]
    assert items[0]["attempts"] == 1  # permanent: not retried
    assert AUTH_TOKEN not in items[0]["last_error"]


def test_status_callback_moves_the_message_forward(api: Api, fake: FakeTwilio) -> None:
    post_signed(api.base_url, SMS_HOOK, inbound_sms(PEER, QUESTION, "SMst"))
    wait_replies(fake)

    def sent_row() -> OutboxMessage | None:
        with api.runtime.db.transaction() as session:
            return session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENT)
            ).first()

    row = wait_until(sent_row, what="outbox row sent")
    sid = row.provider_message_id
    assert sid and sid.startswith("SM")

    def message_status() -> DeliveryStatus:
        with api.runtime.db.transaction() as session:
            return session.scalars(select(Message.status).where(Message.id == row.message_id)).one()

    delivered = post_signed(api.base_url, STATUS_HOOK, status_callback(sid, "delivered", to=PEER))
    assert delivered.status_code == 200, delivered.text
    assert message_status() == DeliveryStatus.DELIVERED
    # A late "sent" after "delivered" does not move it back.
    assert post_signed(api.base_url, STATUS_HOOK, status_callback(sid, "sent")).ok
    assert message_status() == DeliveryStatus.DELIVERED
    # An unsigned callback is refused.
    forged = post_signed(
        api.base_url, STATUS_HOOK, status_callback(sid, "failed"), signature="bogus"
    )
    assert forged.status_code == 403
    assert message_status() == DeliveryStatus.DELIVERED


def test_mms_media_is_stored_as_attachment(api: Api) -> None:
    url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MMx/Media/ME1"
    params = inbound_sms(
        PEER,
        "así lo quiero",
        "MMmedia1",
        NumMedia="1",
        MediaUrl0=url,
        MediaContentType0="image/jpeg",
        ProfileName="Ana",
    )
    assert post_signed(api.base_url, SMS_HOOK, params).status_code == 200

    def customer() -> Message | None:
        with api.runtime.db.transaction() as session:
            return session.scalars(
                select(Message).where(Message.sender_kind == SenderKind.CUSTOMER)
            ).first()

    message = wait_until(customer, what="customer message stored")
    assert message.body == "así lo quiero"
    assert message.attachments == [{"type": "image", "url": url, "mime_type": "image/jpeg"}]
    with api.runtime.db.transaction() as session:
        payload = session.scalars(select(InboxEvent.payload)).one()
    assert payload["attachments"][0]["url"] == url
    assert payload["sender_name"] == "Ana"


def test_same_phone_over_sms_and_whatsapp_is_one_contact(api: Api, fake: FakeTwilio) -> None:
    connect(api, fake, channel="twilio_whatsapp")
    post_signed(api.base_url, SMS_HOOK, inbound_sms(PEER, QUESTION, "SMboth1"))
    wa = inbound_sms("whatsapp:" + PEER, "y el color?", "SMboth2", to="whatsapp:" + OUR_NUMBER)
    assert post_signed(api.base_url, SMS_HOOK, wa).status_code == 200

    wa_reply = wait_replies(fake, to="whatsapp:" + PEER)[0]
    assert wa_reply.from_ == "whatsapp:" + OUR_NUMBER
    wait_replies(fake)  # and the SMS one
    with api.runtime.db.transaction() as session:
        contacts = session.scalars(select(Contact)).all()
        channels = set(session.scalars(select(InboxEvent.channel)).all())
    assert channels == {"twilio_sms", "twilio_whatsapp"}
    assert len(contacts) == 1
    assert contacts[0].phone == PEER
