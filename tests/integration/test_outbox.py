"""Outbox delivery: retries with backoff, dead letters, order behind a retrying reply."""

from __future__ import annotations

import threading
import time
import uuid

from sqlalchemy import select

from hablo.bootstrap import Runtime
from hablo.db.enums import DeliveryStatus, OutboxStatus
from hablo.db.models import Message, OutboxMessage
from hablo.engine.outbox import RetryPolicy
from tests.fakes import CollectingSender, permanent, transient
from tests.integration.helpers import inbound, start_collecting


def _outbox(runtime: Runtime) -> list[OutboxMessage]:
    with runtime.db.transaction() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_transient_failures_are_retried_then_sent_once(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    sender = CollectingSender("console", fail=lambda env, n: transient() if n <= 2 else None)
    turns = start_collecting(runtime, sender)
    result = runtime.engine.submit(inbound(demo_tenant_id, "hola"))
    turns.wait_for([result.inbox_id])
    [row] = _outbox(runtime)
    assert row.status == OutboxStatus.SENT
    assert row.attempts == 3
    assert row.provider_message_id == f"fake-{row.id}"
    assert len(sender.sent) == 1


def test_permanent_failure_is_dead_lettered_without_retry(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    sender = CollectingSender("console", fail=lambda env, n: permanent("400 invalid recipient"))
    start_collecting(runtime, sender)
    runtime.engine.submit(inbound(demo_tenant_id, "hola"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _outbox(runtime)[:1] == []:
        time.sleep(0.05)
    while time.monotonic() < deadline and _outbox(runtime)[0].status != OutboxStatus.DEAD:
        time.sleep(0.05)
    [row] = _outbox(runtime)
    assert row.status == OutboxStatus.DEAD
    assert row.attempts == 1
    assert row.last_error is not None and "400 invalid recipient" in row.last_error
    with runtime.db.transaction() as session:
        status = session.scalar(select(Message.status).where(Message.id == row.message_id))
    assert status == DeliveryStatus.FAILED


def test_exhausted_retries_dead_letter_and_later_replies_still_flow(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    broken = threading.Event()
    broken.set()
    sender = CollectingSender(
        "console", fail=lambda env, n: transient() if broken.is_set() else None
    )
    turns = start_collecting(runtime, sender)
    first = runtime.engine.submit(inbound(demo_tenant_id, "hola"))
    turns.wait_for([first.inbox_id], timeout=20)  # turn marker passes once dead-lettered
    [row] = _outbox(runtime)
    assert row.status == OutboxStatus.DEAD
    assert row.attempts == runtime.settings.outbox_max_attempts
    broken.clear()
    second = runtime.engine.submit(inbound(demo_tenant_id, "precios"))
    turns.wait_for([second.inbox_id])
    assert [r.status for r in _outbox(runtime)] == [OutboxStatus.DEAD, OutboxStatus.SENT]


def test_a_retrying_reply_holds_back_its_conversation_only(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    slow_peer = "+5491100000001"
    fast_peer = "+5491100000002"
    sender = CollectingSender(
        "console", fail=lambda env, n: transient() if env.peer == slow_peer and n <= 3 else None
    )
    turns = start_collecting(runtime, sender)
    a1 = runtime.engine.submit(inbound(demo_tenant_id, "hola", peer=slow_peer))
    a2 = runtime.engine.submit(inbound(demo_tenant_id, "precios", peer=slow_peer))
    b1 = runtime.engine.submit(inbound(demo_tenant_id, "hola", peer=fast_peer))
    turns.wait_for([a1.inbox_id, a2.inbox_id, b1.inbox_id])
    order = [e.peer for e in sender.sent]
    assert order.index(fast_peer) < order.index(slow_peer)  # B was not held back
    slow = [e.inbox_ids for e in sender.sent if e.peer == slow_peer]
    assert slow == [(a1.inbox_id,), (a2.inbox_id,)]  # A kept its order


def test_retry_policy_backs_off_honours_retry_after_and_gives_up() -> None:
    policy = RetryPolicy(max_attempts=4, base_s=1.0, max_s=3.0)
    delays = [policy.delay(n, None) for n in (1, 2, 3)]
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0 and 1.5 <= delays[2] <= 3.0
    assert policy.delay(1, retry_after=30.0) == 30.0
    assert policy.delay(4, None) is None
