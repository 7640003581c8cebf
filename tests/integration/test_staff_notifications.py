"""Staff notifications end to end on SQLite and PostgreSQL: each event is recorded once
(also when the provider delivers a message twice), e-mailed once to each recipient in
their language through a real SMTP server on 127.0.0.1 (also with two job runners, after a
crash mid-send, and after the server was down), within the tenant's hourly quota; and the
handoff timeout gives the conversation back to the bot and tells the customer."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

import pytest
from sqlalchemy import func, select, update

from hablo.adapters.accounts import OpenAccount
from hablo.bootstrap import Runtime, bootstrap
from hablo.db.base import utcnow
from hablo.db.enums import BookingStatus, ConversationStatus, Role
from hablo.db.models import (
    Booking,
    Contact,
    Conversation,
    NotificationMail,
    Service,
    StaffNotification,
    Tenant,
    User,
)
from hablo.db.staff_events import record_channel_disconnected, record_handoff_requested
from hablo.demo import seed_demo
from hablo.notify.mailer import SmtpMailer
from hablo.notify.notification_mails import NotificationMails
from hablo.skills.handoff_timeout import release_expired_handoffs
from tests.conftest import make_settings
from tests.e2e.server import wait_until
from tests.fakes import CollectingSender
from tests.integration.helpers import inbound, start_collecting
from tests.providers.fake_smtp import Inbox, fake_smtp

PEER = "+5491155550777"
ASK_HUMAN = "quiero hablar con una persona"
OWNER, ADMIN, AGENT, OPS = (
    "owner@salon.test",
    "admin@salon.test",
    "agent@salon.test",
    "ops@example.com",
)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with fake_smtp() as server:
        yield server


def _runtime(db_url: str, port: int, **overrides: Any) -> tuple[Runtime, uuid.UUID]:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "notification_mail_interval_s": 3600.0,  # tests run the jobs themselves ...
        "handoff_timeout_interval_s": 3600.0,
        **overrides,  # ... unless they want the engine's own
    }
    runtime = bootstrap(make_settings(db_url, **values), upgrade_schema=False)
    with runtime.db.transaction() as session:
        tenant_id = seed_demo(session)
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.settings = {
            **(tenant.settings or {}),
            "notifications": {
                "emails": ["Ops@Example.com", OWNER.upper()],  # the owner is told once
                "events": {"handoff": True, "new_booking": True, "session_lost": True},
            },
        }
        for email, role, locale in (
            (OWNER, Role.OWNER, "en-US"),  # English, in a Spanish-speaking business
            (ADMIN, Role.ADMIN, None),  # the tenant's language
            (AGENT, Role.AGENT, "en"),  # not a recipient
        ):
            session.add(
                User(
                    tenant_id=tenant_id,
                    email=email,
                    first_name=role.value,
                    password_hash="!",
                    role=role,
                    locale=locale,
                )
            )
    return runtime, tenant_id


def _mails(runtime: Runtime) -> NotificationMails:
    return NotificationMails(
        runtime.db,
        SmtpMailer(
            runtime.settings.mail_from, "127.0.0.1", runtime.settings.smtp_port, security="none"
        ),
        runtime.settings,
    )


def _notifications(runtime: Runtime, kind: str) -> list[StaffNotification]:
    with runtime.db.transaction() as session:
        rows = session.scalars(select(StaffNotification).where(StaffNotification.kind == kind))
        found = list(rows)
        session.expunge_all()
        return found


def _subject(mail: Message) -> str:
    return str(make_header(decode_header(str(mail["Subject"])))).replace("\r\n", "")


def test_a_handoff_is_recorded_once_and_mailed_once_in_each_language(
    db_url: str, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    runtime, tenant_id = _runtime(db_url, port, notification_mail_interval_s=0.2)
    sender = CollectingSender("console")
    try:
        start_collecting(runtime, sender)
        message = inbound(tenant_id, ASK_HUMAN, peer=PEER, provider_id="wamid-ask-1")
        assert not runtime.engine.submit(message).duplicate
        sender.wait_for(1, timeout=30)
        assert runtime.engine.submit(message).duplicate  # the provider retries the webhook

        # The engine's own job mails the owner (English), the admin and ops (Spanish).
        english = inbox.wait_for(OWNER, timeout=30)
        spanish = inbox.wait_for(ADMIN, timeout=30)
        inbox.wait_for(OPS, timeout=30)
        assert _subject(english) == "Peluquería Sol: +5491155550777 asks to talk to a person"
        assert ASK_HUMAN in inbox.body(english) and "60 minutes" in inbox.body(english)
        [event] = _notifications(runtime, "handoff_requested")
        link = f"{runtime.settings.public_url}/app/conversations/{event.conversation_id}"
        assert link in inbox.body(english)
        assert _subject(spanish) == "Peluquería Sol: +5491155550777 pide hablar con una persona"
        assert ASK_HUMAN in inbox.body(spanish)

        # More runs, two at once: nobody gets a second mail.
        runners = [threading.Thread(target=_mails(runtime).run_once) for _ in range(2)]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        _mails(runtime).run_once()
        for address in (OWNER, ADMIN, OPS):
            assert len(inbox.to(address)) == 1, address
        assert inbox.to(AGENT) == []
        [event] = _notifications(runtime, "handoff_requested")  # still one
        assert (event.tenant_id, event.channel, event.summary) == (tenant_id, "console", ASK_HUMAN)
        assert event.conversation_id is not None
    finally:
        runtime.close()


def test_the_same_event_twice_is_one_notification(db_url: str, smtp: tuple[Inbox, int]) -> None:
    runtime, tenant_id = _runtime(db_url, smtp[1])
    try:
        for _ in range(2):
            with runtime.db.begin() as conn:
                record_channel_disconnected(
                    conn, tenant_id, "whatsapp_web", "2026-12-07T04:00:00+00:00", "logged out"
                )
        assert len(_notifications(runtime, "channel_disconnected")) == 1
        with runtime.db.begin() as conn:  # another session dropping is another event
            record_channel_disconnected(
                conn, tenant_id, "whatsapp_web", "2026-12-07T05:00:00+00:00", "logged out"
            )
        assert len(_notifications(runtime, "channel_disconnected")) == 2
    finally:
        runtime.close()


def test_rejected_credentials_are_one_event_per_set_of_credentials(
    db_url: str, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    runtime, tenant_id = _runtime(db_url, port)
    try:
        account = OpenAccount(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            channel="whatsapp_cloud",
            address="1234567890",
            config={},
            secrets={"access_token": "EAAG-old"},
        )
        reason = "whatsapp access token rejected (whatsapp HTTP 401, error 190: expired)"
        for _ in range(3):  # every reply of the day fails the same way
            runtime.accounts.report_rejected(account, reason)
        [event] = _notifications(runtime, "channel_disconnected")
        assert (event.channel, event.summary) == ("whatsapp_cloud", reason)
        assert "EAAG" not in event.event_key
        # New credentials that fail too are news again.
        runtime.accounts.report_rejected(replace(account, secrets={"access_token": "x"}), reason)
        assert len(_notifications(runtime, "channel_disconnected")) == 2
        assert _mails(runtime).run_once() == 6  # owner, admin, ops: twice
        assert "the whatsapp_cloud channel disconnected" in _subject(inbox.to(OWNER)[0])
        assert "expired" in inbox.body(inbox.to(ADMIN)[0])
    finally:
        runtime.close()


def test_a_booking_from_any_path_is_recorded_and_mailed_with_its_time(
    db_url: str, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    runtime, tenant_id = _runtime(db_url, port)
    try:
        start = datetime(2030, 3, 4, 13, 30, tzinfo=UTC)
        with runtime.db.transaction() as session:  # a plain insert: the database records it
            contact = Contact(tenant_id=tenant_id, name="Ana Pérez", phone="+5491155559999")
            session.add(contact)
            service = session.scalars(
                select(Service).where(
                    Service.tenant_id == tenant_id, Service.name == "Corte de pelo"
                )
            ).one()
            session.flush()
            booking = Booking(
                tenant_id=tenant_id,
                contact_id=contact.id,
                service_id=service.id,
                starts_at=start,
                ends_at=start + timedelta(minutes=30),
                blocked_until=start + timedelta(minutes=30),
                duration_minutes=30,
                resource=1,
                status=BookingStatus.CONFIRMED,
                notes="",
            )
            session.add(booking)
            session.flush()
            booking_id = booking.id
        [event] = _notifications(runtime, "booking_created")
        assert (event.booking_id, event.summary) == (booking_id, "Corte de pelo")
        assert _mails(runtime).run_once() == 3
        english = inbox.wait_for(OWNER)
        # 13:30 UTC is 10:30 in Buenos Aires, the business's zone.
        assert "Ana Pérez booked Corte de pelo for Monday, March 4, 10:30" in inbox.body(english)
        spanish = inbox.wait_for(ADMIN)
        assert "reservó Corte de pelo para el lunes 4 de marzo, 10:30" in inbox.body(spanish)
    finally:
        runtime.close()


def test_a_crash_or_a_down_server_neither_loses_nor_repeats_a_mail(
    db_url: str, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    runtime, tenant_id = _runtime(db_url, port)
    try:
        conversation_id = _conversation_id(runtime, tenant_id)
        with runtime.db.begin() as conn:
            record_handoff_requested(conn, tenant_id, conversation_id, "console", "1", ASK_HUMAN)
        mails = _mails(runtime)
        assert mails.plan() == 3
        assert mails.plan() == 0  # planned once
        # A process claimed the owner's mail and died before sending it ...
        with runtime.db.begin() as conn:
            conn.execute(
                update(NotificationMail)
                .where(NotificationMail.address == OWNER)
                .values(status="sending", claimed_until=utcnow() - timedelta(seconds=1), attempts=1)
            )
        # ... and the SMTP server refuses connections for the admin's and ops' mails.
        down = NotificationMails(
            runtime.db,
            SmtpMailer(runtime.settings.mail_from, "127.0.0.1", _closed_port(), security="none"),
            runtime.settings,
        )
        assert down.send_due() == 0
        with runtime.db.begin() as conn:
            states = dict(
                conn.execute(select(NotificationMail.address, NotificationMail.status)).all()
            )
        assert states == {OWNER: "pending", ADMIN: "pending", OPS: "pending"}
        later = NotificationMails(
            runtime.db, mails.mailer, runtime.settings, clock=lambda: utcnow() + timedelta(hours=1)
        )
        assert later.send_due() == 3
        assert later.send_due() == 0
        for address in (OWNER, ADMIN, OPS):
            [mail] = inbox.to(address)
            assert str(mail["Message-ID"]).startswith("<notification-")
    finally:
        runtime.close()


def test_mails_over_the_tenants_hourly_quota_are_skipped(
    db_url: str, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    runtime, tenant_id = _runtime(db_url, port, notification_mails_per_tenant_per_hour=2)
    try:
        conversation_id = _conversation_id(runtime, tenant_id)
        with runtime.db.begin() as conn:
            record_handoff_requested(conn, tenant_id, conversation_id, "console", "1", ASK_HUMAN)
        assert _mails(runtime).run_once() == 2
        assert len(inbox.mails) == 2
        with runtime.db.begin() as conn:
            skipped = conn.scalar(select(func.count()).where(NotificationMail.status == "skipped"))
        assert skipped == 1
    finally:
        runtime.close()


def test_switched_off_events_are_not_mailed(db_url: str, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    runtime, tenant_id = _runtime(db_url, port)
    try:
        with runtime.db.transaction() as session:
            tenant = session.get(Tenant, tenant_id)
            assert tenant is not None
            tenant.settings = {**tenant.settings, "notifications": {"events": {"handoff": False}}}
        conversation_id = _conversation_id(runtime, tenant_id)
        with runtime.db.begin() as conn:
            record_handoff_requested(conn, tenant_id, conversation_id, "console", "1", ASK_HUMAN)
        assert _mails(runtime).run_once() == 0
        assert inbox.mails == []
        assert len(_notifications(runtime, "handoff_requested")) == 1  # the console shows it
    finally:
        runtime.close()


def test_a_handoff_nobody_takes_goes_back_to_the_bot(db_url: str, smtp: tuple[Inbox, int]) -> None:
    runtime, tenant_id = _runtime(db_url, smtp[1], handoff_timeout_interval_s=0.2)
    sender = CollectingSender("console")
    try:
        with runtime.db.transaction() as session:
            tenant = session.get(Tenant, tenant_id)
            assert tenant is not None
            tenant.settings = {**tenant.settings, "handoff_timeout_minutes": 0}
        start_collecting(runtime, sender)
        runtime.engine.submit(inbound(tenant_id, ASK_HUMAN, peer=PEER))
        # The customer writes nothing more: the job tells them the bot is back.
        wait_until(
            lambda: any(t.startswith("¡Volví!") for t in sender.texts_for(PEER)),
            timeout=30,
            what="the bot's return",
        )
        conversation = _conversation(runtime, tenant_id)
        assert conversation.status == ConversationStatus.OPEN
        assert conversation.state.get("handoff_at") is None
        # Later runs (two at once) release nothing again.
        released: list[int] = []
        runners = [
            threading.Thread(
                target=lambda: released.append(
                    release_expired_handoffs(
                        runtime.engine.store,
                        runtime.engine.dispatcher.enqueue,
                        runtime.engine.tenant_services,
                        runtime.engine.owns,
                    )
                )
            )
            for _ in range(2)
        ]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        assert released == [0, 0]
        assert len([t for t in sender.texts_for(PEER) if t.startswith("¡Volví!")]) == 1
    finally:
        runtime.close()


def test_two_runners_release_an_expired_handoff_once(db_url: str, smtp: tuple[Inbox, int]) -> None:
    runtime, tenant_id = _runtime(db_url, smtp[1])
    sender = CollectingSender("console")
    try:
        start_collecting(runtime, sender)
        runtime.engine.submit(inbound(tenant_id, ASK_HUMAN, peer=PEER))
        sender.wait_for(1, timeout=30)
        store, enqueue, services, owns = (
            runtime.engine.store,
            runtime.engine.dispatcher.enqueue,
            runtime.engine.tenant_services,
            runtime.engine.owns,
        )
        assert release_expired_handoffs(store, enqueue, services, owns) == 0  # 60 minutes not over
        # An hour passes (the handoff marker is moved back).
        conversation = _conversation(runtime, tenant_id)
        with runtime.db.begin() as conn:
            state = {
                **conversation.state,
                "handoff_at": (utcnow() - timedelta(minutes=61)).isoformat(),
            }
            conn.execute(
                update(Conversation).where(Conversation.id == conversation.id).values(state=state)
            )
        released: list[int] = []
        runners = [
            threading.Thread(
                target=lambda: released.append(
                    release_expired_handoffs(store, enqueue, services, owns)
                )
            )
            for _ in range(2)
        ]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        assert sorted(released) == [0, 1]
        wait_until(
            lambda: any(t.startswith("¡Volví!") for t in sender.texts_for(PEER)),
            timeout=30,
            what="the bot's return",
        )
        assert len([t for t in sender.texts_for(PEER) if t.startswith("¡Volví!")]) == 1
        assert _conversation(runtime, tenant_id).status == ConversationStatus.OPEN
    finally:
        runtime.close()


def _conversation(runtime: Runtime, tenant_id: uuid.UUID) -> Conversation:
    with runtime.db.transaction() as session:
        found = session.scalars(
            select(Conversation).where(
                Conversation.tenant_id == tenant_id, Conversation.peer == PEER
            )
        ).one()
        session.expunge(found)
        return found


def _conversation_id(runtime: Runtime, tenant_id: uuid.UUID) -> uuid.UUID:
    """A conversation of the demo tenant to hang events on."""
    with runtime.db.transaction() as session:
        contact = Contact(tenant_id=tenant_id, name="Ana Pérez", phone=PEER)
        session.add(contact)
        session.flush()
        conversation = Conversation(
            tenant_id=tenant_id, contact_id=contact.id, channel="console", peer=PEER, state={}
        )
        session.add(conversation)
        session.flush()
        return conversation.id


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
