"""One turn writer, several executors: the rows a turn leaves in `messages`, `outbox` and
`conversations` are the same whether SQLAlchemy Core (any database) or the psycopg
pipeline (PostgreSQL) ran them, and agent replies written from an ORM session agree."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection

from hablo.bootstrap import Runtime
from hablo.db.base import utcnow
from hablo.db.enums import ConversationStatus, SenderKind
from hablo.db.models import Contact, ContactIdentity, Conversation, Message, OutboxMessage
from hablo.engine.agent_reply import envelope_of, record_agent_reply
from hablo.engine.messages import ConversationKey, InboundMessage, OutboundEnvelope
from hablo.engine.pg_store import PostgresConversationStore
from hablo.engine.store import ConversationStore, LockedConversation, TurnRecord

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ATTACHMENT = {"type": "image", "mime": "image/png", "size": 12, "url": "https://x.test/a.png"}
EXTRAS = {"choices": ["Sí", "No"], "media": {"url": "https://x.test/menu.png", "type": "image"}}


def _executors(runtime: Runtime) -> list[ConversationStore]:
    stores = [ConversationStore(runtime.db)]
    if runtime.db.dialect == "postgresql":
        stores.append(PostgresConversationStore(runtime.db))
    return stores


def _one_turn(
    store: ConversationStore, tenant_id: uuid.UUID, peer: str, channel: str = "console"
) -> tuple[ConversationKey, list[OutboundEnvelope]]:
    message = InboundMessage(
        tenant_id,
        channel,
        peer,
        "hola, ¿tienen turno?",
        f"m-{channel}-{peer}",
        RECEIVED,
        sender_name="Ana",
        extra=(("attachments", (ATTACHMENT,)),),
    )
    inbox_id = store.accept(message).inbox_id

    def compute(
        conversation: LockedConversation, conn: Connection, claimed: tuple[int, ...]
    ) -> TurnRecord:
        return TurnRecord(
            inbox_ids=claimed,
            inbound=((message.text, message.received_at),),
            inbound_attachments=([dict(ATTACHMENT)],),
            language="es",
            intent="book",
            confidence=0.91,
            skill="booking",
            replies=("¡Hola!", "¿Te reservo el jueves?"),
            reply_extras=(None, EXTRAS),
            new_state={"flow": "booking"},
            new_status=ConversationStatus.OPEN,
        )

    claimed, envelopes = store.process_turn(message.key, (inbox_id,), compute, "Ana")
    assert claimed == (inbox_id,)
    return message.key, envelopes


def _written(runtime: Runtime, key: ConversationKey) -> dict[str, Any]:
    """What the turn left in the database, without ids and clocks."""
    with runtime.db.begin() as conn:
        conversation = conn.execute(
            select(Conversation).where(
                Conversation.tenant_id == key.tenant_id, Conversation.peer == key.peer
            )
        ).one()
        messages = conn.execute(
            select(Message)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.created_at, Message.sender_kind.desc())
        ).all()
        outbox = conn.execute(
            select(OutboxMessage)
            .where(OutboxMessage.conversation_id == conversation.id)
            .order_by(OutboxMessage.id)
        ).all()
        contact = conn.execute(select(Contact).where(Contact.id == conversation.contact_id)).one()
        identities = conn.execute(
            select(ContactIdentity.kind, ContactIdentity.value).where(
                ContactIdentity.contact_id == contact.id
            )
        ).all()
    by_id = {m.id: i for i, m in enumerate(messages)}
    return {
        "contact": (
            contact.name,
            contact.phone == key.peer,
            contact.email,
            contact.kind,
            contact.total_conversations,
            [(kind, value == key.peer) for kind, value in identities],
        ),
        "conversation": (
            conversation.status,
            conversation.language,
            conversation.state,
            conversation.message_count,
        ),
        "messages": [
            (
                m.sender_kind,
                m.body,
                m.language,
                m.intent,
                m.confidence,
                m.skill,
                m.tokens,
                m.status,
                m.error,
                m.attachments,
                m.author_user_id,
            )
            for m in messages
        ],
        "outbox": [
            (
                by_id[o.message_id],
                o.channel,
                o.peer == key.peer,
                o.inbox_id is not None,
                {k: v for k, v in o.payload.items() if k != "inbox_ids"},
                len(o.payload["inbox_ids"]),
                o.status,
                o.attempts,
            )
            for o in outbox
        ],
    }


EXPECTED_TURN: dict[str, Any] = {
    "contact": ("Ana", True, None, "prospect", 1, [("phone", True)]),
    "conversation": (ConversationStatus.OPEN, "es", {"flow": "booking"}, 3),
    "messages": [
        (
            SenderKind.CUSTOMER,
            "hola, ¿tienen turno?",
            "es",
            "book",
            pytest.approx(0.91),
            "booking",
            0,
            "received",
            None,
            [ATTACHMENT],
            None,
        ),
        (SenderKind.BOT, "¡Hola!", "es", None, None, "booking", 0, "pending", None, None, None),
        (
            SenderKind.BOT,
            "¿Te reservo el jueves?",
            "es",
            None,
            None,
            "booking",
            0,
            "pending",
            None,
            None,
            None,
        ),
    ],
    "outbox": [
        (1, "console", True, True, {"text": "¡Hola!"}, 0, "pending", 0),
        (2, "console", True, True, {"text": "¿Te reservo el jueves?", **EXTRAS}, 1, "pending", 0),
    ],
}


def test_every_executor_writes_the_same_turn_rows(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    executors = _executors(runtime)
    for index, store in enumerate(executors):
        key, envelopes = _one_turn(store, demo_tenant_id, f"+54911000000{index}")
        assert _written(runtime, key) == EXPECTED_TURN, type(store).__name__
        # What goes to the channel now is what a resend after a restart reads back.
        assert envelopes[-1].choices == ("Sí", "No")
        assert envelopes[-1].media_url == "https://x.test/menu.png"
        resent = {e.outbox_id: e for e in store.pending_outbox()}
        assert [resent[e.outbox_id] for e in envelopes] == envelopes
        # The same person on another channel: the contact is found, not made again.
        _one_turn(store, demo_tenant_id, key.peer, channel="sms")
        with runtime.db.begin() as conn:
            contacts = conn.execute(
                select(Conversation.contact_id, Contact.total_conversations)
                .join(Contact, Contact.id == Conversation.contact_id)
                .where(Conversation.peer == key.peer)
            ).all()
        assert len(contacts) == 2 and len({c for c, _ in contacts}) == 1, type(store).__name__
        assert {total for _, total in contacts} == {2}
    if runtime.db.dialect == "postgresql":
        assert len(executors) == 2  # both executors were compared, not just one


def test_an_agent_reply_and_a_retried_dead_letter_use_the_same_rows(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    store = ConversationStore(runtime.db)
    key, envelopes = _one_turn(store, demo_tenant_id, "+5491100000009")
    with runtime.db.transaction() as session:
        conversation = session.scalars(
            select(Conversation).where(Conversation.peer == key.peer).with_for_update()
        ).one()
        reply = record_agent_reply(
            session,
            conversation,
            None,
            "Te escribo yo",
            "c-1",
            utcnow(),
            sender_kind=SenderKind.AGENT,
        )
        rich = session.get(OutboxMessage, envelopes[-1].outbox_id)
        assert rich is not None
        # The API's retry builds its envelope from the ORM row: choices and media kept.
        assert envelope_of(rich) == envelopes[-1]
    written = _written(runtime, key)
    assert written["messages"][-1] == (
        SenderKind.AGENT,
        "Te escribo yo",
        "es",
        None,
        None,
        None,
        0,
        "pending",
        None,
        None,
        None,
    )
    assert written["outbox"][-1][4] == {"text": "Te escribo yo", "client_message_id": "c-1"}
    status, _, state, count = written["conversation"]
    assert status == ConversationStatus.WAITING_HUMAN and state["handoff_at"] and count == 4
    assert reply.envelope is not None and reply.envelope.text == "Te escribo yo"
