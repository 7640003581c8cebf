"""Periodic jobs and follow-up writes in the worker tier (real PostgreSQL and Redis): a
job acts only on the conversations of the shards its process holds, and every write of a
conversation outside a turn commits under the shard's fence."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hablo.bootstrap import Runtime
from hablo.db.base import utcnow
from hablo.db.enums import ConversationStatus
from hablo.db.models import Conversation, Message
from hablo.demo import seed_salon
from hablo.engine.messages import ConversationKey
from hablo.skills.handoff_timeout import release_expired_handoffs
from hablo.worker.fencing import StaleShardOwner, raise_fence
from hablo.worker.worker import ShardWorker
from tests.fakes import CollectingSender
from tests.integration.worker_support import (  # noqa: F401 (fixtures)
    SHARDS,
    in_test_worker,
    pg_runtime_fixture,
    prefix_fixture,
)


def _two_workers(rt: Runtime) -> tuple[ShardWorker, ShardWorker]:
    """Workers a and b holding half the shards each, both sending on the console."""
    a, b = in_test_worker(rt, "a"), in_test_worker(rt, "b")
    for worker in (a, b):
        worker.engine.add_sender(CollectingSender("console"))
    a.balance()
    b.balance()
    a.balance()
    b.balance()
    assert len(a.held) == len(b.held) == SHARDS // 2
    return a, b


def _peer_in(worker: ShardWorker, tenant_id: uuid.UUID) -> ConversationKey:
    """A customer whose conversation lands in one of the worker's shards."""
    for n in range(1000):
        key = ConversationKey(tenant_id, "console", f"+54911444{n:05d}")
        if worker.shard_of(key) in worker.held:
            return key
    raise AssertionError("no peer found for the worker's shards")


def _waiting_since_long_ago(rt: Runtime, key: ConversationKey) -> uuid.UUID:
    """A conversation handed to a person 61 minutes ago (the timeout is 60)."""
    store = rt.engine.store
    with rt.db.begin() as conn:
        conversation = store.open_live(conn, key, "")
        conn.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(
                status=ConversationStatus.WAITING_HUMAN,
                state={"handoff_at": (utcnow() - timedelta(minutes=61)).isoformat()},
            )
        )
    return conversation.id


def _status(rt: Runtime, conversation_id: uuid.UUID) -> ConversationStatus:
    with rt.db.transaction() as session:
        found = session.scalar(
            select(Conversation.status).where(Conversation.id == conversation_id)
        )
    assert found is not None
    return found


def _release(worker: ShardWorker) -> int:
    engine = worker.engine
    return release_expired_handoffs(
        engine.store, engine.dispatcher.enqueue, engine.tenant_services, engine.owns
    )


def test_the_handoff_job_releases_only_its_own_shards_conversations(pg_runtime: Runtime) -> None:
    with pg_runtime.db.transaction() as session:
        tenant_id = seed_salon(session, "jobs", "Salón Tareas")
    a, b = _two_workers(pg_runtime)
    try:
        of_a = _waiting_since_long_ago(pg_runtime, _peer_in(a, tenant_id))
        of_b = _waiting_since_long_ago(pg_runtime, _peer_in(b, tenant_id))
        assert _release(a) == 1
        assert _status(pg_runtime, of_a) == ConversationStatus.OPEN
        assert _status(pg_runtime, of_b) == ConversationStatus.WAITING_HUMAN  # b's to do
        assert _release(b) == 1
        assert _status(pg_runtime, of_b) == ConversationStatus.OPEN
    finally:
        for worker in (a, b):
            worker.engine.dispatcher.stop()


def test_a_job_of_a_stale_owner_writes_nothing(pg_runtime: Runtime) -> None:
    """The shard was taken over (its fence raised) before the old owner noticed: the old
    owner's job run commits nothing for it; the conversation waits for the new owner."""
    with pg_runtime.db.transaction() as session:
        tenant_id = seed_salon(session, "stalejob", "Salón Viejo")
    a, b = _two_workers(pg_runtime)
    try:
        key = _peer_in(a, tenant_id)
        waiting = _waiting_since_long_ago(pg_runtime, key)
        raise_fence(pg_runtime.db, a.shard_of(key), "someone-else", 5.0)
        assert _release(a) == 0
        assert _status(pg_runtime, waiting) == ConversationStatus.WAITING_HUMAN
        with pg_runtime.db.transaction() as session:
            assert session.scalar(select(Message.id).limit(1)) is None
    finally:
        for worker in (a, b):
            worker.engine.dispatcher.stop()


def test_a_follow_up_of_a_stale_owner_commits_nothing(pg_runtime: Runtime) -> None:
    with pg_runtime.db.transaction() as session:
        tenant_id = seed_salon(session, "stalefollow", "Salón Seguimiento")
    a = in_test_worker(pg_runtime, "a")
    try:
        a.balance()
        key = _peer_in(a, tenant_id)
        with pg_runtime.db.begin() as conn:
            pg_runtime.engine.store.open_live(conn, key, "")
        raise_fence(pg_runtime.db, a.shard_of(key), "someone-else", 5.0)
        recorded: list[str] = []

        def record(conn: object) -> tuple[str, ...]:
            recorded.append("ran")
            return ("tu link de pago: https://pay.example/x",)

        with pytest.raises(StaleShardOwner):
            a.engine.store.commit_followup(key, "payment", record)  # type: ignore[arg-type]
        with pg_runtime.db.transaction() as session:
            assert session.scalar(select(Message.id).limit(1)) is None
    finally:
        a.engine.dispatcher.stop()


def test_jobs_run_per_conversation_on_every_worker_and_wide_ones_on_one(
    pg_runtime: Runtime,
) -> None:
    a, b = _two_workers(pg_runtime)
    try:
        leader = a if 0 in a.held else b
        other = b if leader is a else a
        for worker in (a, b):
            assert worker.engine.runs_jobs()  # both hold shards: both run reminders
        assert leader.engine.leads_jobs() and not other.engine.leads_jobs()
        idle = in_test_worker(pg_runtime, "idle")  # holds nothing: runs nothing
        assert not idle.engine.runs_jobs()
        idle.engine.dispatcher.stop()
    finally:
        for worker in (a, b):
            worker.engine.dispatcher.stop()
