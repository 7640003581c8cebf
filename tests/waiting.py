"""Waiting for a condition in tests: poll until it holds or the time is up (a busy
2-core CI machine makes any fixed sleep either flaky or slow)."""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Polls a condition until it holds or the timeout passes; returns the last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
