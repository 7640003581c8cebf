"""Notifications for the business's staff (not for customers): one row per event, and
one e-mail delivery row per recipient of it.

`staff_notifications.id` grows with every event, so a reader pages with "after id" (the
console's live badge); the unique (tenant_id, kind, event_key) records each event once.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, utcnow
from hablo.db.models._columns import tenant_fk
from hablo.db.models.delivery import SerialId


class StaffNotification(Base):
    """Something staff should know: a customer asked for a person, a booking was made, a
    channel disconnected. Written in the same transaction as the event itself."""

    __tablename__ = "staff_notifications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "event_key"),
        Index("ix_staff_notifications_tenant_id_id", "tenant_id", "id"),
        Index("ix_staff_notifications_unplanned", "mails_planned_at", "id"),
    )

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    # handoff_requested | booking_created | channel_disconnected (hablo.db.staff_events)
    kind: Mapped[str] = mapped_column(String(32))
    # What makes this event itself (a conversation and turn, a booking, a session).
    event_key: Mapped[str] = mapped_column(String(200))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    booking_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str | None] = mapped_column(String(24))
    # The salient detail, not a sentence (so any language can show it): the customer's
    # words, the service's name, the channel's error.
    summary: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the e-mail job turned this event into delivery rows (NULL: not yet).
    mails_planned_at: Mapped[datetime | None]


class NotificationMail(Base):
    """One e-mail of one notification to one address: an outbox, so a crash neither loses
    it nor (outside the SMTP call itself) sends it twice."""

    __tablename__ = "notification_mails"
    __table_args__ = (
        UniqueConstraint("notification_id", "address"),
        Index("ix_notification_mails_due", "status", "next_attempt_at"),
        Index("ix_notification_mails_tenant_sent", "tenant_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("staff_notifications.id", ondelete="CASCADE")
    )
    address: Mapped[str] = mapped_column(String(254))
    # The recipient's locale (e.g. en-US): its language picks the text.
    language: Mapped[str] = mapped_column(String(16))
    # pending -> sending (claimed, until claimed_until) -> sent | failed | skipped
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
