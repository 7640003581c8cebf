"""Customers (contacts), their conversations and every message in them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, Timestamps, UUIDPrimaryKey, utcnow
from hablo.db.enums import ContactKind, ConversationStatus, DeliveryStatus, SenderKind, Topic
from hablo.db.models._columns import str_enum, tenant_fk


class Contact(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "contacts"

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    kind: Mapped[ContactKind] = mapped_column(str_enum(ContactKind), default=ContactKind.PROSPECT)
    language: Mapped[str | None] = mapped_column(String(8))
    total_conversations: Mapped[int] = mapped_column(default=0)
    total_spent_minor: Mapped[int] = mapped_column(default=0)
    last_purchase_at: Mapped[datetime | None]
    consent_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]


class ContactIdentity(UUIDPrimaryKey, Base):
    """How a contact is reached on one channel (phone, WhatsApp id, e-mail, web chat id).

    The unique key makes the same person one contact per tenant across channels.
    """

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "value"),)

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_lookup", "tenant_id", "contact_id", "channel", "status"),
        Index("ix_conversations_tenant_updated", "tenant_id", "updated_at"),  # console live
        # At most one live conversation per customer address: enforced by the database.
        Index(
            "uq_conversations_live_peer",
            "tenant_id",
            "channel",
            "peer",
            unique=True,
            postgresql_where=text("status <> 'closed'"),
            sqlite_where=text("status <> 'closed'"),
        ),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(24))
    peer: Mapped[str] = mapped_column(String(254))  # the channel address replies go to
    topic: Mapped[Topic] = mapped_column(str_enum(Topic), default=Topic.INQUIRY)
    status: Mapped[ConversationStatus] = mapped_column(
        str_enum(ConversationStatus), default=ConversationStatus.OPEN
    )
    assigned_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    language: Mapped[str | None] = mapped_column(String(8))
    message_count: Mapped[int] = mapped_column(default=0)
    purchase_made: Mapped[bool] = mapped_column(default=False)
    rating: Mapped[int | None]
    # Dialogue state (active flow, filled slots, misunderstanding count): survives restarts.
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_message_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class Message(UUIDPrimaryKey, Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_time", "conversation_id", "created_at"),
        Index("ix_messages_tenant_created", "tenant_id", "created_at"),  # retention
    )

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    sender_kind: Mapped[SenderKind] = mapped_column(str_enum(SenderKind))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None]
    skill: Mapped[str | None] = mapped_column(String(64))
    tokens: Mapped[int] = mapped_column(default=0)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(String(500))
    # Inbound media: [{"type", "mime", "size", "media_id" | "url", "caption", ...}].
    attachments: Mapped[list[Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationNote(UUIDPrimaryKey, Base):
    __tablename__ = "conversation_notes"

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
