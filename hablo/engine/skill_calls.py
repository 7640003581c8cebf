"""Skill calls with a time budget that is enforced, not just measured afterwards.

A skill runs on a helper thread; the conversation's thread waits for it at most the
budget. Past it the turn gives up on the call (the caller abandons the turn's transaction,
so a late result can write nothing) and the conversation goes on. A hung call keeps only
its helper thread: helpers are daemon threads, started on demand (none at import) and
capped, so a few hung skills cannot stop the process from exiting nor exhaust threads.

Our own bounded code (the built-in skills: no provider call inside a turn, their database
waits capped by the connection's lock and statement timeouts) runs on the caller's thread
instead (`call_inline`): no hand-off and two thread wake-ups fewer per message. Past the
budget its result is dropped all the same.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class CallOverrun(Exception):
    """The call did not finish within its budget (`running`: it may still be going on)."""

    def __init__(self, budget_s: float, *, running: bool = True) -> None:
        super().__init__(f"over its budget of {budget_s:.1f}s")
        self.running = running


def call_inline(fn: Callable[[], T], budget_s: float) -> T:
    """fn()'s result or exception, run on this thread; CallOverrun (not running) when it
    took longer than budget_s."""
    started = time.monotonic()
    result = fn()
    if time.monotonic() - started > budget_s:
        raise CallOverrun(budget_s, running=False)
    return result


class _Call(Generic[T]):
    __slots__ = ("done", "error", "fn", "result")

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None


class BudgetedCalls:
    def __init__(self, max_threads: int = 256, name: str = "hablo-skill") -> None:
        self._max_threads = max_threads
        self._name = name
        self._jobs: queue.SimpleQueue[_Call[Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    def call(self, fn: Callable[[], T], budget_s: float) -> T:
        """fn()'s result or exception; CallOverrun when it takes longer than budget_s."""
        context = contextvars.copy_context()  # the skill sees the caller's context vars
        job: _Call[T] = _Call(lambda: context.run(fn))
        with self._lock:
            spawn = self._idle == 0 and self._threads < self._max_threads
            if spawn:
                self._threads += 1
            else:
                self._idle -= 1  # this job takes an idle helper (or queues when capped)
        if spawn:
            threading.Thread(
                target=self._work, name=f"{self._name}-{self._threads}", daemon=True
            ).start()
        self._jobs.put(job)
        if not job.done.wait(budget_s):
            raise CallOverrun(budget_s)
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]  # set when no error

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job.result = job.fn()
            except BaseException as exc:  # handed to the caller, who decides
                job.error = exc
            finally:
                job.done.set()
                with self._lock:
                    self._idle += 1
                del job
