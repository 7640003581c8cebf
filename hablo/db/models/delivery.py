"""The engine's durable edges: the inbox (dedupe of inbound) and the outbox (retried sends)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, utcnow
from hablo.db.enums import InboxStatus, OutboxStatus
from hablo.db.models._columns import str_enum, tenant_fk

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite: ids order arrivals.
SerialId = BigInteger().with_variant(Integer(), "sqlite")


class InboxEvent(Base):
    """One inbound provider event. The unique key turns provider retries into no-ops."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("tenant_id", "channel", "provider_message_id"),
        Index("ix_inbox_pending", "status", "id"),
        Index("ix_inbox_received", "received_at"),  # retention
    )

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    channel: Mapped[str] = mapped_column(String(24))
    provider_message_id: Mapped[str] = mapped_column(String(200))
    peer: Mapped[str] = mapped_column(String(254))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[InboxStatus] = mapped_column(str_enum(InboxStatus), default=InboxStatus.PENDING)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    # Failed turns for this message (not infrastructure outages) and the last error.
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(String(500))


class OutboxMessage(Base):
    """A reply waiting to be sent through its channel; retried with backoff, then dead."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # Delivery status callbacks find the sent reply by the provider's message id.
        Index("ix_outbox_provider_message", "tenant_id", "channel", "provider_message_id"),
    )

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    inbox_id: Mapped[int | None] = mapped_column(SerialId)  # the inbound this answers
    channel: Mapped[str] = mapped_column(String(24))
    peer: Mapped[str] = mapped_column(String(254))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
