"""`hablo bench`: synthetic customers through the full path, measured.

Path: Engine.submit (inbox insert) -> TenantActor -> ConversationActor -> NLU -> skill ->
one transaction -> outbox -> a collecting channel. Customers behave like people: each
sends its next message only after the previous one was answered; a pacer offers load at
a fixed rate across all conversations (open loop), so latency is not inflated by an
artificial queue. Phase 1 runs N conversations x M messages; phase 2 touches many more
conversations once each, which forces passivation under the live-actor cap.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil
from sqlalchemy import delete

from hablo.adapters.base import ChannelSender, SendReceipt
from hablo.bootstrap import bootstrap
from hablo.config import Settings
from hablo.db.base import utcnow
from hablo.db.models import InboxEvent, OutboxMessage, Tenant
from hablo.demo import seed_salon
from hablo.engine.messages import InboundMessage, OutboundEnvelope

CHANNEL = "bench"
TEXTS = (
    "hola",
    "¿cuánto sale el corte?",
    "¿a qué hora abren el sábado?",
    "¿dónde están?",
    "precio de la manicura",
    "how much is a beard trim?",
    "muchas gracias!",
    "qué servicios tienen y a qué precio?",
    "what are your opening hours?",
    "jajaja",
)


@dataclass(frozen=True)
class BenchOptions:
    conversations: int = 1000
    messages: int = 5
    wide_conversations: int = 10000
    rate: float = 600.0
    drivers: int = 4

    def __post_init__(self) -> None:
        if self.conversations < 1 or self.messages < 1 or self.drivers < 1:
            raise ValueError("--conversations, --messages and --drivers must be at least 1")
        if self.wide_conversations < 0 or self.rate < 0:
            raise ValueError("--wide-conversations and --rate cannot be negative")


class NullSender(ChannelSender):
    """The collecting channel: accepts every reply (the turn listener does the counting)."""

    channel = CHANNEL

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        return SendReceipt(provider_message_id=None)


@dataclass
class _Conversation:
    peer: str
    remaining: int
    seq: int = 0


@dataclass
class _Phase:
    """Bookkeeping of one phase; the listener and the drivers update it concurrently."""

    conversations: list[_Conversation]
    ready: deque[_Conversation]
    total: int = 0
    sent_at: dict[int, tuple[_Conversation, int, float]] = field(default_factory=dict)
    # Replies that arrived before their driver registered the inbox id (submit returns
    # after the actor may already have answered).
    early: dict[int, float] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    last_seq: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    answered: int = 0
    out_of_order: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition)
    all_done: threading.Event = field(default_factory=threading.Event)

    def record(self, inbox_id: int, entry: tuple[_Conversation, int, float], now: float) -> None:
        """Count one answered message (caller holds the lock)."""
        conversation, seq, started = entry
        self.latencies_ms.append((now - started) * 1000)
        self.answered += 1
        if seq <= self.last_seq.get(conversation.peer, -1):
            self.out_of_order += 1
        self.last_seq[conversation.peer] = seq
        if conversation.remaining > 0:
            self.ready.append(conversation)
            self.lock.notify()
        if self.answered == self.total:
            self.all_done.set()


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def run_bench(
    settings: Settings, options: BenchOptions, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    runtime = bootstrap(settings)
    engine = runtime.engine
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    with runtime.db.transaction() as session:
        tenant_id = seed_salon(session, slug, "Bench Salon")
    engine.add_sender(NullSender())
    phase_box: list[_Phase] = []

    def on_turn(inbox_ids: tuple[int, ...]) -> None:
        now = time.perf_counter()
        phase = phase_box[-1] if phase_box else None
        if phase is None:
            return
        with phase.lock:
            for inbox_id in inbox_ids:
                entry = phase.sent_at.pop(inbox_id, None)
                if entry is None:
                    phase.early[inbox_id] = now
                else:
                    phase.record(inbox_id, entry, now)

    engine.add_turn_listener(on_turn)
    process = psutil.Process()
    peak_rss = [process.memory_info().rss]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(0.2):
            peak_rss[0] = max(peak_rss[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    engine.start()
    try:
        engine.build_runtime(tenant_id)  # train the NLU before the clock starts
        phase1 = _run_phase(
            engine, tenant_id, phase_box, "p1", options.conversations, options.messages, options
        )
        progress(_describe("phase 1", phase1, options))
        phase2 = None
        if options.wide_conversations > 0:
            phase2 = _run_phase(
                engine, tenant_id, phase_box, "p2", options.wide_conversations, 1, options
            )
            progress(_describe("phase 2", phase2, options))
    finally:
        sampling.set()
        engine.stop()
        _cleanup(runtime, tenant_id)  # also after a failure or Ctrl+C
        runtime.db.dispose()
    report = {
        "msgs_per_s": round(phase1["rate"], 1),
        "p50_ms": round(phase1["p50"], 2),
        "p99_ms": round(phase1["p99"], 2),
        "cpu_ms_per_msg": round(phase1["cpu_ms_per_msg"], 2),
        "peak_rss_mb": round(peak_rss[0] / 2**20, 1),
        "live_actors_max": engine.budget.peak,
        "live_actor_cap": settings.actor_max_live,
        "conversations": options.conversations + (options.wide_conversations if phase2 else 0),
        "messages": phase1["accepted"] + (phase2["accepted"] if phase2 else 0),
        "db": runtime.db.dialect,
        "offered_rate": options.rate,
        "lost": phase1["lost"] + (phase2["lost"] if phase2 else 0),
        "out_of_order": phase1["out_of_order"] + (phase2["out_of_order"] if phase2 else 0),
    }
    if phase2:
        report.update(
            wide_msgs_per_s=round(phase2["rate"], 1),
            wide_p50_ms=round(phase2["p50"], 2),
            wide_p99_ms=round(phase2["p99"], 2),
        )
    return report


def _describe(name: str, phase: dict[str, Any], options: BenchOptions) -> str:
    return (
        f"{name}: {phase['accepted']} msgs in {phase['elapsed']:.1f}s = {phase['rate']:.0f} msgs/s "
        f"(offered {options.rate:.0f}/s), p50 {phase['p50']:.1f} ms, p99 {phase['p99']:.1f} ms, "
        f"lost {phase['lost']}, out of order {phase['out_of_order']}"
    )


def _run_phase(
    engine: Any,
    tenant_id: uuid.UUID,
    phase_box: list[_Phase],
    tag: str,
    conversations: int,
    messages: int,
    options: BenchOptions,
) -> dict[str, Any]:
    people = [_Conversation(f"{tag}-{n:06d}", messages) for n in range(conversations)]
    phase = _Phase(people, deque(people), total=conversations * messages)
    phase_box.append(phase)
    work: queue.Queue[tuple[_Conversation, int] | None] = queue.Queue(maxsize=options.drivers * 4)

    def driver() -> None:
        while (item := work.get()) is not None:
            conversation, seq = item
            message = InboundMessage(
                tenant_id=tenant_id,
                channel=CHANNEL,
                peer=conversation.peer,
                text=TEXTS[
                    (len(conversation.peer) * 7 + int(conversation.peer[-4:]) + seq) % len(TEXTS)
                ],
                provider_message_id=f"{conversation.peer}-{seq}",
                received_at=utcnow(),
            )
            started = time.perf_counter()
            result = engine.submit(message)
            entry = (conversation, seq, started)
            with phase.lock:
                phase.accepted += 1
                answered_at = phase.early.pop(result.inbox_id, None)
                if answered_at is None:
                    phase.sent_at[result.inbox_id] = entry
                else:
                    phase.record(result.inbox_id, entry, answered_at)

    drivers = [threading.Thread(target=driver, daemon=True) for _ in range(options.drivers)]
    for thread in drivers:
        thread.start()
    issued = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    while issued < phase.total:
        if options.rate > 0:  # open loop: the next message is due at a fixed time
            delay = start + issued / options.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        with phase.lock:
            # Every customer may be waiting for a reply: wait for one (no busy polling,
            # which would steal the CPU we are measuring).
            phase.lock.wait_for(lambda: bool(phase.ready))
            conversation = phase.ready.popleft()
            seq = conversation.seq
            conversation.seq += 1
            conversation.remaining -= 1
        work.put((conversation, seq))
        issued += 1
    for _ in drivers:
        work.put(None)
    for thread in drivers:
        thread.join()
    phase.all_done.wait(timeout=60)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    with phase.lock:
        lost = phase.accepted - phase.answered
        return {
            "accepted": phase.accepted,
            "elapsed": elapsed,
            "rate": phase.answered / elapsed if elapsed else 0.0,
            "p50": _percentile(phase.latencies_ms, 50),
            "p99": _percentile(phase.latencies_ms, 99),
            "lost": lost,
            "out_of_order": phase.out_of_order,
            "cpu_ms_per_msg": cpu * 1000 / max(1, phase.answered),
        }


def _cleanup(runtime: Any, tenant_id: uuid.UUID) -> None:
    """Leave the database as it was: the bench tenant and everything it owns go away."""
    with runtime.db.transaction() as session:
        session.execute(delete(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id))
        session.execute(delete(InboxEvent).where(InboxEvent.tenant_id == tenant_id))
        session.execute(delete(Tenant).where(Tenant.id == tenant_id))
