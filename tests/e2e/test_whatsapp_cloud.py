"""The WhatsApp Cloud API channel end to end, on SQLite and PostgreSQL: our real server on a
real port, Meta-shaped signed webhooks, the real engine and database, and a fake Graph API
on 127.0.0.1 that receives the replies (never Meta's servers)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
import requests
from sqlalchemy import select

from hablo.bootstrap import bootstrap
from hablo.db.enums import BookingStatus, DeliveryStatus, OutboxStatus, Role, SenderKind
from hablo.db.models import Booking, ChannelAccount, InboxEvent, Message, OutboxMessage
from hablo.demo import seed_demo
from tests.api.support import Api
from tests.conftest import make_settings
from tests.e2e.server import serve, wait_until
from tests.integration.helpers import count
from tests.providers.fake_whatsapp_cloud import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    FakeWhatsAppCloud,
    inbound,
    post_webhook,
    status_update,
    text_message,
)

PEER = "5491155550001"
QUESTION = "hola, cuánto sale el corte?"


@pytest.fixture
def fake() -> Iterator[FakeWhatsAppCloud]:
    server = FakeWhatsAppCloud().start()
    yield server
    server.stop()


@contextmanager
def live_whatsapp(
    db_url: str, fake: FakeWhatsAppCloud | None = None, seed: bool = True, **overrides: Any
) -> Iterator[Api]:
    """The real server with the whatsapp_cloud channel mounted, demo tenant seeded; the
    Graph API base (a platform setting) points at the fake."""
    if fake is not None:
        overrides["whatsapp_cloud_api_base"] = fake.api_base
    settings = make_settings(db_url, channels=["console", "whatsapp_cloud"], **overrides)
    runtime = bootstrap(settings, upgrade_schema=False)
    if seed:
        with runtime.db.transaction() as session:
            seed_demo(session)
    try:
        with serve(runtime) as server:
            yield Api(server, runtime)
    finally:
        runtime.db.dispose()


def connect(api: Api, fake: FakeWhatsAppCloud, **config: Any) -> dict[str, Any]:
    """Connect the business's number the way an owner does: POST /api/channels."""
    created = api.as_role(Role.OWNER).post(
        "/api/channels",
        json={
            "channel": "whatsapp_cloud",
            "address": PHONE_NUMBER_ID,
            "display_name": "Salón (WhatsApp)",
            "config": {"verify_token": VERIFY_TOKEN, **config},
            "secrets": {"access_token": ACCESS_TOKEN, "app_secret": APP_SECRET},
        },
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


@pytest.fixture
def api(db_url: str, fake: FakeWhatsAppCloud) -> Iterator[Api]:
    with live_whatsapp(db_url, fake) as running:
        connect(running, fake)
        yield running


def bot_messages(api: Api) -> int:
    return count(api.runtime, Message, Message.sender_kind == SenderKind.BOT)


def wait_replies(fake: FakeWhatsAppCloud, n: int = 1, peer: str = PEER) -> list[Any]:
    return wait_until(lambda: len(fake.sent_to(peer)) >= n and fake.sent_to(peer), what="reply")


def settle() -> None:
    time.sleep(0.5)  # room for a wrong extra send to show up


# -- (a) the subscription handshake ----------------------------------------------------------


def test_verification_echoes_the_challenge_only_for_a_known_token(api: Api) -> None:
    url = api.base_url + "/webhooks/whatsapp"
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "8142"}
    ok = requests.get(url, params=query, timeout=10)
    assert ok.status_code == 200 and ok.text == "8142"
    assert ok.headers["Content-Type"].startswith("text/plain")

    wrong = requests.get(url, params={**query, "hub.verify_token": "nope"}, timeout=10)
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "verification_failed"
    not_subscribe = requests.get(url, params={**query, "hub.mode": "unsubscribe"}, timeout=10)
    assert not_subscribe.status_code == 403


