"""A circuit breaker per (tenant, base URL): a failing provider is not called for a
while, so customers get the local NLU at once instead of waiting for timeouts."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _State:
    failures: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = False


class CircuitBreaker:
    """closed -> (N failures in a row) -> open -> (cool-down) -> half-open: one trial call;
    its success closes the breaker, its failure opens it again."""

    def __init__(
        self,
        failures_to_open: int,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures_to_open = failures_to_open
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = _State()

    @property
    def state(self) -> str:
        with self._lock:
            return self._name()

    def _name(self) -> str:
        if self._state.opened_at is None:
            return "closed"
        if self._clock() - self._state.opened_at < self.cooldown_s:
            return "open"
        return "half_open"

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one trial at a time."""
        with self._lock:
            name = self._name()
            if name == "closed":
                return True
            if name == "open" or self._state.trial_in_flight:
                return False
            self._state.trial_in_flight = True
            return True

    def record_success(self) -> None:
        with self._lock:
            self._state = _State()

    def record_failure(self) -> None:
        with self._lock:
            self._state.trial_in_flight = False
            self._state.failures += 1
            half_open = self._state.opened_at is not None
            if half_open or self._state.failures >= self.failures_to_open:
                self._state.opened_at = self._clock()


class BreakerBoard:
    """The process's breakers, one per (tenant, base URL), created on first use."""

    def __init__(self, failures_to_open: int, cooldown_s: float) -> None:
        self._failures = failures_to_open
        self._cooldown = cooldown_s
        self._lock = threading.Lock()
        self._breakers: dict[tuple[uuid.UUID, str], CircuitBreaker] = {}

    def get(self, tenant_id: uuid.UUID, base_url: str) -> CircuitBreaker:
        key = (tenant_id, base_url.rstrip("/"))
        with self._lock:
            found = self._breakers.get(key)
            if found is None:
                found = self._breakers[key] = CircuitBreaker(self._failures, self._cooldown)
            return found
