"""The one turn writer's rows: every message and outbox row the engine writes (bot turns,
quarantine apologies, reminders, agent replies, payment notices) is built here, and the
one envelope builder reads outbox rows back (sending, start-up recovery, API retries).

Executors only run these rows: `ConversationStore` (SQLAlchemy Core, any database) and
`PostgresConversationStore` (psycopg pipeline). Keeping the building in one place is what
keeps them agreeing (a parity test compares what both write).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from hablo.db.base import new_id
from hablo.db.enums import ConversationStatus, DeliveryStatus, OutboxStatus, SenderKind
from hablo.engine.messages import ConversationKey, OutboundEnvelope

T = TypeVar("T")
CLIENT_ID_KEY = "client_message_id"

# Column order of the rows below (the psycopg executor binds them positionally).
MESSAGE_COLUMNS = (
    "id",
    "tenant_id",
    "conversation_id",
    "sender_kind",
    "body",
    "language",
    "intent",
    "confidence",
    "skill",
    "tokens",
    "status",
    "error",
    "created_at",
    "attachments",
    "author_user_id",
)
OUTBOX_COLUMNS = (
    "tenant_id",
    "message_id",
    "conversation_id",
    "inbox_id",
    "channel",
    "peer",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


@dataclass(frozen=True)
class LockedConversation:
    """The conversation row as the turn's transaction locked it."""

    id: uuid.UUID
    contact_id: uuid.UUID
    status: ConversationStatus
    state: dict[str, Any]
    language: str | None
    message_count: int


@dataclass
class TurnRecord:
    """Everything one turn writes, committed together by a store's `commit_turn`."""

    inbox_ids: tuple[int, ...]
    # The customer's messages of this turn, (text, received at): one, or a debounced burst.
    inbound: tuple[tuple[str, datetime], ...]
    language: str | None
    intent: str | None
    confidence: float
    skill: str | None
    replies: Sequence[str]
    new_state: dict[str, Any] | None
    new_status: ConversationStatus | None = None
    error: str | None = None
    # Inbound media/location per customer message, aligned with `inbound` (None: none).
    inbound_attachments: tuple[list[dict[str, Any]] | None, ...] = ()
    # Choices/media per reply, aligned with `replies` (None: plain text).
    reply_extras: tuple[dict[str, Any] | None, ...] = ()
    # Who says the replies: the bot, or a person of the team (agent replies).
    sender_kind: SenderKind = SenderKind.BOT
    author_user_id: uuid.UUID | None = None
    # A client's idempotency key for the (single) reply, kept in its outbox payload.
    client_message_id: str | None = None

    def reply_payloads(self) -> list[dict[str, Any]]:
        """The outbox payload of each reply: its text, its extras, and on the last one the
        inbox ids it answers (marked processed when it is sent)."""
        last = len(self.replies) - 1
        extras = aligned(self.reply_extras, len(self.replies))
        payloads: list[dict[str, Any]] = [
            {
                "text": text,
                "inbox_ids": list(self.inbox_ids) if i == last else [],
                **(extras[i] or {}),
            }
            for i, text in enumerate(self.replies)
        ]
        if self.client_message_id is not None and payloads:
            payloads[-1][CLIENT_ID_KEY] = self.client_message_id
        return payloads


@dataclass(frozen=True)
class TurnRows:
    """One turn's rows, ready for an executor: messages in insert order, an outbox row per
    reply (aligned with `payloads`), and the conversation row's new values."""

    messages: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    payloads: list[dict[str, Any]]
    conversation: dict[str, Any]
    inbox_ids: tuple[int, ...]


def turn_rows(
    key: ConversationKey, conversation: LockedConversation, turn: TurnRecord, now: datetime
) -> TurnRows:
    tenant_id, conversation_id = key.tenant_id, conversation.id
    messages = [
        _message(
            tenant_id,
            conversation_id,
            SenderKind.CUSTOMER,
            text,
            turn,
            DeliveryStatus.RECEIVED,
            received_at,
            attachments=attachments,
        )
        for (text, received_at), attachments in zip(
            turn.inbound, aligned(turn.inbound_attachments, len(turn.inbound)), strict=True
        )
    ]
    replies = [
        _message(
            tenant_id, conversation_id, turn.sender_kind, text, turn, DeliveryStatus.PENDING, now
        )
        for text in turn.replies
    ]
    payloads = turn.reply_payloads()
    answered = turn.inbox_ids[-1] if turn.inbox_ids else None
    outbox = [
        {
            "tenant_id": tenant_id,
            "message_id": reply["id"],
            "conversation_id": conversation_id,
            "inbox_id": answered,
            "channel": key.channel,
            "peer": key.peer,
            "payload": payload,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for reply, payload in zip(replies, payloads, strict=True)
    ]
    messages.extend(replies)
    return TurnRows(
        messages=messages,
        outbox=outbox,
        payloads=payloads,
        conversation={
            "conversation_id": conversation_id,
            "message_count": conversation.message_count + len(messages),
            "now": now,
            "language": turn.language or conversation.language,
            "state": conversation.state if turn.new_state is None else turn.new_state,
            "status": turn.new_status or conversation.status,
        },
        inbox_ids=turn.inbox_ids,
    )


def _message(
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    sender: SenderKind,
    text: str,
    turn: TurnRecord,
    status: DeliveryStatus,
    at: datetime,
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    customer = sender == SenderKind.CUSTOMER
    return {
        "id": new_id(),
        "tenant_id": tenant_id,
        "conversation_id": conversation_id,
        "sender_kind": sender,
        "body": text,
        "language": turn.language,
        # What was understood belongs to the customer's message; the error too.
        "intent": turn.intent if customer else None,
        "confidence": turn.confidence if customer else None,
        "skill": turn.skill if sender != SenderKind.AGENT else None,
        "tokens": 0,
        "status": status,
        "error": turn.error if customer else None,
        "created_at": at,
        "attachments": attachments,
        "author_user_id": None if customer else turn.author_user_id,
    }


def envelopes_of(
    key: ConversationKey, rows: TurnRows, outbox_ids: Sequence[int]
) -> list[OutboundEnvelope]:
    """The committed replies on their way to the channel; the last carries the inbox ids."""
    last = len(rows.outbox) - 1
    return [
        envelope_from_row(
            {**row, "id": outbox_id, "payload": payload},
            inbox_ids=rows.inbox_ids if i == last else (),
        )
        for i, (row, payload, outbox_id) in enumerate(
            zip(rows.outbox, rows.payloads, outbox_ids, strict=True)
        )
    ]


def envelope_from_row(
    row: Mapping[Any, Any], inbox_ids: tuple[int, ...] | None = None
) -> OutboundEnvelope:
    """An outbox row (a mapping of its columns) as an envelope, with its choices and media:
    the one reading of a payload, so a resent or retried reply looks like the first."""
    payload = row["payload"] or {}
    return OutboundEnvelope(
        outbox_id=row["id"],
        tenant_id=row["tenant_id"],
        channel=row["channel"],
        peer=row["peer"],
        text=str(payload.get("text", "")),
        conversation_id=row["conversation_id"],
        inbox_ids=tuple(payload.get("inbox_ids", ())) if inbox_ids is None else inbox_ids,
        attempts=row["attempts"],
        **OutboundEnvelope.extras_of(payload),
    )


def aligned(items: tuple[T | None, ...], count: int) -> tuple[T | None, ...]:
    """One entry per message (turns built without attachments or extras pass none)."""
    return (items + (None,) * count)[:count]
