"""`hablo bench --workers N`: N worker processes (bench_node) beside this process, which
is the edge. Starts them, waits until the shards are shared out, reads their replies
from Redis, adds up their CPU, and kill -9s one on request."""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil
from redis import Redis

from hablo.config import Settings
from hablo.engine.runtime import Engine
from hablo.worker.doorbell import DoorbellRing
from hablo.worker.leases import ShardLeases
from hablo.worker.tier import sync_redis

log = logging.getLogger(__name__)
START_TIMEOUT_S = 120.0
# Settings a worker node must share with the edge (the rest are its defaults).
_PASSED = (
    "database_url",
    "redis_url",
    "db_pool_size",
    "actor_max_live",
    "actor_threads",
    "turn_concurrency",
    "actor_idle_timeout_s",
    "shards",
    "shard_lease_s",
    "state_dir",
    "nlu_threshold",
    "recovery_sweep_s",
)


@dataclass
class ReplyCounts:
    """What the workers' bench channel delivered, across all of them."""

    sent: Counter[int] = field(default_factory=Counter)  # outbox id -> times sent
    # inbox id -> the outbox rows (turns) that answered it
    answers: dict[int, set[int]] = field(default_factory=dict)

    @property
    def resent(self) -> int:
        """Replies delivered twice: a worker was killed after the provider took a reply
        and before the outbox row was marked sent (the at-least-once window; the web
        chat page and the bench drop them by reply id)."""
        return sum(n - 1 for n in self.sent.values() if n > 1)

    @property
    def duplicated(self) -> int:
        """Messages answered by two turns (what leases, fences and the inbox claim
        rule out)."""
        return sum(len(rows) - 1 for rows in self.answers.values() if len(rows) > 1)


class WorkerCluster:
    def __init__(self, settings: Settings, engine: Engine, workers: int) -> None:
        self.settings = settings
        self.workers = workers
        self.prefix = f"{settings.redis_prefix}bench-{uuid.uuid4().hex[:8]}:"
        self.redis: Redis = sync_redis(settings.redis_url or "")
        self.replies_key = f"{self.prefix}replies"
        self.leases = ShardLeases(self.redis, self.prefix, "bench-edge", settings.shards, 1.0)
        self.counts = ReplyCounts()
        self._listeners: list[Callable[[tuple[int, ...]], None]] = []
        self._procs: list[subprocess.Popen[str]] = []
        self._ids: dict[int, str] = {}  # pid -> worker id
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        engine.ring = DoorbellRing(self.redis, self.prefix, settings.shards)
        engine.scope = lambda key: False  # the edge runs no turns

    def add_turn_listener(self, listener: Callable[[tuple[int, ...]], None]) -> None:
        self._listeners.append(listener)

    # -- processes -----------------------------------------------------------------------

    def start(self) -> None:
        self.spawn(self.workers)
        self._reader = threading.Thread(target=self._read_replies, daemon=True)
        self._reader.start()
        self.wait_balanced(self.live_ids())

    def spawn(self, count: int) -> None:
        """Start `count` more worker processes and wait until they run (not until the
        shards are shared out again: see wait_balanced)."""
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("HABLO_")}
        for name in _PASSED:
            value = getattr(self.settings, name)
            if value is not None:
                env[f"HABLO_{name.upper()}"] = str(value)
        env.update(
            HABLO_ROUTER="redis",
            HABLO_REDIS_PREFIX=self.prefix,
            HABLO_LOG_LEVEL="WARNING",
            HABLO_CHANNELS='["webchat"]',
            HABLO_NLU_TRAIN_IN_BACKGROUND="false",
        )
        command = [sys.executable, "-m", "hablo.worker.bench_node", self.replies_key]
        ready: queue.Queue[tuple[int, str]] = queue.Queue()
        for _ in range(count):
            proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
            self._procs.append(proc)
            threading.Thread(target=self._await_ready, args=(proc, ready), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        for _ in range(count):
            try:
                pid, worker_id = ready.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError("bench workers did not start in time") from None
            if not worker_id:
                raise RuntimeError(f"bench worker {pid} exited before it was ready")
            self._ids[pid] = worker_id

    @staticmethod
    def _await_ready(proc: subprocess.Popen[str], ready: queue.Queue[tuple[int, str]]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("ready "):
                ready.put((proc.pid, line.split()[1]))
                return
        ready.put((proc.pid, ""))

    def live_ids(self) -> set[str]:
        return {self._ids[p.pid] for p in self._procs if p.poll() is None}

    def wait_balanced(self, workers: set[str], timeout: float = START_TIMEOUT_S) -> float:
        """Seconds until every shard is held by one of `workers`, fairly shared."""
        started = time.monotonic()
        fair = self.settings.shards // max(1, len(workers))
        while time.monotonic() - started < timeout:
            holders = self.leases.holders()
            per = Counter(holders.values())
            if all(h in workers for h in holders.values()) and all(per[w] >= fair for w in workers):
                return time.monotonic() - started
            time.sleep(0.05)
        raise RuntimeError(f"shards not shared out among {len(workers)} workers in time")

    def kill_busiest(self) -> str:
        """kill -9 the worker holding the most shards; returns its id."""
        per = Counter(self.leases.holders().values())
        by_id = {self._ids[p.pid]: p for p in self._procs if p.poll() is None}
        victim = max(by_id, key=lambda w: per.get(w, 0))
        os.kill(by_id[victim].pid, signal.SIGKILL)
        by_id[victim].wait()
        return victim

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self._procs:
            try:
                times = psutil.Process(proc.pid).cpu_times()
            except psutil.NoSuchProcess:
                continue  # a killed worker's CPU is no longer counted
            total += times.user + times.system
        return total

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self._procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._stop.set()
        if self._reader is not None:
            self._reader.join(5)
        keys = list(self.redis.scan_iter(f"{self.prefix}*"))
        if keys:
            self.redis.delete(*keys)
        self.redis.close()

    # -- replies -------------------------------------------------------------------------

    def _read_replies(self) -> None:
        while not self._stop.is_set():
            got: Any = self.redis.blpop([self.replies_key], timeout=0.5)
            if got is None:
                continue
            items = [got[1], *(self.redis.lpop(self.replies_key, 1000) or [])]
            for raw in items:
                outbox_id, _peer, inbox_ids = json.loads(raw)
                self.counts.sent[outbox_id] += 1
                fresh = []
                for inbox_id in inbox_ids:
                    rows = self.counts.answers.setdefault(inbox_id, set())
                    if not rows:
                        fresh.append(inbox_id)
                    rows.add(outbox_id)
                if fresh:
                    for listener in self._listeners:
                        listener(tuple(fresh))
