"""The notification e-mail job: turns each staff notification into one delivery row per
recipient, then sends the due ones through the mailer, outside any turn's transaction.

Recipients: the tenant's active owners and admins and the extra addresses of its
notification settings, when the settings switch that kind of event on. Each in their
language: the user's locale when the address is a user's of this tenant, else the
tenant's.

Safe with several processes and across crashes: planning and claiming are compare-and-set
updates (a row is planned or claimed by one transaction only); a claim is a lease, so a
process that dies mid-send leaves the mail to be retried, never lost. Only a crash between
the SMTP server's acceptance and our "sent" mark can repeat a mail; it then carries the
same Message-ID, so mail programs show it once. Each tenant sends at most
`notification_mails_per_tenant_per_hour`; mails over that are skipped (the console still
shows the event).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from hablo.config import Settings
from hablo.db.base import utcnow
from hablo.db.database import Database
from hablo.db.enums import Role, UserStatus
from hablo.db.models import (
    Booking,
    Contact,
    Conversation,
    NotificationMail,
    Service,
    Tenant,
    User,
)
from hablo.db.staff_events import (
    BOOKING_CREATED,
    CHANNEL_DISCONNECTED,
    HANDOFF_REQUESTED,
)
from hablo.db.staff_events import STAFF_NOTIFICATIONS as NOTES
from hablo.notify.mailer import Mailer, MailError, compose
from hablo.notify.staff_mails import EventFacts, notification_mail
from hablo.tenancy.settings import (
    DEFAULT_HANDOFF_TIMEOUT_MIN,
    HANDOFF_TIMEOUT_KEY,
    NotificationSettings,
)

log = logging.getLogger(__name__)
MAILS = cast(Table, NotificationMail.__table__)
PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 6
BATCH = 50
QUOTA_WINDOW = timedelta(hours=1)
# An event older than this when first planned (the job was off) is not mailed any more.
STALE_AFTER = timedelta(hours=6)
# Which switch of the tenant's notification settings governs each kind of event.
EVENT_SWITCH = {
    HANDOFF_REQUESTED: "handoff",
    BOOKING_CREATED: "new_booking",
    CHANNEL_DISCONNECTED: "session_lost",
}
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class _Claimed:
    mail_id: int
    address: str
    language: str
    attempts: int
    facts: EventFacts | None  # None: over the tenant's quota


class NotificationMails:
    def __init__(
        self, db: Database, mailer: Mailer, settings: Settings, clock: Clock = utcnow
    ) -> None:
        self.db = db
        self.mailer = mailer
        self.per_hour = settings.notification_mails_per_tenant_per_hour
        self.console_url = settings.public_url.rstrip("/") + "/app"
        self.clock = clock

    def run_once(self) -> int:
        """Plan the new notifications, send what is due; returns how many mails went out."""
        self.plan()
        return self.send_due()

    # -- planning ------------------------------------------------------------------------

    def plan(self) -> int:
        """One delivery row per recipient of each notification not planned yet."""
        with self.db.begin() as conn:
            ids = conn.scalars(
                select(NOTES.c.id)
                .where(NOTES.c.mails_planned_at.is_(None))
                .order_by(NOTES.c.id)
                .limit(BATCH)
            ).all()
        planned = 0
        for notification_id in ids:
            with self.db.begin() as conn:
                planned += self._plan_one(conn, notification_id, self.clock())
        return planned

    def _plan_one(self, conn: Connection, notification_id: int, now: datetime) -> int:
        mine = conn.execute(
            update(NOTES)
            .where(NOTES.c.id == notification_id, NOTES.c.mails_planned_at.is_(None))
            .values(mails_planned_at=now)
        ).rowcount
        if not mine:
            return 0  # another process planned it
        note = conn.execute(select(NOTES).where(NOTES.c.id == notification_id)).one()
        if note.created_at < now - STALE_AFTER:
            return 0
        rows = [
            {
                "tenant_id": note.tenant_id,
                "notification_id": note.id,
                "address": address,
                "language": language,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for address, language in recipients(conn, note.tenant_id, note.kind)
        ]
        if rows:
            dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(
                dialect_insert(MAILS).on_conflict_do_nothing(
                    index_elements=["notification_id", "address"]
                ),
                rows,
            )
        return len(rows)

    # -- sending -------------------------------------------------------------------------

    def send_due(self) -> int:
        now = self.clock()
        with self.db.begin() as conn:
            ids = conn.scalars(
                select(MAILS.c.id).where(_due(now)).order_by(MAILS.c.id).limit(BATCH)
            ).all()
        sent = 0
        for mail_id in ids:
            claimed = self._claim(mail_id, self.clock())
            if claimed is not None and claimed.facts is not None:
                sent += self._send(claimed)
        return sent

    def _claim(self, mail_id: int, now: datetime) -> _Claimed | None:
        with self.db.begin() as conn:
            row = conn.execute(select(MAILS).where(MAILS.c.id == mail_id, _due(now))).first()
            if row is None:
                return None
            if conn.dialect.name == "postgresql":
                # One claimer per tenant at a time: the quota count below sees every
                # mail another process has in flight.
                key = func.hashtextextended("notification_mails:" + str(row.tenant_id), 0)
                conn.execute(select(func.pg_advisory_xact_lock(key)))
            mine = conn.execute(
                update(MAILS)
                .where(MAILS.c.id == mail_id, _due(now))
                .values(status=SENDING, claimed_until=now + LEASE, attempts=MAILS.c.attempts + 1)
            ).rowcount
            if not mine:
                return None
            if self._over_quota(conn, row.tenant_id, mail_id, now):
                conn.execute(
                    update(MAILS)
                    .where(MAILS.c.id == mail_id)
                    .values(status=SKIPPED, claimed_until=None, last_error="over the hourly quota")
                )
                log.warning("tenant %s: notification mail quota reached", row.tenant_id)
                return _Claimed(mail_id, row.address, row.language, row.attempts + 1, None)
            facts = self._facts(conn, row.notification_id)
        return _Claimed(mail_id, row.address, row.language, row.attempts + 1, facts)

    def _over_quota(
        self, conn: Connection, tenant_id: uuid.UUID, mail_id: int, now: datetime
    ) -> bool:
        used = conn.scalar(
            select(func.count())
            .select_from(MAILS)
            .where(
                MAILS.c.tenant_id == tenant_id,
                MAILS.c.id != mail_id,
                or_(
                    MAILS.c.sent_at >= now - QUOTA_WINDOW,
                    and_(MAILS.c.status == SENDING, MAILS.c.claimed_until > now),
                ),
            )
        )
        return int(used or 0) >= self.per_hour

    def _send(self, claimed: _Claimed) -> int:
        assert claimed.facts is not None
        mail = notification_mail(claimed.facts, claimed.language)
        try:
            message = _message(self.mailer.sender, claimed, mail.subject, mail.body)
            self.mailer.deliver(message)
        except (MailError, ValueError) as exc:
            temporary = isinstance(exc, MailError) and exc.temporary
            self._failed(claimed, str(exc), temporary)
            return 0
        with self.db.begin() as conn:
            conn.execute(
                update(MAILS)
                .where(MAILS.c.id == claimed.mail_id, MAILS.c.status == SENDING)
                .values(status=SENT, sent_at=self.clock(), claimed_until=None, last_error=None)
            )
        log.info(
            "notification mail %s sent to %s: %s", claimed.mail_id, claimed.address, mail.subject
        )
        return 1

    def _failed(self, claimed: _Claimed, error: str, temporary: bool) -> None:
        retry = temporary and claimed.attempts < MAX_ATTEMPTS
        values: dict[str, Any] = {"claimed_until": None, "last_error": error[:500]}
        if retry:
            delay = timedelta(seconds=min(3600, 30 * 2 ** (claimed.attempts - 1)))
            values.update(status=PENDING, next_attempt_at=self.clock() + delay)
        else:
            values["status"] = FAILED
        with self.db.begin() as conn:
            conn.execute(
                update(MAILS)
                .where(MAILS.c.id == claimed.mail_id, MAILS.c.status == SENDING)
                .values(**values)
            )
        log.warning(
            "notification mail %s to %s %s: %s",
            claimed.mail_id,
            claimed.address,
            "will be retried" if retry else "failed",
            error,
        )

    def _facts(self, conn: Connection, notification_id: int) -> EventFacts:
        note = conn.execute(select(NOTES).where(NOTES.c.id == notification_id)).one()
        tenant = conn.execute(
            select(Tenant.name, Tenant.timezone, Tenant.settings).where(Tenant.id == note.tenant_id)
        ).one()
        customer, service, starts_at = "", "", None
        if note.conversation_id is not None:
            customer = (
                conn.scalar(
                    select(func.coalesce(func.nullif(Contact.name, ""), Conversation.peer))
                    .select_from(Conversation)
                    .join(Contact, Contact.id == Conversation.contact_id)
                    .where(Conversation.id == note.conversation_id)
                )
                or ""
            )
        if note.booking_id is not None:
            booking = conn.execute(
                select(Contact.name, Service.name.label("service"), Booking.starts_at)
                .select_from(Booking)
                .join(Contact, Contact.id == Booking.contact_id)
                .join(Service, Service.id == Booking.service_id)
                .where(Booking.id == note.booking_id)
            ).first()
            if booking is not None:
                customer, service, starts_at = booking.name, booking.service, booking.starts_at
        settings = dict(tenant.settings or {})
        return EventFacts(
            kind=note.kind,
            tenant=_line(tenant.name),
            timezone=tenant.timezone,
            summary=note.summary,
            channel=note.channel,
            customer=_line(customer or "?"),
            # The conversation itself in the console, when the event has one.
            console_url=(
                f"{self.console_url}/conversations/{note.conversation_id}"
                if note.conversation_id is not None
                else self.console_url
            ),
            handoff_timeout_minutes=_int(
                settings.get(HANDOFF_TIMEOUT_KEY), DEFAULT_HANDOFF_TIMEOUT_MIN
            ),
            service=_line(service),
            starts_at=starts_at,
        )


def recipients(conn: Connection, tenant_id: uuid.UUID, kind: str) -> list[tuple[str, str]]:
    """(address, locale) of everyone to mail about an event of `kind`; [] when the
    tenant's settings switch that kind off."""
    tenant = conn.execute(
        select(Tenant.locale, Tenant.settings).where(Tenant.id == tenant_id)
    ).first()
    if tenant is None:
        return []
    preferences = NotificationSettings.of(dict(tenant.settings or {}))
    if not getattr(preferences.events, EVENT_SWITCH[kind]):
        return []
    users = conn.execute(
        select(User.email, User.locale, User.role).where(
            User.tenant_id == tenant_id, User.status == UserStatus.ACTIVE
        )
    ).all()
    locale_of = {user.email.lower(): user.locale for user in users}
    managers = [u.email.lower() for u in users if u.role in (Role.OWNER, Role.ADMIN)]
    found: dict[str, str] = {}
    for address in [*sorted(managers), *preferences.emails]:
        address = address.lower()
        if address not in found:
            found[address] = locale_of.get(address) or tenant.locale
    return list(found.items())


def _due(now: datetime) -> Any:
    return or_(
        and_(MAILS.c.status == PENDING, MAILS.c.next_attempt_at <= now),
        and_(MAILS.c.status == SENDING, MAILS.c.claimed_until < now),  # its sender died
    )


def _message(sender: str, claimed: _Claimed, subject: str, body: str) -> EmailMessage:
    message = compose(sender, claimed.address, subject, body)
    # The same id on every attempt: a mail repeated after a crash is shown once.
    message.replace_header("Message-ID", f"<notification-{claimed.mail_id}@hablo.local>")
    return message


def _line(text: str) -> str:
    """One line (for headers): a name with a newline must not add a header."""
    return " ".join(str(text).split())[:200]


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default
