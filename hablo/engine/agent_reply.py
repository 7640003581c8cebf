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

from hablo.db.enums import ConversationStatus, SenderKind
from hablo.db.models import Conversation, Message, OutboxMessage
from hablo.engine.dialogue import DialogueState
from hablo.engine.messages import ConversationKey, OutboundEnvelope
from hablo.engine.runtime import Engine
from hablo.engine.store import statements_for, write_rows
from hablo.engine.turn_rows import (
    CLIENT_ID_KEY,
    LockedConversation,
    TurnRecord,
    envelope_from_row,
    envelopes_of,
    turn_rows,
)


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


def muted_state(state: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The dialogue state of a conversation handed to a human, as the handoff skill's
    result leaves it in a turn: the handoff marker (the timeout counts from the last human
    message), and no bot flow left half-way. The turn logic stays silent while it holds."""
    dialogue = DialogueState.load(state or {})
    dialogue.handoff_at = now.isoformat()
    dialogue.flow = None
    dialogue.offered_human = False
    dialogue.misunderstood = 0
    return dialogue.dump()


def mute_bot(conversation: Conversation, now: datetime) -> None:
    """Hand the conversation to a human: status waiting_human and the muted state."""
    conversation.state = muted_state(conversation.state, now)
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
    extras: dict[str, Any] | None = None,
) -> AgentReply:
    """Write the agent's message in the caller's transaction. `conversation` must have been
    loaded FOR UPDATE in this transaction (the per-conversation lock). `extras` travel
    with the text as a bot reply's do (`Reply.extras()`: an image or document by URL).

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
    session.flush()  # the ORM's pending changes first: the rows below go in through Core
    agent = sender_kind == SenderKind.AGENT
    record = TurnRecord(
        inbox_ids=(),
        inbound=(),
        language=conversation.language,
        intent=None,
        confidence=0.0,
        skill=None,
        replies=(text,),
        reply_extras=(extras,),
        new_state=muted_state(conversation.state, now) if agent else None,
        new_status=ConversationStatus.WAITING_HUMAN if agent else None,
        sender_kind=sender_kind,
        author_user_id=author_user_id,
        client_message_id=client_message_id,
    )
    key = ConversationKey(conversation.tenant_id, conversation.channel, conversation.peer)
    locked = LockedConversation(
        conversation.id,
        conversation.contact_id,
        conversation.status,
        dict(conversation.state or {}),
        conversation.language,
        conversation.message_count or 0,
    )
    rows = turn_rows(key, locked, record, now)
    conn = session.connection()
    envelopes = envelopes_of(key, rows, write_rows(conn, statements_for(conn.dialect.name), rows))
    session.expire(conversation)  # its row was written under the ORM
    message = session.get(Message, rows.messages[-1]["id"])
    assert message is not None  # written just above, in this transaction
    return AgentReply(message, envelopes[-1])


def envelope_of(row: OutboxMessage) -> OutboundEnvelope:
    """An outbox row loaded through the ORM as an envelope, choices and media included
    (the API's retry of a dead letter sends it as it was first sent)."""
    columns = ("id", "tenant_id", "channel", "peer", "conversation_id", "attempts", "payload")
    return envelope_from_row({name: getattr(row, name) for name in columns})


def hand_to_dispatcher(engine: Engine, envelopes: Sequence[OutboundEnvelope]) -> None:
    """After the commit: send through the outbox dispatcher, behind the conversation's
    earlier replies. A crash before this line leaves the row pending; the engine resends
    pending rows at start-up."""
    for envelope in envelopes:
        engine.dispatcher.enqueue(envelope.key, [envelope], ())