def test_platform_verify_token_works_without_any_account(db_url: str) -> None:
    with live_whatsapp(db_url, whatsapp_verify_token="platform-token") as api:
        url = api.base_url + "/webhooks/whatsapp"
        query = {
            "hub.mode": "subscribe",
            "hub.verify_token": "platform-token",
            "hub.challenge": "x1",
        }
        assert requests.get(url, params=query, timeout=10).text == "x1"
        query["hub.verify_token"] = VERIFY_TOKEN  # no account carries it here
        assert requests.get(url, params=query, timeout=10).status_code == 403


# -- (b) a question and its answer ----------------------------------------------------------


def test_customer_question_gets_a_reply_through_the_graph_api(
    api: Api, fake: FakeWhatsAppCloud
) -> None:
    answer = post_webhook(api.base_url, text_message(PEER, QUESTION, "wamid.IN1", name="Ana"))
    assert answer.status_code == 200, answer.text

    sent = wait_replies(fake)[0]
    assert sent.phone_number_id == PHONE_NUMBER_ID
    assert sent.authorization == f"Bearer {ACCESS_TOKEN}"
    assert sent.body["messaging_product"] == "whatsapp"
    assert sent.body["recipient_type"] == "individual"
    assert sent.body["to"] == PEER and sent.body["type"] == "text"
    assert sent.body["text"]["preview_url"] is False
    assert "$" in sent.text or "corte" in sent.text.lower(), sent.text

    with api.runtime.db.transaction() as session:
        customer = session.scalars(
            select(Message).where(Message.sender_kind == SenderKind.CUSTOMER)
        ).one()
        assert customer.body == QUESTION
        outbox = wait_until(
            lambda: session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENT)
            ).first(),
            what="outbox row marked sent",
        )
        assert outbox.provider_message_id is not None
        assert outbox.provider_message_id.startswith("wamid.FAKE")


# -- (c) Meta retries a webhook -------------------------------------------------------------


def test_the_same_webhook_five_times_is_one_message_and_one_answer(
    api: Api, fake: FakeWhatsAppCloud
) -> None:
    payload = text_message(PEER, QUESTION, "wamid.DUP1")
    for _ in range(5):
        assert post_webhook(api.base_url, payload).status_code == 200
    wait_replies(fake)
    settle()
    assert count(api.runtime, InboxEvent) == 1
    assert count(api.runtime, Message, Message.sender_kind == SenderKind.CUSTOMER) == 1
    assert len(fake.sent_to(PEER)) == bot_messages(api) >= 1


# -- (d) signatures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature", [None, "sha256=" + "0" * 64, "sha1=abc", "sign-with-another-secret"]
)
def test_a_bad_or_missing_signature_is_refused_and_nothing_stored(
    api: Api, fake: FakeWhatsAppCloud, signature: str | None
) -> None:
    payload = text_message(PEER, QUESTION, "wamid.FORGED")
    if signature == "sign-with-another-secret":
        answer = post_webhook(api.base_url, payload, app_secret="someone-elses-secret")
    else:
        answer = post_webhook(api.base_url, payload, signature=signature)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_signature"
    settle()
    assert count(api.runtime, InboxEvent) == 0
    assert fake.attempts == 0


def strip_from_stored_account(api: Api, config: dict[str, Any], drop_secret: str = "") -> None:
    """Rewrite the account row the way an older hablo could have stored it."""
    with api.runtime.db.transaction() as session:
        row = session.scalars(
            select(ChannelAccount).where(ChannelAccount.channel == "whatsapp_cloud")
        ).one()
        row.config = {**row.config, **config}
        row.secrets = {k: v for k, v in row.secrets.items() if k != drop_secret}
    api.runtime.accounts.forget()


def test_an_account_stored_without_app_secret_accepts_no_webhook(
    api: Api, fake: FakeWhatsAppCloud
) -> None:
    strip_from_stored_account(api, {}, drop_secret="app_secret")
    for n in range(2):  # the probe stored two messages signed with the empty key
        payload = text_message(PEER, QUESTION, f"wamid.EMPTYKEY{n}")
        answer = post_webhook(api.base_url, payload, app_secret="")
        assert answer.status_code == 401, answer.text
    settle()
    assert count(api.runtime, InboxEvent) == 0
    assert fake.attempts == 0


