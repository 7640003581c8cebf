"""Payment bookkeeping: provider webhook deliveries (each event processed once) and the
per-tenant invoice number sequence (gapless)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, UUIDPrimaryKey, utcnow


class WebhookEvent(UUIDPrimaryKey, Base):
    """One provider event (Stripe, MercadoPago). The unique key makes a redelivery a
    no-op: the insert is the dedupe, in the same transaction as the event's effects."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(64))
    # NULL until the event is matched to a tenant's payment.
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvoiceCounter(Base):
    """The last invoice number issued by a tenant. Locked (FOR UPDATE / SQLite's writer
    lock) in the transaction that issues the next one, so numbers have no gaps."""

    __tablename__ = "invoice_counters"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(default=0)
