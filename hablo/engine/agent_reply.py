"""A human agent writes into a conversation: the message, its outbox row and the handoff
(the bot goes silent) commit in ONE transaction, then the outbox dispatcher sends it
like any bot reply (same retries, same dead letters, same per-conversation order).

Order with the bot: the conversation row is locked first, as the engine's turn
transaction does (`ConversationStore.lock_live`), so an agent message and a customer's
turn never interleave their writes; whichever commits first is handed to the dispatcher
first (the turn's actor enqueues right after its commit).

Idempotency: an optional client message id is kept in the outbox row's payload; a retried
POST with the same id finds it (under the same row lock, so two concurrent retries cannot
both write) and sends nothing again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hablo.db.enums import ConversationStatus, DeliveryStatus, OutboxStatus, SenderKind
from hablo.db.models import Conversation, Message, OutboxMessage
from hablo.engine.dialogue import DialogueState
from hablo.engine.messages import OutboundEnvelope
from hablo.engine.runtime import Engine

CLIENT_ID_KEY = "client_message_id"


class ConversationClosedError(Exception):
    """A closed conversation takes no more messages (the customer's next one opens a new
    conversation)."""


class ClientIdReusedError(Exception):
    """The client message id was already used for a different text."""


@dataclass(frozen=True)
class AgentReply:
    message: Message
    # None when this is a retry of a message already recorded (nothing new to send).
    envelope: OutboundEnvelope | None

    @property
    def replayed(self) -> bool:
        return self.envelope is None


def mute_bot(conversation: Conversation, now: datetime) -> None:
    """Hand the conversation to a human, as the handoff skill's result does in a turn:
    status waiting_human, the handoff marker (the timeout counts from the last human
    message), and no bot flow left half-way. The turn logic stays silent while it holds."""
    state = DialogueState.load(conversation.state or {})
    state.handoff_at = now.isoformat()
    state.flow = None
    state.offered_human = False
    state.misunderstood = 0
    conversation.state = state.dump()
    conversation.status = ConversationStatus.WAITING_HUMAN


def release_bot(conversation: Conversation) -> None:
    """Give the conversation back to the bot (it answers the next customer message)."""
    state = DialogueState.load(conversation.state or {})
    state.handoff_at = None
    conversation.state = state.dump()


def find_by_client_id(
    session: Session,
    conversation: Conversation,
    client_message_id: str,
    sender_kind: SenderKind = SenderKind.AGENT,
) -> Message | None:
    query = (
        select(Message)
        .join(OutboxMessage, OutboxMessage.message_id == Message.id)
        .where(
            Message.tenant_id == conversation.tenant_id,
            Message.conversation_id == conversation.id,
            Message.sender_kind == sender_kind,
            OutboxMessage.payload[CLIENT_ID_KEY].as_string() == client_message_id,
        )
    )
    found: Message | None = session.scalars(query).first()
    return found


def record_agent_reply(
    session: Session,
    conversation: Conversation,
    author_user_id: uuid.UUID | None,
    text: str,
    client_message_id: str | None,
    now: datetime,
    *,
    sender_kind: SenderKind = SenderKind.AGENT,
) -> AgentReply:
    """Write the agent's message in the caller's transaction. `conversation` must have been
    loaded FOR UPDATE in this transaction (the per-conversation lock).

    With `sender_kind=SenderKind.BOT` it is a system message on the bot's behalf (e.g. a
    payment confirmation): same order and outbox, but the bot is not muted."""
    if client_message_id is not None:
        earlier = find_by_client_id(session, conversation, client_message_id, sender_kind)
        if earlier is not None:
            if earlier.body != text:
                raise ClientIdReusedError(client_message_id)
            return AgentReply(earlier, None)
    if conversation.status == ConversationStatus.CLOSED:
        raise ConversationClosedError(str(conversation.id))
    message = Message(
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.id,
        sender_kind=sender_kind,
        body=text,
        language=conversation.language,
        tokens=0,
        status=DeliveryStatus.PENDING,
        author_user_id=author_user_id,
        created_at=now,
    )
    session.add(message)
    session.flush()
    payload: dict[str, Any] = {"text": text, "inbox_ids": []}
    if client_message_id is not None:
        payload[CLIENT_ID_KEY] = client_message_id
    outbox = OutboxMessage(
        tenant_id=conversation.tenant_id,
        message_id=message.id,
        conversation_id=conversation.id,
        channel=conversation.channel,
        peer=conversation.peer,
        payload=payload,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(outbox)
    conversation.message_count = (conversation.message_count or 0) + 1
    conversation.last_message_at = now
    if sender_kind == SenderKind.AGENT:
        mute_bot(conversation, now)
    session.flush()
    return AgentReply(message, envelope_of(outbox))


def envelope_of(row: OutboxMessage) -> OutboundEnvelope:
    return OutboundEnvelope(
        outbox_id=row.id,
        tenant_id=row.tenant_id,
        channel=row.channel,
        peer=row.peer,
        text=str((row.payload or {}).get("text", "")),
        conversation_id=row.conversation_id,
        inbox_ids=(),
        attempts=row.attempts,
    )


def hand_to_dispatcher(engine: Engine, envelopes: Sequence[OutboundEnvelope]) -> None:
    """After the commit: send through the outbox dispatcher, behind the conversation's
    earlier replies. A crash before this line leaves the row pending; the engine resends
    pending rows at start-up."""
    for envelope in envelopes:
        engine.dispatcher.enqueue(envelope.key, [envelope], ())