def test_a_stored_api_base_is_ignored_the_platform_base_is_used(
    api: Api, fake: FakeWhatsAppCloud
) -> None:
    trap = FakeWhatsAppCloud().start()  # stands for an internal service on 127.0.0.1
    try:
        strip_from_stored_account(api, {"api_base": trap.api_base})
        post_webhook(api.base_url, text_message(PEER, QUESTION, "wamid.SSRF"))
        wait_replies(fake)
        settle()
        assert trap.attempts == 0, "the tenant's token went to the tenant's address"
    finally:
        trap.stop()


def test_unknown_number_is_acknowledged_and_ignored(api: Api, fake: FakeWhatsAppCloud) -> None:
    payload = text_message(PEER, QUESTION, "wamid.OTHER")
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    answer = post_webhook(api.base_url, payload)
    assert answer.status_code == 200 and answer.json() == {"status": "ignored"}
    assert count(api.runtime, InboxEvent) == 0


def test_deeply_nested_json_is_a_400(api: Api) -> None:
    deep = b"[" * 3000 + b"]" * 3000
    answer = requests.post(api.base_url + "/webhooks/whatsapp", data=deep, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_json"


def test_a_body_that_is_not_json_is_a_400(api: Api) -> None:
    answer = requests.post(api.base_url + "/webhooks/whatsapp", data=b"{nope", timeout=10)
    assert answer.status_code == 400


# -- (e) transient provider failures --------------------------------------------------------


def test_two_500s_then_ok_delivers_exactly_one_reply(api: Api, fake: FakeWhatsAppCloud) -> None:
    fake.fail_next(2, status=500)
    post_webhook(api.base_url, text_message(PEER, QUESTION, "wamid.T500"))
    wait_replies(fake)
    settle()
    assert len(fake.sent_to(PEER)) == bot_messages(api)
    with api.runtime.db.transaction() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert [r.status for r in rows] == [OutboxStatus.SENT] * len(rows)
    assert rows[0].attempts >= 2  # the two failures were recorded before the success
    assert fake.attempts == len(rows) + 2


def test_429_honours_retry_after(api: Api, fake: FakeWhatsAppCloud) -> None:
    fake.fail_next(1, status=429, retry_after=1.0)
    began = time.monotonic()
    post_webhook(api.base_url, text_message(PEER, QUESTION, "wamid.T429"))
    wait_replies(fake)
    # Our backoff alone would retry within 0.2 s (test settings): Retry-After won.
    assert time.monotonic() - began >= 1.0
    settle()
    assert len(fake.sent_to(PEER)) == bot_messages(api)


# -- (f) delivery status callbacks ----------------------------------------------------------


def test_delivered_and_read_callbacks_move_the_reply_forward_only(
    api: Api, fake: FakeWhatsAppCloud
) -> None:
    post_webhook(api.base_url, text_message(PEER, QUESTION, "wamid.ST1"))
    wait_replies(fake)

    def sent_row() -> OutboxMessage | None:
        with api.runtime.db.transaction() as session:
            return session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENT)
            ).first()

    row = wait_until(sent_row, what="outbox row sent")
    assert row.provider_message_id is not None

    def status_of() -> DeliveryStatus:
        with api.runtime.db.transaction() as session:
            message = session.get(Message, row.message_id)
            assert message is not None
            return message.status

    for status, expected in (
        ("delivered", DeliveryStatus.DELIVERED),
        ("read", DeliveryStatus.READ),
        ("delivered", DeliveryStatus.READ),  # a late callback never moves it back
    ):
        answer = post_webhook(api.base_url, status_update(PEER, row.provider_message_id, status))
        assert answer.status_code == 200
        assert status_of() == expected

    # Status callbacks are signed too.
    forged = post_webhook(
        api.base_url, status_update(PEER, row.provider_message_id, "failed"), signature=None
    )
    assert forged.status_code == 401 and status_of() == DeliveryStatus.READ


