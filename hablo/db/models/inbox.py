"""What staff add to the inbox: labels on conversations and saved ("canned") replies."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, Timestamps, UUIDPrimaryKey
from hablo.db.models._columns import tenant_fk


class Label(UUIDPrimaryKey, Timestamps, Base):
    """A business's own tag for conversations ("VIP", "queja")."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    name: Mapped[str] = mapped_column(String(40))


class ConversationLabel(Base):
    __tablename__ = "conversation_labels"

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    label_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SavedReply(UUIDPrimaryKey, Timestamps, Base):
    """A reply an agent inserts by its shortcut ("/horario")."""

    __tablename__ = "saved_replies"
    __table_args__ = (UniqueConstraint("tenant_id", "shortcut"),)

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    shortcut: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
