"""The outbox's sender threads: a slow job never delays another while the pool has room,
the pool never grows past its size, and idle threads end."""

from __future__ import annotations

import threading

from hablo.engine.outbox_lanes import SenderPool
from tests.e2e.server import wait_until

WAIT_S = 60.0


def test_a_blocked_job_does_not_delay_the_next_one() -> None:
    pool = SenderPool(2, "test-send")
    gate, second_ran = threading.Event(), threading.Event()
    try:
        pool.submit(lambda: gate.wait(WAIT_S))
        pool.submit(second_ran.set)
        assert second_ran.wait(WAIT_S)
        assert not gate.is_set()  # the first job is still blocked
    finally:
        gate.set()
        pool.close()


def test_the_pool_stays_within_its_size_and_runs_the_queued_job_later() -> None:
    pool = SenderPool(2, "test-send")
    gate, third_ran = threading.Event(), threading.Event()
    try:
        pool.submit(lambda: gate.wait(WAIT_S))
        pool.submit(lambda: gate.wait(WAIT_S))
        pool.submit(third_ran.set)
        assert pool.threads == 2
        gate.set()
        assert third_ran.wait(WAIT_S)
    finally:
        gate.set()
        pool.close()


def test_an_idle_thread_ends_and_a_later_job_still_runs() -> None:
    pool = SenderPool(4, "test-send", idle_s=0.2)
    ran: list[int] = []
    done = threading.Event()
    pool.submit(lambda: ran.append(1))
    wait_until(lambda: ran == [1], WAIT_S, what="the first job")
    wait_until(lambda: pool.threads == 0, WAIT_S, what="the idle thread to end")

    def second() -> None:
        ran.append(2)
        done.set()

    pool.submit(second)
    assert done.wait(WAIT_S)
    assert ran == [1, 2]
    pool.close()
