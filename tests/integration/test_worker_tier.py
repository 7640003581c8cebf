"""The worker tier on real PostgreSQL and Redis: shards shared out and taken over, the
fence that keeps a stale owner from committing, and kill -9 of a worker process."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from hablo.bootstrap import Runtime
from hablo.db.enums import InboxStatus
from hablo.db.models import InboxEvent as InboxRow
from hablo.demo import seed_salon
from hablo.engine.store import LockedConversation, TurnRecord
from hablo.worker.fencing import FencedStore, StaleShardOwner, raise_fence
from hablo.worker.shards import shard_of
from tests.integration.helpers import inbound
from tests.integration.worker_support import (  # noqa: F401 (fixtures)
    SHARDS,
    WAIT_S,
    hello_turn,
    in_test_worker,
    pg_runtime_fixture,
    prefix_fixture,
    start_bursts,
)


def test_shards_are_shared_fairly_and_given_back(pg_runtime: Runtime) -> None:
    a, b = in_test_worker(pg_runtime, "a"), in_test_worker(pg_runtime, "b")
    a.balance()
    assert sorted(a.held) == list(range(SHARDS))  # alone: everything
    b.balance()  # joins: the fair share is half, but nothing is free yet
    assert not b.held
    a.balance()  # gives up its surplus after the queued work of those shards ran
    assert len(a.held) == SHARDS // 2
    b.balance()
    assert len(b.held) == SHARDS // 2 and not set(a.held) & set(b.held)
    holders = a.leases.holders()
    assert {s for s, w in holders.items() if w == "a"} == set(a.held)
    assert {s for s, w in holders.items() if w == "b"} == set(b.held)
    # Every take raised the shard's fence: b's fences are newer than a's first ones.
    assert all(fence == 2 for fence in b.held.values())
    b.stop()  # a clean stop gives the shards back at once
    a.balance()
    assert sorted(a.held) == list(range(SHARDS))
    a.stop()
    for engine in (a.engine, b.engine):
        engine.dispatcher.stop()


def test_a_stale_owner_commits_nothing_and_waits_for_nobody(pg_runtime: Runtime) -> None:
    with pg_runtime.db.transaction() as session:
        tenant_id = seed_salon(session, "fenced", "Salón Cercado")
    message = inbound(tenant_id, "hola", peer="+5491155551111")
    shard = shard_of(message.key, SHARDS)
    inbox_id = pg_runtime.engine.store.accept(message).inbox_id

    old_held = {shard: raise_fence(pg_runtime.db, shard, "old", 5.0)}
    new_held = {shard: raise_fence(pg_runtime.db, shard, "new", 5.0)}  # taken over
    old = FencedStore(pg_runtime.db, lambda key: shard_of(key, SHARDS), old_held)
    new = FencedStore(pg_runtime.db, lambda key: shard_of(key, SHARDS), new_held)

    with pytest.raises(StaleShardOwner):
        old.process_turn(message.key, [inbox_id], hello_turn)  # type: ignore[arg-type]
    with pg_runtime.db.transaction() as session:
        assert session.get(InboxRow, inbox_id).status == InboxStatus.PENDING  # type: ignore[union-attr]
    claimed, replies = new.process_turn(message.key, [inbox_id], hello_turn)  # type: ignore[arg-type]
    assert claimed == (inbox_id,) and len(replies) == 1


def test_taking_a_shard_waits_for_the_old_owners_turn_in_flight(pg_runtime: Runtime) -> None:
    """Two workers never run turns of one shard at once: the new owner's fence waits
    for the old owner's turn to commit, and the old owner's next turn fails."""
    with pg_runtime.db.transaction() as session:
        tenant_id = seed_salon(session, "handover", "Salón Traspaso")
    first = inbound(tenant_id, "hola", peer="+5491155552222")
    second = inbound(tenant_id, "precios", peer="+5491155552222")
    shard = shard_of(first.key, SHARDS)
    ids = [pg_runtime.engine.store.accept(m).inbox_id for m in (first, second)]
    held = {shard: raise_fence(pg_runtime.db, shard, "old", 5.0)}
    old = FencedStore(pg_runtime.db, lambda key: shard_of(key, SHARDS), held)

    in_turn, finish = threading.Event(), threading.Event()

    def slow(
        conversation: LockedConversation, conn: object, claimed: tuple[int, ...]
    ) -> TurnRecord:
        in_turn.set()
        assert finish.wait(WAIT_S)
        return hello_turn(conversation, conn, claimed)

    turn = threading.Thread(target=lambda: old.process_turn(first.key, [ids[0]], slow))  # type: ignore[arg-type]
    turn.start()
    assert in_turn.wait(WAIT_S)
    fences: list[int] = []
    taker = threading.Thread(
        target=lambda: fences.append(raise_fence(pg_runtime.db, shard, "new", WAIT_S))
    )
    taker.start()
    time.sleep(0.5)  # room for a wrong, unfenced take to finish early
    assert not fences, "the fence moved while the old owner's turn was in flight"
    finish.set()
    turn.join(WAIT_S)
    taker.join(WAIT_S)
    assert fences == [held[shard] + 1]
    with pytest.raises(StaleShardOwner):
        old.process_turn(second.key, [ids[1]], hello_turn)  # type: ignore[arg-type]
    with pg_runtime.db.transaction() as session:
        statuses = dict(session.execute(select(InboxRow.id, InboxRow.status)).all())
    assert statuses == {ids[0]: InboxStatus.PROCESSED, ids[1]: InboxStatus.PENDING}


def test_kill_9_of_a_worker_loses_nothing_answers_once_keeps_order(
    pg_runtime: Runtime,
) -> None:
    from hablo.bench import BenchOptions, run_bench

    settings = pg_runtime.settings.model_copy(update={"shards": 64, "shard_lease_s": 3.0})
    report = run_bench(
        settings,
        BenchOptions(
            conversations=60, messages=5, wide_conversations=0, rate=40, workers=2, kill_one=True
        ),
        progress=lambda line: None,
    )
    assert report["kill_lost"] == 0
    assert report["kill_duplicated"] == 0
    assert report["kill_out_of_order"] == 0
    assert report["lost"] == 0 and report["out_of_order"] == 0 and report["duplicated"] == 0
    assert report["takeover_s"] <= 10.0, report


def test_bursts_keep_their_order_across_a_kill_9(pg_runtime: Runtime) -> None:
    """Customers who write several messages without waiting: after one worker is
    killed (-9) mid-way, every message is answered once, each conversation in order."""
    bursts = start_bursts(pg_runtime, "bursts", 2, "+54911666")
    try:
        bursts.cluster.start()
        bursts.burst(("hola", "precios", "dónde están"))
        bursts.wait_answered(30)
        bursts.cluster.kill_busiest()
        bursts.burst(("horarios", "gracias"))
        bursts.wait_answered()
        # A resent reply (same row) is not a second answer.
        assert bursts.cluster.counts.duplicated == 0
        bursts.assert_in_order()
    finally:
        bursts.cluster.close()


def test_a_worker_joining_under_load_takes_its_share_without_resends(pg_runtime: Runtime) -> None:
    """Shards handed over cleanly (a worker joins): the old owner's replies go out before
    its lease goes, so the new owner resends nothing, and order holds."""
    bursts = start_bursts(pg_runtime, "joining", 1, "+54911777")
    cluster = bursts.cluster
    try:
        cluster.start()
        bursts.burst(("hola", "precios", "dónde están"))
        cluster.spawn(1)  # joins while the first worker is busy with the bursts
        bursts.burst(("horarios", "gracias"))
        cluster.wait_balanced(cluster.live_ids())
        bursts.burst(("chau",))
        bursts.wait_answered()
        assert cluster.counts.duplicated == 0
        assert cluster.counts.resent == 0
        bursts.assert_in_order()
    finally:
        cluster.close()
