"""Messages exchanged between actors and the edges. All frozen: pykka does not copy them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Identifies one conversation's actor: the same customer on the same channel."""

    tenant_id: uuid.UUID
    channel: str
    peer: str


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """What a channel adapter hands to the engine. `provider_message_id` dedupes retries."""

    tenant_id: uuid.UUID
    channel: str
    peer: str
    text: str
    provider_message_id: str
    received_at: datetime
    sender_name: str = ""
    extra: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(self.tenant_id, self.channel, self.peer)


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """An inbound message after it was durably stored in the inbox (id orders arrivals)."""

    inbox_id: int
    message: InboundMessage

    @property
    def key(self) -> ConversationKey:
        return self.message.key


@dataclass(frozen=True, slots=True)
class SubmitResult:
    inbox_id: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class ConversationIdle:
    key: ConversationKey


@dataclass(frozen=True, slots=True)
class PassivationTick:
    """Periodic nudge to a TenantActor to passivate idle conversation actors."""


@dataclass(frozen=True, slots=True)
class FlushBurst:
    """The debounce window of a conversation's burst closed (stale generations ignored)."""

    generation: int


@dataclass(frozen=True, slots=True)
class RetryPending:
    """Nudge to a ConversationActor to retry turns that failed for infrastructure reasons."""


@dataclass(frozen=True, slots=True)
class ReloadTenant:
    """The tenant's configuration changed: rebuild its profile, skills and NLU."""


@dataclass(frozen=True, slots=True)
class OutboundEnvelope:
    """A committed outbox row on its way to the channel sender."""

    outbox_id: int
    tenant_id: uuid.UUID
    channel: str
    peer: str
    text: str
    conversation_id: uuid.UUID | None
    inbox_ids: tuple[int, ...] = field(default=())
    attempts: int = 0

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(self.tenant_id, self.channel, self.peer)
