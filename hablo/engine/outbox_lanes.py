"""The pieces the outbox sends with: lanes and a bounded pool of sender threads.

A lane is one tenant's replies on one channel. That is the unit a provider paces and
limits (WhatsApp Web: one linked number per tenant, "typing..." and a gap before every
message, sends one at a time; the Cloud API and Twilio: per-number rate limits), so a
slow lane holds back only its own tenant's replies on that channel, and one tenant's
burst cannot take every sender thread. A lane sends one reply at a time, in arrival
order, which keeps every conversation (a subset of one lane) in order."""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from hablo.engine.outbox_items import LaneItem

# A sender thread with nothing to do for this long ends (a new one starts on demand).
IDLE_THREAD_S = 30.0


@dataclass
class Lane:
    items: deque[LaneItem] = field(default_factory=deque)
    busy: bool = False  # a send of this lane is in flight

    @property
    def active(self) -> bool:
        return self.busy or bool(self.items)


class SenderPool:
    """At most `size` daemon threads running jobs; a job never waits for a thread while
    fewer than `size` jobs run. Threads start on demand and end after IDLE_THREAD_S idle.

    `_idle` counts threads waiting and not yet promised a job: `submit` promises the job
    to one of them or starts a thread for it, so a slow job never delays another."""

    def __init__(self, size: int, name: str, idle_s: float = IDLE_THREAD_S) -> None:
        self._size = size
        self._name = name
        self._idle_s = idle_s
        self._jobs: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._started = 0

    def submit(self, job: Callable[[], object]) -> None:
        with self._lock:
            self._jobs.put(job)
            if self._idle:
                self._idle -= 1
            elif self._threads < self._size:
                self._threads += 1
                self._started += 1
                name = f"{self._name}-{self._started}"
                threading.Thread(target=self._work, name=name, daemon=True).start()

    def close(self) -> None:
        """Idle threads end now, busy ones after their job."""
        with self._lock:
            for _ in range(self._threads):
                self._jobs.put(None)

    @property
    def threads(self) -> int:
        with self._lock:
            return self._threads

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_s)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():  # else a job was promised to us meanwhile
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue
            if job is None:
                with self._lock:
                    self._threads -= 1
                return
            job()
            with self._lock:
                self._idle += 1
