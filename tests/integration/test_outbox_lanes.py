"""The outbox sends in lanes (a tenant's replies on one channel): a blocked lane holds
back only itself, a conversation's replies never overlap nor swap, at most `lanes` lanes
send at once, retries and the shutdown flush still work. Real rows on SQLite and
PostgreSQL, written by the real turn transaction (no NLU: a fixed "hola!" turn)."""

from __future__ import annotations

import random
import threading
import uuid
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hablo.bootstrap import Runtime
from hablo.db.enums import OutboxStatus
from hablo.db.models import OutboxMessage
from hablo.demo import seed_salon
from hablo.engine.messages import ConversationKey, OutboundEnvelope
from hablo.engine.outbox import OutboxDispatcher, RetryPolicy
from hablo.engine.ports import ChannelSender, SendReceipt, TransientSendError
from tests.e2e.server import wait_until
from tests.integration.helpers import DeliveredTurns, inbound, start_collecting
from tests.integration.worker_support import WAIT_S, hello_turn

FAST_RETRIES = RetryPolicy(max_attempts=5, base_s=0.01, max_s=0.05)
# A marker of no conversation (the worker's flush before it gives shards up).
FLUSH_KEY = ConversationKey(uuid.UUID(int=0), "-", "-")


class GatedSender(ChannelSender):
    """Records every send's start and end in one event list; a tenant's sends wait while
    its gate is closed; the first `failures[outbox_id]` attempts of a reply fail."""

    channel = "console"

    def __init__(self, failures: dict[int, int] | None = None, pause_s: float = 0.0) -> None:
        self.events: list[tuple[str, int]] = []
        self.gates: dict[uuid.UUID, threading.Event] = {}
        self.failures = failures or {}
        self.pause_s = pause_s
        self.overlaps: list[str] = []  # problems seen by the sender itself
        self.most_at_once = 0
        self._attempts: dict[int, int] = defaultdict(int)
        self._in_flight: dict[object, int] = defaultdict(int)
        self._lock = threading.Lock()

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        lane = (envelope.channel, envelope.tenant_id)
        with self._lock:
            self.events.append(("start", envelope.outbox_id))
            self._in_flight[lane] += 1
            if self._in_flight[lane] > 1:
                self.overlaps.append(f"two sends at once in lane of {envelope.tenant_id}")
            self.most_at_once = max(self.most_at_once, sum(self._in_flight.values()))
            self._attempts[envelope.outbox_id] += 1
            failing = self._attempts[envelope.outbox_id] <= self.failures.get(envelope.outbox_id, 0)
        try:
            gate = self.gates.get(envelope.tenant_id)
            if gate is not None:
                assert gate.wait(WAIT_S), "the test never opened the gate"
            if self.pause_s:
                threading.Event().wait(random.uniform(0, self.pause_s))
            if failing:
                raise TransientSendError("503 try later")
        finally:
            with self._lock:
                self._in_flight[lane] -= 1
        with self._lock:
            self.events.append(("sent", envelope.outbox_id))
        return SendReceipt(provider_message_id=f"gated-{envelope.outbox_id}")

    def seen(self, event: tuple[str, int]) -> bool:
        with self._lock:
            return event in self.events

    def index(self, event: tuple[str, int]) -> int:
        with self._lock:
            return self.events.index(event)


class Reply:
    """One committed turn and its one reply."""

    def __init__(self, rt: Runtime, tenant_id: uuid.UUID, peer: str) -> None:
        message = inbound(tenant_id, "hola", peer=peer)
        inbox_id = rt.engine.store.accept(message).inbox_id
        claimed, [envelope] = rt.engine.store.process_turn(message.key, [inbox_id], hello_turn)
        self.inbox_ids = claimed
        self.envelope = envelope
        self.id = envelope.outbox_id

    def enqueue(self, dispatcher: OutboxDispatcher) -> None:
        dispatcher.enqueue(self.envelope.key, [self.envelope], self.inbox_ids)


