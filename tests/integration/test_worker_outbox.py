"""The outbox across processes: a shard's retries stay with its owner, a row is marked
sent only while it is pending, and recovery keeps a reply's back-off (so a new owner does
not resend at once what the old one scheduled for later)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update

from hablo.bootstrap import Runtime
from hablo.db.base import utcnow
from hablo.db.enums import DeliveryStatus, OutboxStatus
from hablo.db.models import Message, OutboxMessage
from hablo.demo import seed_salon
from hablo.engine.messages import OutboundEnvelope
from hablo.engine.ports import TransientSendError
from hablo.engine.store import ConversationStore
from tests.e2e.server import wait_until
from tests.fakes import CollectingSender
from tests.integration.helpers import inbound, start_collecting
from tests.integration.worker_support import (  # noqa: F401 (fixtures)
    WAIT_S,
    hello_turn,
    in_test_worker,
    pg_runtime_fixture,
    prefix_fixture,
)


def _committed_reply(
    store: ConversationStore, tenant_id: uuid.UUID, peer: str
) -> tuple[tuple[int, ...], OutboundEnvelope]:
    """A turn committed through `store`: its inbox ids and its one reply."""
    message = inbound(tenant_id, "hola", peer=peer)
    inbox_id = store.accept(message).inbox_id
    claimed, [reply] = store.process_turn(message.key, [inbox_id], hello_turn)  # type: ignore[arg-type]
    return claimed, reply


def _row(rt: Runtime, outbox_id: int) -> OutboxMessage:
    with rt.db.transaction() as session:
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        session.expunge(row)
        return row


def test_a_lost_shards_retries_are_not_sent_by_the_old_owner(pg_runtime: Runtime) -> None:
    with pg_runtime.db.transaction() as session:
        tenant_id = seed_salon(session, "lostretry", "Salón Reintento")
    sender = CollectingSender(
        "console",
        fail=lambda env, n: TransientSendError("503", retry_after=1.0) if n == 1 else None,
    )
    worker = in_test_worker(pg_runtime, "old")
    worker.engine.add_sender(sender)
    try:
        worker.balance()
        claimed, reply = _committed_reply(worker.engine.store, tenant_id, "+5491155553333")
        worker.engine.dispatcher.enqueue(reply.key, [reply], claimed)
        wait_until(lambda: sender.attempts.get(reply.outbox_id) == 1, WAIT_S, what="the first try")
        wait_until(
            lambda: _row(pg_runtime, reply.outbox_id).attempts == 1, WAIT_S, what="its record"
        )
        # The lease ran out while the reply waited for its retry.
        worker._give_up([worker.shard_of(reply.key)], graceful=False)
        retry_at = _row(pg_runtime, reply.outbox_id).next_attempt_at
        wait_until(lambda: utcnow() > retry_at + timedelta(seconds=0.5), WAIT_S, what="retry time")
        worker.flush_outbox(WAIT_S)  # the dispatcher ran what was due by now
        assert sender.attempts[reply.outbox_id] == 1, "the old owner retried a lost shard's reply"
        assert not sender.sent
        assert _row(pg_runtime, reply.outbox_id).status == OutboxStatus.PENDING  # new owner's
    finally:
        worker.engine.dispatcher.stop()


def test_a_row_is_marked_sent_only_while_pending(runtime: Runtime) -> None:
    store = runtime.engine.store
    with runtime.db.transaction() as session:
        tenant_id = seed_salon(session, "marks", "Salón Marcas")
    _, first = _committed_reply(store, tenant_id, "+5491155554444")
    _, second = _committed_reply(store, tenant_id, "+5491155555555")
    assert store.mark_sent([(first.outbox_id, "p-1")]) == {first.outbox_id}
    # Sent again by a process that did not know (a shard handover): not marked twice.
    assert store.mark_sent([(first.outbox_id, "p-2")]) == set()
    row = _row(runtime, first.outbox_id)
    assert (row.status, row.attempts, row.provider_message_id) == (OutboxStatus.SENT, 1, "p-1")
    # A failure recorded late by another process does not undo the send.
    store.mark_failed_attempt(first.outbox_id, 2, "503", None)
    row = _row(runtime, first.outbox_id)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
    with runtime.db.transaction() as session:
        status = session.scalar(select(Message.status).where(Message.id == row.message_id))
    assert status == DeliveryStatus.SENT
    # A dead-lettered row is not revived by a late send either.
    store.mark_failed_attempt(second.outbox_id, 1, "400", None)
    assert store.mark_sent([(second.outbox_id, "p-3")]) == set()
    assert _row(runtime, second.outbox_id).status == OutboxStatus.DEAD


def test_recovery_keeps_a_replys_back_off(runtime: Runtime) -> None:
    """A reply waiting for its retry when the process stopped (or its shard moved) is
    sent when its back-off ends, not at once by the process that recovers it."""
    store = runtime.engine.store
    with runtime.db.transaction() as session:
        tenant_id = seed_salon(session, "backoff", "Salón Espera")
    _, reply = _committed_reply(store, tenant_id, "+5491155556666")
    retry_at = utcnow() + timedelta(seconds=3)
    with runtime.db.begin() as conn:
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == reply.outbox_id)
            .values(attempts=1, next_attempt_at=retry_at, last_error="503")
        )
    tried: list[datetime] = []
    sender = CollectingSender("console", fail=lambda env, n: tried.append(utcnow()))  # type: ignore[func-returns-value]
    start_collecting(runtime, sender)  # starting recovers the pending reply
    sender.wait_for(1, WAIT_S)
    assert tried[0] >= retry_at, f"resent {retry_at - tried[0]} before its back-off ended"
    wait_until(
        lambda: _row(runtime, reply.outbox_id).status == OutboxStatus.SENT,
        WAIT_S,
        what="the sent mark",
    )
    assert _row(runtime, reply.outbox_id).attempts == 2