def test_failed_callback_records_the_error(api: Api, fake: FakeWhatsAppCloud) -> None:
    post_webhook(api.base_url, text_message(PEER, QUESTION, "wamid.ST2"))
    wait_replies(fake)
    provider_id = fake.sent_to(PEER)[0]
    with api.runtime.db.transaction() as session:
        row = wait_until(
            lambda: session.scalars(
                select(OutboxMessage).where(OutboxMessage.provider_message_id.is_not(None))
            ).first(),
            what="provider id stored",
        )
        assert provider_id.to == PEER
        message_id, provider_message_id = row.message_id, row.provider_message_id
    assert provider_message_id is not None
    post_webhook(
        api.base_url,
        status_update(PEER, provider_message_id, "failed", error=(131026, "Message undeliverable")),
    )
    with api.runtime.db.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None and message.status == DeliveryStatus.FAILED
        assert message.error is not None and "131026" in message.error


# -- (g) outside the 24-hour window ---------------------------------------------------------


def test_outside_the_window_the_approved_template_is_sent(
    db_url: str, fake: FakeWhatsAppCloud
) -> None:
    with live_whatsapp(db_url, fake) as api:
        connect(api, fake, template_name="seguimiento", template_language="es_AR")
        fake.outside_window(PEER)
        post_webhook(api.base_url, text_message(PEER, QUESTION, "wamid.W1"))
        sent = wait_replies(fake)[0]
        assert sent.body["type"] == "template"
        assert sent.body["template"] == {"name": "seguimiento", "language": {"code": "es_AR"}}
        assert sent.authorization == f"Bearer {ACCESS_TOKEN}"
        wait_until(
            lambda: count(api.runtime, OutboxMessage, OutboxMessage.status == OutboxStatus.SENT),
            what="outbox sent",
        )


def test_outside_the_window_without_template_is_a_visible_dead_letter(
    api: Api, fake: FakeWhatsAppCloud
) -> None:
    fake.outside_window(PEER)
    post_webhook(api.base_url, text_message(PEER, QUESTION, "wamid.W2"))
    owner = api.as_role(Role.OWNER)

    def dead() -> list[dict[str, Any]]:
        listed = owner.get("/api/outbox", params={"status": "dead"})
        assert listed.status_code == 200, listed.text
        items: list[dict[str, Any]] = listed.json()["items"]
        return items

    items = wait_until(dead, what="dead letter")
    assert "24-hour window" in items[0]["last_error"]
    assert "no approved template configured" in items[0]["last_error"]
    assert items[0]["attempts"] == 1  # permanent: not retried
    assert fake.sent_to(PEER) == []


# -- (h) media and location ------------------------------------------------------------------


def test_inbound_image_and_location_keep_their_attachment_data(
    api: Api, fake: FakeWhatsAppCloud
) -> None:
    image = {
        "id": "MEDIA-123",
        "mime_type": "image/jpeg",
        "sha256": "c0ffee",
        "caption": "así lo quiero",
    }
    place = {
        "latitude": -34.6037,
        "longitude": -58.3816,
        "name": "Obelisco",
        "address": "Av. 9 de Julio",
    }
    assert post_webhook(api.base_url, inbound(PEER, "image", image, "wamid.IMG")).ok
    assert post_webhook(api.base_url, inbound(PEER, "location", place, "wamid.LOC")).ok

    def customer_messages() -> list[Message]:
        with api.runtime.db.transaction() as session:
            found = session.scalars(
                select(Message)
                .where(Message.sender_kind == SenderKind.CUSTOMER)
                .order_by(Message.created_at)
            ).all()
        return list(found) if len(found) == 2 else []

    by_body = {m.body: m for m in wait_until(customer_messages, what="both messages stored")}
    photo = by_body["así lo quiero"]
    assert photo.attachments == [
        {
            "type": "image",
            "media_id": "MEDIA-123",
            "mime_type": "image/jpeg",
            "sha256": "c0ffee",
            "caption": "así lo quiero",
        }
    ]
    pin = by_body["📍 Obelisco, Av. 9 de Julio"]
    assert pin.attachments == [{"type": "location", **place}]

    with api.runtime.db.transaction() as session:
        payload = session.scalars(
            select(InboxEvent.payload).where(InboxEvent.provider_message_id == "wamid.IMG")
        ).one()
    assert payload["wa_type"] == "image" and payload["sender_name"] == "Ana"
    assert payload["attachments"][0]["media_id"] == "MEDIA-123"


