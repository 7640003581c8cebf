"""Bookings, payments and invoices."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, Timestamps, UUIDPrimaryKey
from hablo.db.enums import BookingStatus, PaymentMethod, PaymentStatus
from hablo.db.models._columns import str_enum, tenant_fk


def _blocked_until_default(context: DefaultExecutionContext) -> datetime:
    """Writers that do not set blocked_until get no buffer (never an open-ended range)."""
    ends_at: datetime = context.get_current_parameters()["ends_at"]
    return ends_at


class Booking(UUIDPrimaryKey, Timestamps, Base):
    """A customer's appointment.

    No double booking, enforced by the database (migration 0002): two active bookings
    (pending/confirmed) of one tenant on one resource may not overlap in
    [starts_at, blocked_until). PostgreSQL: the exclusion constraint below (btree_gist).
    SQLite: BEFORE INSERT/UPDATE triggers raising 'booking overlaps'.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        CheckConstraint("resource >= 1", name="resource_positive"),
        CheckConstraint("blocked_until >= ends_at", name="blocked_after_end"),
        Index("ix_bookings_tenant_start", "tenant_id", "starts_at"),
        ExcludeConstraint(
            ("tenant_id", "="),
            ("resource", "="),
            (text("tstzrange(starts_at, blocked_until)"), "&&"),
            where=text("status IN ('pending', 'confirmed')"),
            using="gist",
            name="ex_bookings_no_overlap",
        ).ddl_if(dialect="postgresql"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    duration_minutes: Mapped[int]
    # ends_at + the tenant's buffer when booked: the range no other booking may overlap.
    blocked_until: Mapped[datetime] = mapped_column(default=_blocked_until_default)
    # Which chair/staff slot (1..capacity) the booking occupies.
    resource: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    status: Mapped[BookingStatus] = mapped_column(
        str_enum(BookingStatus), default=BookingStatus.PENDING
    )
    assigned_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    reminder_sent_at: Mapped[datetime | None]


class Payment(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount_minor >= 0", name="amount_not_negative"),)

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    booking_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="SET NULL"), index=True
    )
    amount_minor: Mapped[int]
    refunded_minor: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod))
    status: Mapped[PaymentStatus] = mapped_column(
        str_enum(PaymentStatus), default=PaymentStatus.PENDING
    )
    provider_reference: Mapped[str | None] = mapped_column(String(200), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Invoice(UUIDPrimaryKey, Base):
    __tablename__ = "invoices"
    # Numbers are a gapless sequence per tenant.
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    payment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), unique=True
    )
    number: Mapped[int]
    total_minor: Mapped[int]
    tax_minor: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3))
    issued_at: Mapped[datetime]
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    lines: Mapped[list[Any]] = mapped_column(default=list)
