"""Every channel builds an InboundMessage, and it is cleaned there: NUL and other C0
controls (but tab and newline), surrogates, over-long ids. E-mail (and WhatsApp Web,
which builds one the same way) are covered here; web chat, WhatsApp Cloud, Twilio and the
console over their real edges in tests/e2e/test_hostile_unicode.py."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from hablo.adapters.accounts import OpenAccount
from hablo.adapters.email.inbound import inbound_message
from hablo.adapters.email.parse import parse_mail
from hablo.bootstrap import Runtime
from hablo.db.base import utcnow
from hablo.db.enums import InboxStatus
from hablo.db.models import InboxEvent
from hablo.engine.messages import InboundMessage
from hablo.engine.sanitize import MAX_PROVIDER_ID, MAX_TEXT
from tests.fakes import CollectingSender
from tests.integration.helpers import start_collecting


def test_inbound_message_is_cleaned_whoever_builds_it() -> None:
    long_id = "x" * 500
    message = InboundMessage(
        tenant_id=uuid.uuid4(),
        channel="whatsapp_web",
        peer="+5491155550000\x00",
        text="hola\x00 \ud800mundo\r\n\u200fbien\tya\x1b" + "a" * 20_000,
        provider_message_id=long_id,
        received_at=utcnow(),
        sender_name="Ana\x00\udfff" + "n" * 500,
        extra=(("attachments", ({"caption": "foto\x00", "url": "https://x.example/a"},)),),
    )
    assert message.peer == "+5491155550000"
    assert message.text.startswith("hola mundo\n\u200fbien\tya")
    assert "\x00" not in message.text and len(message.text) == MAX_TEXT
    assert message.sender_name.startswith("Ana") and len(message.sender_name) == 200
    assert dict(message.extra)["attachments"][0]["caption"] == "foto"
    # Long ids are cut with a digest of the whole: two different ones stay different.
    other = InboundMessage(message.tenant_id, "whatsapp_web", "p", "t", long_id + "y", utcnow())
    assert len(message.provider_message_id) == MAX_PROVIDER_ID
    assert message.provider_message_id != other.provider_message_id


def test_hostile_mail_is_stored_clean_and_answered(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    raw = (
        b"From: Ana \x00Gomez <ana@example.com>\r\n"
        b"To: turnos@salon.example\r\n"
        b"Subject: consulta \x00\x1b[31m\r\n"
        b"Message-ID: <abc\x00@example.com>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"hola \x00 \xed\xa0\x80 cu\xc3\xa1nto sale el corte?\r\n"
    )
    account = OpenAccount(uuid.uuid4(), demo_tenant_id, "email", "turnos@salon.example", {}, {})
    mail = parse_mail(raw)
    message = inbound_message(account, mail, utcnow())
    assert message is not None
    sender = CollectingSender("email")
    turns = start_collecting(runtime, sender)
    result = runtime.engine.submit(message)
    turns.wait_for([result.inbox_id], timeout=30)
    assert "$8.000" in sender.sent[-1].text
    with runtime.db.transaction() as session:
        row = session.scalars(select(InboxEvent).where(InboxEvent.id == result.inbox_id)).one()
    assert row.status == InboxStatus.PROCESSED
    assert "\x00" not in row.payload["text"] and "\x00" not in row.provider_message_id
    assert "\x1b" not in row.payload["email"]["subject"]
