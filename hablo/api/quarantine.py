"""Customer messages the engine set aside: their turn failed the same way
`turn_max_attempts` times (bad data, a bug). Shown with the conversation they belong to,
so an agent sees what the customer wrote and why it was not answered normally."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select

from hablo.api.scope import TenantScope
from hablo.db.enums import InboxStatus
from hablo.db.models import InboxEvent, OutboxMessage


class QuarantinedOut(BaseModel):
    inbox_id: int
    text: str = Field(description="What the customer sent (cleaned of control characters)")
    attempts: int = Field(description="How many times its turn failed")
    error: str | None = Field(description="Why the last attempt failed")
    received_at: datetime
    quarantined_at: datetime | None


def quarantined_messages(scope: TenantScope, conversation_id: uuid.UUID) -> list[QuarantinedOut]:
    """The conversation's quarantined messages, oldest first (the apology's outbox row
    names the inbox row it answered)."""
    answered = select(OutboxMessage.inbox_id).where(
        OutboxMessage.tenant_id == scope.tenant_id,
        OutboxMessage.conversation_id == conversation_id,
    )
    rows = scope.session.scalars(
        scope.select(InboxEvent)
        .where(InboxEvent.status == InboxStatus.QUARANTINED, InboxEvent.id.in_(answered))
        .order_by(InboxEvent.id)
        .limit(100)
    ).all()
    return [
        QuarantinedOut(
            inbox_id=row.id,
            text=str((row.payload or {}).get("text", "")),
            attempts=row.attempts,
            error=row.last_error,
            received_at=row.received_at,
            quarantined_at=row.processed_at,
        )
        for row in rows
    ]
