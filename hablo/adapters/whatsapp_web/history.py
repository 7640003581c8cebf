"""What the database says about a linked number's traffic, for the anti-ban rules: did
this customer write within the last 24 hours (reply only), and when did the number send
in the last day (the daily cap survives a restart)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from hablo.adapters.whatsapp_web import CHANNEL
from hablo.db.base import utcnow
from hablo.db.database import Database
from hablo.db.enums import OutboxStatus, SenderKind
from hablo.db.models import Conversation, Message, OutboxMessage

REPLY_WINDOW = timedelta(hours=24)


def customer_wrote_since(db: Database, tenant_id: uuid.UUID, peer: str, since: datetime) -> bool:
    """Whether `peer` wrote to this business on WhatsApp Web after `since`."""
    with db.transaction() as session:
        found = session.scalar(
            select(Message.id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Conversation.tenant_id == tenant_id,
                Conversation.channel == CHANNEL,
                Conversation.peer == peer,
                Message.tenant_id == tenant_id,
                Message.sender_kind == SenderKind.CUSTOMER,
                Message.created_at > since,
            )
            .limit(1)
        )
    return found is not None


def may_reply(db: Database, tenant_id: uuid.UUID, peer: str) -> bool:
    """Reply only: never start a conversation with someone silent for 24 hours."""
    return customer_wrote_since(db, tenant_id, peer, utcnow() - REPLY_WINDOW)


def sent_last_day(db: Database, tenant_id: uuid.UUID) -> list[float]:
    """When this business's WhatsApp Web replies went out in the last 24 hours (epoch s)."""
    with db.transaction() as session:
        times = session.scalars(
            select(OutboxMessage.sent_at).where(
                OutboxMessage.tenant_id == tenant_id,
                OutboxMessage.channel == CHANNEL,
                OutboxMessage.status == OutboxStatus.SENT,
                OutboxMessage.sent_at > utcnow() - timedelta(days=1),
            )
        ).all()
    return [t.timestamp() for t in times if t is not None]
