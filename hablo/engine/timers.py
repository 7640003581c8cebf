"""Delayed calls of the conversation actors (a burst's debounce window, a failed turn's
back-off) on one thread per process, instead of a `threading.Timer` each: with debounce
on, every message of a burst re-arms its window, and a Timer is a new OS thread each time.

The thread starts on first use (nothing at import) and is a daemon; a call it runs must be
quick (the actors' is a `tell`).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Timer:
    """A pending call; `cancel()` before it is due and it never runs."""

    __slots__ = ("_seq", "_timers")

    def __init__(self, timers: Timers, seq: int) -> None:
        self._timers = timers
        self._seq = seq

    def cancel(self) -> None:
        self._timers._cancel(self._seq)


class Timers:
    def __init__(self, name: str = "hablo-timers") -> None:
        self._name = name
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._pending: set[int] = set()  # not run nor cancelled yet
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def call_later(self, delay_s: float, call: Callable[[], None]) -> Timer:
        with self._wake:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            seq = next(self._seq)
            self._pending.add(seq)
            heapq.heappush(self._due, (time.monotonic() + delay_s, seq, call))
            if self._due[0][1] == seq:  # the new first one: the thread sleeps less
                self._wake.notify()
        return Timer(self, seq)

    def _cancel(self, seq: int) -> None:
        with self._wake:
            self._pending.discard(seq)  # its entry is dropped when it comes due

    def _next(self) -> Callable[[], None]:
        with self._wake:
            while True:
                if not self._due:
                    self._wake.wait()
                    continue
                due, seq, call = self._due[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._due)
                if seq in self._pending:
                    self._pending.discard(seq)
                    return call

    def _run(self) -> None:
        while True:
            call = self._next()
            try:
                call()
            except Exception:  # one failing call must not stop the others'
                log.exception("delayed call failed")
