"""Rewording a committed turn's pending replies before they are sent (LLM mode's phrasing),
on SQLite and PostgreSQL: one text per reply keeps each row's choices; one text for
several replies is kept on the last row (with the inbox ids it answers) and the others are
deleted unsent; replies no longer pending are not touched."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from hablo.bootstrap import Runtime
from hablo.db.base import utcnow
from hablo.db.models import Conversation, Message, OutboxMessage
from hablo.demo import seed_salon
from hablo.engine.messages import OutboundEnvelope
from hablo.engine.store import LockedConversation, TurnRecord
from tests.integration.helpers import inbound


def _two_replies(
    rt: Runtime, tenant_id: uuid.UUID
) -> tuple[tuple[int, ...], list[OutboundEnvelope]]:
    def compute(
        conversation: LockedConversation, conn: object, claimed: tuple[int, ...]
    ) -> TurnRecord:
        return TurnRecord(
            inbox_ids=claimed,
            inbound=(("precios y horarios", utcnow()),),
            language="es",
            intent="pricing",
            confidence=1.0,
            skill="pricing",
            replies=("Corte: $8.000.", "¿Querés un turno?"),
            new_state=None,
            reply_extras=(None, {"choices": ["sí", "no"]}),
        )

    message = inbound(tenant_id, "precios y horarios", peer="+5491155557777")
    store = rt.engine.store
    inbox_id = store.accept(message).inbox_id
    return store.process_turn(message.key, [inbox_id], compute)  # type: ignore[arg-type]


def _rows(rt: Runtime) -> list[tuple[int, str, dict[str, object]]]:
    with rt.db.transaction() as session:
        return [
            (row.id, row.body, dict(row.payload))
            for row in session.execute(
                select(OutboxMessage.id, Message.body, OutboxMessage.payload)
                .join(Message, Message.id == OutboxMessage.message_id)
                .order_by(OutboxMessage.id)
            )
        ]


def _message_count(rt: Runtime) -> tuple[int, int]:
    with rt.db.transaction() as session:
        counted = session.scalar(select(Conversation.message_count))
        written = len(session.scalars(select(Message.id)).all())
    return int(counted or 0), written


def test_one_text_per_reply_keeps_each_rows_choices(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        tenant_id = seed_salon(session, "reword", "Salón Palabras")
    claimed, written = _two_replies(runtime, tenant_id)
    used: list[str] = []
    sent = runtime.engine.store.reword_replies(
        written[0].key,
        written,
        ("El corte sale $8.000.", "¿Te reservo?"),
        lambda c: used.append("x"),
    )
    assert used == ["x"]
    assert [(e.outbox_id, e.text, e.choices, e.inbox_ids) for e in sent] == [
        (written[0].outbox_id, "El corte sale $8.000.", (), ()),
        (written[1].outbox_id, "¿Te reservo?", ("sí", "no"), claimed),
    ]
    assert [(i, body, p["text"]) for i, body, p in _rows(runtime)] == [
        (written[0].outbox_id, "El corte sale $8.000.", "El corte sale $8.000."),
        (written[1].outbox_id, "¿Te reservo?", "¿Te reservo?"),
    ]


def test_one_text_for_several_replies_is_kept_on_the_last_row(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        tenant_id = seed_salon(session, "merge", "Salón Junto")
    claimed, written = _two_replies(runtime, tenant_id)
    merged = "El corte sale $8.000. ¿Te reservo un turno?"
    [sent] = runtime.engine.store.reword_replies(written[0].key, written, (merged,), lambda c: None)
    assert (sent.outbox_id, sent.text, sent.choices, sent.inbox_ids) == (
        written[1].outbox_id,
        merged,
        (),
        claimed,
    )
    [(outbox_id, body, payload)] = _rows(runtime)
    assert (outbox_id, body, payload) == (
        written[1].outbox_id,
        merged,
        {"text": merged, "inbox_ids": list(claimed)},
    )
    counted, written_messages = _message_count(runtime)
    assert counted == written_messages == 2  # the customer's message and the merged reply


def test_replies_already_sent_are_not_reworded(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        tenant_id = seed_salon(session, "late", "Salón Tarde")
    _, written = _two_replies(runtime, tenant_id)
    store = runtime.engine.store
    store.mark_sent([(written[0].outbox_id, None)])  # sent meanwhile by whoever owned it
    assert store.reword_replies(written[0].key, written, ("a", "b"), lambda c: None) == []
    assert [body for _, body, _ in _rows(runtime)] == ["Corte: $8.000.", "¿Querés un turno?"]
