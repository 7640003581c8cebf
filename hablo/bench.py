"""`hablo bench`: synthetic customers through the full path, measured.

Path: Engine.submit (inbox insert) -> TenantActor -> ConversationActor -> NLU -> skill ->
one transaction -> outbox -> a collecting channel. Customers behave like people: each
sends its next message only after the previous one was answered; a pacer offers load at
a fixed rate across all conversations (open loop), so latency is not inflated by an
artificial queue. Phase 1 runs N conversations x M messages; phase 2 touches many more
conversations once each, which forces passivation under the live-actor cap.

With `--workers N` this process is only the edge (inbox insert + doorbell) and N worker
processes (hablo.worker.bench_node) run the turns, PostgreSQL and Redis between them;
CPU per message then counts every process. `--kill-one` adds a phase that kill -9s the
worker holding the most shards a third of the way in and reports what was lost,
answered twice, and how long until its shards were held again.
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
from sqlalchemy import delete, text

from hablo.adapters.base import ChannelSender, SendReceipt
from hablo.bootstrap import bootstrap
from hablo.config import Settings
from hablo.db.base import utcnow
from hablo.db.models import InboxEvent, OutboxMessage, Tenant
from hablo.demo import seed_salon
from hablo.engine.messages import InboundMessage, OutboundEnvelope
from hablo.worker.bench_cluster import WorkerCluster

CHANNEL = "bench"
# After the last message is sent, how long its answers may take (a takeover included).
ANSWER_TIMEOUT_S = 60.0
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
    workers: int = 0  # 0: the turns run in this process
    kill_one: bool = False

    def __post_init__(self) -> None:
        if self.conversations < 1 or self.messages < 1 or self.drivers < 1:
            raise ValueError("--conversations, --messages and --drivers must be at least 1")
        if self.wide_conversations < 0 or self.rate < 0 or self.workers < 0:
            raise ValueError("--wide-conversations, --rate and --workers cannot be negative")
        if self.kill_one and self.workers < 2:
            raise ValueError("--kill-one needs --workers 2 or more (someone must take over)")


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
    if options.workers:
        # The edge trains and stores the tenant's model before the clock; no background
        # training competes with the workers for the CPU.
        settings = settings.model_copy(update={"nlu_train_in_background": False})
    runtime = bootstrap(settings)
    engine = runtime.engine
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    with runtime.db.transaction() as session:
        tenant_id = seed_salon(session, slug, "Bench Salon")
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

    cluster: WorkerCluster | None = None
    if options.workers:
        cluster = WorkerCluster(settings, engine, options.workers)
        cluster.add_turn_listener(on_turn)
    else:
        engine.add_sender(NullSender())
        engine.add_turn_listener(on_turn)
    process = psutil.Process()
    peak_rss = [process.memory_info().rss]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(0.2):
            peak_rss[0] = max(peak_rss[0], process.memory_info().rss)

    def cpu_seconds() -> float:
        return time.process_time() + (cluster.cpu_seconds() if cluster else 0.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    kill: dict[str, Any] | None = None
    try:
        # Train (and store) the tenant's NLU before the clock starts; workers load it.
        engine.build_runtime(tenant_id)
        if cluster is not None:
            cluster.start()
            _run_phase(engine, tenant_id, phase_box, "w", 4 * settings.shards, 1, options)
        else:
            engine.start()
        edge_cpu, worker_cpu = time.process_time(), cluster.cpu_seconds() if cluster else 0.0
        phase1 = _run_phase(
            engine,
            tenant_id,
            phase_box,
            "p1",
            options.conversations,
            options.messages,
            options,
            cpu_seconds,
        )
        edge_cpu = time.process_time() - edge_cpu
        worker_cpu = (cluster.cpu_seconds() if cluster else 0.0) - worker_cpu
        progress(_describe("phase 1", phase1, options))
        phase2 = None
        if options.wide_conversations > 0:
            phase2 = _run_phase(
                engine, tenant_id, phase_box, "p2", options.wide_conversations, 1, options
            )
            progress(_describe("phase 2", phase2, options))
        if cluster is not None and options.kill_one:
            kill = _kill_phase(engine, cluster, tenant_id, phase_box, options)
            progress(
                f"kill phase: {kill['accepted']} msgs, worker killed, shards held again after "
                f"{kill['takeover_s']:.1f}s; lost {kill['lost']}, duplicated "
                f"{kill['duplicated']}, out of order {kill['out_of_order']}"
            )
    finally:
        sampling.set()
        if cluster is not None:
            counts = cluster.counts
            cluster.close()
        else:
            engine.stop()
        _cleanup(runtime, tenant_id)  # also after a failure or Ctrl+C
        runtime.db.dispose()
    report = {
        "msgs_per_s": round(phase1["rate"], 1),
        "p50_ms": round(phase1["p50"], 2),
        "p99_ms": round(phase1["p99"], 2),
        "cpu_ms_per_msg": round(phase1["cpu_ms_per_msg"], 2),
        "workers": options.workers,
        "peak_rss_mb": round(peak_rss[0] / 2**20, 1),
        "live_actors_max": None if cluster else engine.budget.peak,
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
    if cluster is not None:
        answered = max(1, phase1["accepted"] - phase1["lost"])
        report.update(
            # Phase 1's CPU split: this process (the edge: inbox insert, doorbell) and
            # the workers (everything else); cpu_ms_per_msg is their sum.
            edge_cpu_ms_per_msg=round(edge_cpu * 1000 / answered, 2),
            worker_cpu_ms_per_msg=round(worker_cpu * 1000 / answered, 2),
            # Over the whole run: an inbox id answered by two turns, a reply sent twice.
            duplicated=counts.duplicated,
            resent=counts.resent,
        )
    if kill is not None:
        report.update(
            kill_lost=kill["lost"],
            kill_out_of_order=kill["out_of_order"],
            kill_duplicated=kill["duplicated"],
            kill_resent=kill["resent"],
            takeover_s=round(kill["takeover_s"], 2),
        )
        report["lost"] += kill["lost"]
        report["out_of_order"] += kill["out_of_order"]
    return report


def _kill_phase(
    engine: Any,
    cluster: WorkerCluster,
    tenant_id: uuid.UUID,
    phase_box: list[_Phase],
    options: BenchOptions,
) -> dict[str, Any]:
    """Phase 1 again, with the busiest worker killed (-9) a third of the way in."""
    before = (cluster.counts.duplicated, cluster.counts.resent)
    timing: dict[str, float] = {}

    def killer() -> None:
        while not phase_box or phase_box[-1].answered < phase_box[-1].total // 3:
            time.sleep(0.01)
        victim = cluster.kill_busiest()
        killed_at = time.monotonic()
        cluster.wait_balanced(cluster.live_ids() - {victim})
        timing["takeover_s"] = time.monotonic() - killed_at

    thread = threading.Thread(target=killer, daemon=True)
    phase_box.clear()  # the killer waits for this phase's bookkeeping
    thread.start()
    result = _run_phase(
        engine, tenant_id, phase_box, "k", options.conversations, options.messages, options
    )
    thread.join(120)
    result["takeover_s"] = timing.get("takeover_s", float("nan"))
    result["duplicated"] = cluster.counts.duplicated - before[0]
    result["resent"] = cluster.counts.resent - before[1]
    return result


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
    cpu_seconds: Callable[[], float] = time.process_time,
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
    cpu_start = cpu_seconds()
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
    phase.all_done.wait(timeout=ANSWER_TIMEOUT_S)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
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
    """Leave the database as it was: the bench tenant and everything it owns go away.
    Thousands of conversations take longer to delete than a serving process's statement
    timeout allows on a busy machine, and nobody waits on this transaction: no limit."""
    with runtime.db.transaction() as session:
        if runtime.db.dialect == "postgresql":
            session.execute(text("SET LOCAL statement_timeout = 0"))
        session.execute(delete(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id))
        session.execute(delete(InboxEvent).where(InboxEvent.tenant_id == tenant_id))
        session.execute(delete(Tenant).where(Tenant.id == tenant_id))
