"""Messages exchanged between actors and the edges. All frozen: pykka does not copy them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hablo.engine.sanitize import (
    MAX_NAME,
    MAX_PEER,
    MAX_PROVIDER_ID,
    clean_identifier,
    clean_text,
    clean_tree,
)


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Identifies one conversation's actor: the same customer on the same channel."""

    tenant_id: uuid.UUID
    channel: str
    peer: str


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """What a channel adapter hands to the engine. `provider_message_id` dedupes retries.

    Built only cleaned: whatever an adapter passes, the text, ids, name and extras that
    reach the inbox have no NUL, control characters or surrogates, and fit their columns.
    """

    tenant_id: uuid.UUID
    channel: str
    peer: str
    text: str
    provider_message_id: str
    received_at: datetime
    sender_name: str = ""
    extra: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        cleaned = {
            "peer": clean_identifier(self.peer, MAX_PEER),
            "provider_message_id": clean_identifier(self.provider_message_id, MAX_PROVIDER_ID),
            "text": clean_text(self.text),
            "sender_name": clean_text(self.sender_name, MAX_NAME),
            "extra": tuple((clean_text(k), clean_tree(v)) for k, v in self.extra),
        }
        for name, value in cleaned.items():
            object.__setattr__(self, name, value)  # frozen: the one place it is set

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
    # Quick answers and an image/document by URL (see plugins.sdk.Reply); senders of
    # channels without buttons or media use `plain_text()`.
    choices: tuple[str, ...] = ()
    media_url: str | None = None
    media_type: str = "image"

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(self.tenant_id, self.channel, self.peer)

    def plain_text(self) -> str:
        """The text with the choices as a numbered list and the media as a link, for
        channels that have neither buttons nor media (the customer answers "2")."""
        lines = [self.text]
        if self.choices:
            lines.append("")
            lines.extend(f"{n}. {choice}" for n, choice in enumerate(self.choices, 1))
        if self.media_url:
            lines.extend(("", self.media_url))
        return "\n".join(lines)

    @staticmethod
    def extras_of(payload: dict[str, Any]) -> dict[str, Any]:
        """Envelope fields from an outbox row's payload (written by `payload_extras`)."""
        media = payload.get("media") or {}
        return {
            "choices": tuple(str(c) for c in payload.get("choices") or ()),
            "media_url": media.get("url"),
            "media_type": str(media.get("type") or "image"),
        }