def test_button_reply_uses_the_title_and_keeps_the_id(api: Api) -> None:
    reply = {"type": "button_reply", "button_reply": {"id": "precios", "title": "Ver precios"}}
    assert post_webhook(api.base_url, inbound(PEER, "interactive", reply, "wamid.BTN")).ok
    with api.runtime.db.transaction() as session:
        payload = session.scalars(select(InboxEvent.payload)).one()
    assert payload["text"] == "Ver precios" and payload["reply_id"] == "precios"


def test_unsupported_types_are_acknowledged_and_skipped(api: Api) -> None:
    reaction = {"message_id": "wamid.X", "emoji": "👍"}
    answer = post_webhook(api.base_url, inbound(PEER, "reaction", reaction, "wamid.REACT"))
    assert answer.status_code == 200
    assert count(api.runtime, InboxEvent) == 0


# -- (i) a restart while a reply waits for its retry ----------------------------------------


def test_reply_waiting_for_retry_is_sent_once_after_a_restart(
    db_url: str, fake: FakeWhatsAppCloud
) -> None:
    fake.fail_next(10_000, status=500)  # the provider is down for the first process
    with live_whatsapp(db_url, fake, outbox_max_attempts=100) as first:
        connect(first, fake)
        post_webhook(first.base_url, text_message(PEER, QUESTION, "wamid.CRASH"))
        wait_until(
            lambda: count(
                first.runtime,
                OutboxMessage,
                OutboxMessage.attempts >= 1,
                OutboxMessage.status == OutboxStatus.PENDING,
            ),
            what="a reply waiting for retry",
        )
    # First process gone with the reply unsent; the provider is healthy again.
    assert fake.sent_to(PEER) == []
    fake.heal()

    with live_whatsapp(db_url, fake, seed=False) as second:
        wait_replies(fake)
        settle()
        replies = bot_messages(second)
        assert len(fake.sent_to(PEER)) == replies >= 1
        assert (
            count(second.runtime, OutboxMessage, OutboxMessage.status == OutboxStatus.SENT)
            == replies
        )
        assert count(second.runtime, InboxEvent) == 1


def test_an_oversized_body_is_refused(api: Api) -> None:
    huge = b'{"object": "' + b"x" * (600 * 1024) + b'"}'
    answer = requests.post(api.base_url + "/webhooks/whatsapp", data=huge, timeout=30)
    assert answer.status_code == 413
    assert count(api.runtime, InboxEvent) == 0


# -- (h) quick answers: reply buttons out, the tapped button back in ------------------------


def open_day() -> str:
    """A weekday two or more days ahead that is no Argentine holiday, as "d/m"."""
    day = datetime.now(ZoneInfo("America/Argentina/Buenos_Aires")).date() + timedelta(days=2)
    while day.weekday() > 4 or day in holidays.country_holidays("AR"):
        day += timedelta(days=1)
    return f"{day.day}/{day.month}"


def test_a_yes_no_question_is_sent_as_buttons_and_a_tap_answers_it(
    api: Api, fake: FakeWhatsAppCloud
) -> None:
    asked = text_message(PEER, f"quiero turno para corte el {open_day()} a las 10", "wamid.BK1")
    assert post_webhook(api.base_url, asked).ok
    question = wait_replies(fake)[-1].body
    assert question["type"] == "interactive", question
    interactive = question["interactive"]
    assert interactive["type"] == "button"
    assert "Corte de pelo" in interactive["body"]["text"]
    buttons = interactive["action"]["buttons"]
    assert [b["reply"]["title"] for b in buttons] == ["Sí", "No"]

    tap = {"type": "button_reply", "button_reply": buttons[0]["reply"]}
    assert post_webhook(api.base_url, inbound(PEER, "interactive", tap, "wamid.BK2")).ok
    wait_replies(fake, n=2)
    with api.runtime.db.transaction() as session:
        assert session.scalars(select(Booking.status)).all() == [BookingStatus.CONFIRMED]