@pytest.fixture
def tenants(runtime: Runtime) -> list[uuid.UUID]:
    with runtime.db.transaction() as session:
        return [seed_salon(session, f"lane{n}", f"Salón {n}") for n in range(3)]


def _dispatcher(
    rt: Runtime, sender: GatedSender, lanes: int
) -> tuple[OutboxDispatcher, DeliveredTurns]:
    turns = DeliveredTurns()
    dispatcher = OutboxDispatcher(rt.engine.store, {"console": sender}, FAST_RETRIES, lanes=lanes)
    dispatcher.add_listener(turns)
    dispatcher.start()
    return dispatcher, turns


def _blocked_on(
    rt: Runtime, tenant: uuid.UUID
) -> tuple[GatedSender, OutboxDispatcher, DeliveredTurns]:
    """A dispatcher (4 lanes) whose sender holds `tenant`'s sends until its gate opens."""
    sender = GatedSender()
    sender.gates[tenant] = threading.Event()
    return (sender, *_dispatcher(rt, sender, lanes=4))


def _statuses(rt: Runtime, *replies: Reply) -> list[OutboxStatus]:
    with rt.db.transaction() as session:
        rows = {r.id: r for r in session.scalars(select(OutboxMessage))}
        return [rows[reply.id].status for reply in replies]


def test_a_blocked_lane_holds_back_only_its_own_replies(
    runtime: Runtime, tenants: list[uuid.UUID]
) -> None:
    slow, fast = tenants[0], tenants[1]
    gated, dispatcher, turns = _blocked_on(runtime, slow)
    try:
        a1 = Reply(runtime, slow, "+5491100000001")
        a2 = Reply(runtime, slow, "+5491100000002")  # same lane, another conversation
        b1 = Reply(runtime, fast, "+5491100000003")
        a1.enqueue(dispatcher)
        wait_until(lambda: gated.seen(("start", a1.id)), WAIT_S, what="a1's send to start")
        a2.enqueue(dispatcher)
        b1.enqueue(dispatcher)
        turns.wait_for(b1.inbox_ids, WAIT_S)
        # Tenant B's reply went out while tenant A's sender is still blocked.
        assert gated.seen(("sent", b1.id))
        assert not gated.seen(("sent", a1.id))
        assert not gated.seen(("start", a2.id))  # its lane sends one at a time
        gated.gates[slow].set()
        turns.wait_for(a1.inbox_ids + a2.inbox_ids, WAIT_S)
        assert gated.index(("sent", a1.id)) < gated.index(("start", a2.id))
        assert _statuses(runtime, a1, a2, b1) == [OutboxStatus.SENT] * 3
        assert gated.overlaps == []
    finally:
        gated.gates[slow].set()
        dispatcher.stop()


def test_no_more_lanes_send_at_once_than_the_cap(
    runtime: Runtime, tenants: list[uuid.UUID], demo_tenant_id: uuid.UUID
) -> None:
    gated = GatedSender()
    everyone = [demo_tenant_id, *tenants]
    for tenant in everyone:
        gated.gates[tenant] = threading.Event()
    dispatcher, turns = _dispatcher(runtime, gated, lanes=2)
    replies = [Reply(runtime, tenant, "+5491100000009") for tenant in everyone]
    try:
        for reply in replies:
            reply.enqueue(dispatcher)
        # Open one gate at a time, each only after two sends are under way.
        for released in range(len(everyone)):
            _release_one(gated, replies, min(released + 2, len(replies)))
        turns.wait_for([i for r in replies for i in r.inbox_ids], WAIT_S)
        assert gated.most_at_once == 2
    finally:
        for gate in gated.gates.values():
            gate.set()
        dispatcher.stop()


