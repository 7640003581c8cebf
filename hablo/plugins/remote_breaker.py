"""A circuit breaker per remote skill: a skill that keeps failing is skipped for a while.

After `failures` calls in a row fail, the breaker opens: calls are refused at once (the
customer gets the apology without waiting for a dead endpoint) until `cooldown_s` has
passed; then one call is let through, and its outcome closes or reopens the breaker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable


class CircuitBreaker:
    def __init__(
        self, failures: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = max(1, failures)
        self._cooldown = cooldown_s
        self._clock = clock
        self._failures = 0
        self._open_until: float | None = None
        self._trial = False  # a half-open trial call is under way
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            if self._open_until is None:
                return "closed"
            return "open" if self._clock() < self._open_until else "half-open"

    def allow(self) -> bool:
        with self._lock:
            if self._open_until is None:
                return True
            if self._clock() < self._open_until or self._trial:
                return False
            self._trial = True
            return True

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._open_until = None
            self._trial = False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial or self._failures >= self._threshold:
                self._open_until = self._clock() + self._cooldown
            self._trial = False


class Breakers:
    """The breakers of one process, one per key (tenant and skill): they outlive the
    tenant runtimes, which are rebuilt on every settings change."""

    def __init__(self) -> None:
        self._by_key: dict[Hashable, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, failures: int, cooldown_s: float) -> CircuitBreaker:
        with self._lock:
            found = self._by_key.get(key)
            if found is None:
                found = self._by_key[key] = CircuitBreaker(failures, cooldown_s)
            return found


BREAKERS = Breakers()
