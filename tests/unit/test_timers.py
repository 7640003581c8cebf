"""The conversation actors' delayed calls: one thread runs them in due order, and a
cancelled one never runs."""

from __future__ import annotations

import threading

from hablo.engine.timers import Timers


def test_calls_run_in_due_order_and_a_cancelled_one_never() -> None:
    timers = Timers("test-timers")
    ran: list[str] = []
    done = threading.Event()
    timers.call_later(0.3, lambda: (ran.append("last"), done.set()))
    cancelled = timers.call_later(0.1, lambda: ran.append("cancelled"))
    timers.call_later(0.2, lambda: ran.append("second"))
    timers.call_later(0.0, lambda: ran.append("first"))
    cancelled.cancel()
    assert done.wait(30)
    assert ran == ["first", "second", "last"]


def test_a_failing_call_does_not_stop_the_next() -> None:
    timers = Timers("test-timers")
    done = threading.Event()

    def fail() -> None:
        raise RuntimeError("boom")

    timers.call_later(0.0, fail)
    timers.call_later(0.05, done.set)
    assert done.wait(30)