def test_a_flush_waits_for_every_lane_and_a_reply_in_back_off_waits_for_its_retry(
    runtime: Runtime, tenants: list[uuid.UUID]
) -> None:
    slow, retrying = tenants[0], tenants[1]
    sender, dispatcher, turns = _blocked_on(runtime, slow)
    try:
        a1 = Reply(runtime, slow, "+5491100000011")
        r1 = Reply(runtime, retrying, "+5491100000012")
        r2 = Reply(runtime, retrying, "+5491100000012")  # same conversation, after r1
        sender.failures[r1.id] = 2
        a1.enqueue(dispatcher)
        wait_until(lambda: sender.seen(("start", a1.id)), WAIT_S, what="a1's send to start")
        r1.enqueue(dispatcher)
        r2.enqueue(dispatcher)
        dispatcher.enqueue(FLUSH_KEY, [], (-1,))
        turns.wait_for(r1.inbox_ids + r2.inbox_ids, WAIT_S)
        assert -1 not in turns.order  # a1 is still being sent
        assert sender.events.count(("start", r1.id)) == 3  # two failures, then sent
        assert sender.index(("sent", r1.id)) < sender.index(("start", r2.id))
        sender.gates[slow].set()
        turns.wait_for([-1], WAIT_S)
        assert turns.order.index(a1.inbox_ids[0]) < turns.order.index(-1)
        assert _statuses(runtime, a1, r1, r2) == [OutboxStatus.SENT] * 3
    finally:
        sender.gates[slow].set()
        dispatcher.stop()


def test_stop_sends_what_every_lane_holds_and_leaves_retries_pending(
    runtime: Runtime, tenants: list[uuid.UUID]
) -> None:
    slow, other = tenants[0], tenants[1]
    sender, dispatcher, turns = _blocked_on(runtime, slow)
    a1 = Reply(runtime, slow, "+5491100000021")
    a2 = Reply(runtime, slow, "+5491100000022")
    b1 = Reply(runtime, other, "+5491100000023")
    failing = Reply(runtime, other, "+5491100000024")
    sender.failures[failing.id] = 100
    for reply in (a1, a2, failing, b1):
        reply.enqueue(dispatcher)
    wait_until(lambda: sender.seen(("start", a1.id)), WAIT_S, what="a1's send to start")
    stopper = threading.Thread(target=dispatcher.stop, kwargs={"timeout": WAIT_S})
    stopper.start()
    wait_until(lambda: sender.seen(("sent", b1.id)), WAIT_S, what="b1 sent while a1 blocks")
    assert stopper.is_alive()  # stop waits for the blocked lane
    sender.gates[slow].set()
    stopper.join(WAIT_S)
    assert not stopper.is_alive()
    assert _statuses(runtime, a1, a2, b1, failing) == [OutboxStatus.SENT] * 3 + [
        OutboxStatus.PENDING
    ]
    assert set(a1.inbox_ids + a2.inbox_ids + b1.inbox_ids) <= set(turns.order)


def test_a_stop_past_its_timeout_marks_the_send_in_flight_and_starts_no_other(
    runtime: Runtime, tenants: list[uuid.UUID]
) -> None:
    """A reply that went out must be marked sent before the process may exit (the next
    start would send it again); once the stop's time is up nothing else starts, and a
    turn that commits after the stop leaves its reply pending for the next start."""
    slow, other = tenants[0], tenants[1]
    sender, dispatcher, _ = _blocked_on(runtime, slow)
    a1 = Reply(runtime, slow, "+5491100000031")
    a2 = Reply(runtime, slow, "+5491100000032")
    for reply in (a1, a2):
        reply.enqueue(dispatcher)
    wait_until(lambda: sender.seen(("start", a1.id)), WAIT_S, what="a1's send to start")
    stopper = threading.Thread(target=dispatcher.stop, kwargs={"timeout": 0.2})
    stopper.start()
    late = Reply(runtime, other, "+5491100000033")
    late.enqueue(dispatcher)  # committed after the stop began
    # Well past the timeout, the stop still waits for the send in flight.
    stopper.join(2.0)
    assert stopper.is_alive()
    sender.gates[slow].set()
    stopper.join(WAIT_S)
    assert not stopper.is_alive()
    assert sender.seen(("sent", a1.id))
    assert not sender.seen(("start", a2.id)) and not sender.seen(("start", late.id))
    assert _statuses(runtime, a1, a2, late) == [
        OutboxStatus.SENT,
        OutboxStatus.PENDING,
        OutboxStatus.PENDING,
    ]


def _release_one(gated: GatedSender, replies: list[Reply], started: int) -> None:
    """Once `started` sends have begun, let one of those still blocked finish."""

    def sending() -> list[Reply]:
        return [r for r in replies if gated.seen(("start", r.id))]

    wait_until(lambda: len(sending()) >= started, WAIT_S, what=f"{started} sends begun")
    blocked = next(r for r in sending() if not gated.seen(("sent", r.id)))
    gated.gates[blocked.envelope.tenant_id].set()
    wait_until(lambda: gated.seen(("sent", blocked.id)), WAIT_S, what="the released send")


# Each reply of the plan: (tenant, customer, failed attempts before it goes out).
PLAN = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=12
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=PLAN, lanes=st.integers(1, 3))
def test_each_conversation_keeps_its_order_and_a_lane_never_sends_twice_at_once(
    runtime: Runtime, tenants: list[uuid.UUID], plan: list[tuple[int, int, int]], lanes: int
) -> None:
    replies = [Reply(runtime, tenants[t], f"+54911000{p:05d}") for t, p, _ in plan]
    sender = GatedSender(
        {r.id: fails for r, (_, _, fails) in zip(replies, plan, strict=True)}, 0.003
    )
    dispatcher, turns = _dispatcher(runtime, sender, lanes)
    try:
        for reply in replies:
            reply.enqueue(dispatcher)
        turns.wait_for([i for r in replies for i in r.inbox_ids], WAIT_S)
    finally:
        dispatcher.stop()
    assert sender.overlaps == []
    assert sender.most_at_once <= lanes
    sent = [outbox_id for kind, outbox_id in sender.events if kind == "sent"]
    assert sorted(sent) == sorted(r.id for r in replies)  # each once
    by_conversation: dict[ConversationKey, list[int]] = defaultdict(list)
    key_of = {r.id: r.envelope.key for r in replies}
    for outbox_id in sent:
        by_conversation[key_of[outbox_id]].append(outbox_id)
    for order in by_conversation.values():
        assert order == sorted(order)  # commit order
    assert set(_statuses(runtime, *replies)) == {OutboxStatus.SENT}


def test_through_the_engine_a_tenant_blocked_in_its_send_does_not_delay_another(
    runtime: Runtime, demo_tenant_id: uuid.UUID, tenants: list[uuid.UUID]
) -> None:
    sender = GatedSender()
    sender.gates[demo_tenant_id] = threading.Event()
    turns = start_collecting(runtime, sender)
    try:
        held = runtime.engine.submit(inbound(demo_tenant_id, "hola"))
        wait_until(lambda: sender.events, WAIT_S, what="the demo tenant's send to start")
        other = runtime.engine.submit(inbound(tenants[0], "hola"))
        turns.wait_for([other.inbox_id], WAIT_S)
        assert held.inbox_id not in turns.order  # its send is still blocked
        blocked = sender.events[0][1]  # the demo tenant's reply, not sent yet; B's was
        assert not sender.seen(("sent", blocked))
        assert any(kind == "sent" for kind, _ in sender.events)
        sender.gates[demo_tenant_id].set()
        turns.wait_for([held.inbox_id], WAIT_S)
        assert turns.order.index(other.inbox_id) < turns.order.index(held.inbox_id)
    finally:
        sender.gates[demo_tenant_id].set()
