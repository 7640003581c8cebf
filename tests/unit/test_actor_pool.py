"""Pooled actors: pykka's contract (one message at a time per actor, in arrival order,
on_start first, asks answered, a stopped actor refuses) on a bounded set of threads."""

from __future__ import annotations

import threading
import time
from typing import Any

import pykka
import pytest
from pykka._envelope import Envelope

from hablo.engine.actor_pool import QUANTUM, ActorPool, PooledActor
from tests.waiting import eventually

WAIT_S = 30.0


class Record:
    """What one Recorder saw, readable from the test's thread."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.started_first = False
        self.threads: set[str] = set()
        self.overlapped = False
        self.stopped = threading.Event()


class Recorder(PooledActor):
    """Records what it receives and checks that no two of its messages overlap."""

    def __init__(self, pool: ActorPool, record: Record, hold_s: float = 0.0) -> None:
        super().__init__(pool)
        self.record = record
        self._inside = threading.Lock()
        self._hold_s = hold_s

    def on_start(self) -> None:
        self.record.started_first = not self.record.seen

    def on_stop(self) -> None:
        self.record.stopped.set()

    def on_receive(self, message: Any) -> Any:
        if not self._inside.acquire(blocking=False):
            self.record.overlapped = True
            return None
        try:
            self.record.threads.add(threading.current_thread().name)
            if self._hold_s:
                time.sleep(self._hold_s)
            if message == "boom":
                raise ValueError("asked to fail")
            self.record.seen.append(message)
            return ("got", message)
        finally:
            self._inside.release()


def _recorder(pool: ActorPool, hold_s: float = 0.0) -> tuple[pykka.ActorRef[Any], Record]:
    record = Record()
    return Recorder.start(pool, record, hold_s), record


@pytest.fixture
def pool() -> ActorPool:
    return ActorPool(3, idle_s=0.5, name="test-actor")


def test_messages_of_one_actor_run_in_order_one_at_a_time(pool: ActorPool) -> None:
    ref, actor = _recorder(pool)
    senders = [threading.Thread(target=lambda n=n: ref.tell(("first", n))) for n in range(5)]
    for n in range(200):
        ref.tell(n)
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    assert eventually(lambda: len(actor.seen) == 205)
    assert [m for m in actor.seen if isinstance(m, int)] == list(range(200))
    assert actor.started_first
    assert not actor.overlapped
    ref.stop()


def test_many_actors_share_at_most_the_pool_s_threads(pool: ActorPool) -> None:
    started = [_recorder(pool, 0.002) for _ in range(40)]
    refs = [ref for ref, _ in started]
    actors = [record for _, record in started]
    for n in range(10):
        for ref in refs:
            ref.tell(n)
    assert eventually(lambda: all(len(a.seen) == 10 for a in actors))
    names = set().union(*(a.threads for a in actors))
    assert 1 <= len(names) <= pool.threads
    assert all(a.seen == list(range(10)) for a in actors)
    assert all(not a.overlapped for a in actors)
    for ref in refs:
        ref.stop()


class Logger(PooledActor):
    """Appends (name, message) to a log shared by several actors; "hold" waits for a gate."""

    def __init__(self, pool: ActorPool, name: str, log: list[Any], gate: threading.Event) -> None:
        super().__init__(pool)
        self._name, self._log, self._gate = name, log, gate

    def on_receive(self, message: Any) -> None:
        if message == "hold":
            self._gate.wait(WAIT_S)
        self._log.append((self._name, message))


def test_a_busy_actor_gives_the_thread_back_after_a_quantum() -> None:
    single = ActorPool(1, idle_s=0.5, name="test-single")
    log: list[Any] = []
    gate = threading.Event()
    busy = Logger.start(single, "busy", log, gate)
    other = Logger.start(single, "other", log, gate)
    busy.tell("hold")  # parks the pool's one thread until the rest is queued
    assert eventually(lambda: single.running == 1)
    for n in range(QUANTUM * 3):
        busy.tell(n)
    other.tell("hello")
    gate.set()
    assert eventually(lambda: len(log) == 2 + QUANTUM * 3)
    position = log.index(("other", "hello"))
    # "hold" and at most a quantum of the busy actor's mail ran before the other's turn.
    assert position <= QUANTUM
    assert [m for name, m in log if name == "busy"] == ["hold", *range(QUANTUM * 3)]
    busy.stop()
    other.stop()


def test_ask_gets_the_answer_or_the_exception(pool: ActorPool) -> None:
    ref, _ = _recorder(pool)
    assert ref.ask("ping", timeout=WAIT_S) == ("got", "ping")
    with pytest.raises(ValueError, match="asked to fail"):
        ref.ask("boom", timeout=WAIT_S)
    # A failure answered to an asker does not stop the actor.
    assert ref.ask("again", timeout=WAIT_S) == ("got", "again")
    ref.stop()


def test_a_failure_nobody_asked_about_stops_the_actor(pool: ActorPool) -> None:
    ref, _ = _recorder(pool)
    ref.tell("boom")
    assert ref.actor_stopped.wait(WAIT_S)
    assert not ref.is_alive()
    with pytest.raises(pykka.ActorDeadError):
        ref.ask("late", timeout=WAIT_S)


def test_stop_runs_queued_mail_first_and_on_stop_once(pool: ActorPool) -> None:
    ref, actor = _recorder(pool, 0.001)
    for n in range(50):
        ref.tell(n)
    ref.stop(block=True, timeout=WAIT_S)
    assert actor.seen == list(range(50))
    assert actor.stopped.is_set()
    assert not ref.is_alive()
    assert ref not in pykka.ActorRegistry.get_all()


def test_an_ask_racing_a_stop_is_answered_not_left_hanging(pool: ActorPool) -> None:
    ref, _ = _recorder(pool)
    ref.stop(block=True, timeout=WAIT_S)
    # Mail put after the stop (past pykka's is_alive check, as a racing caller would).
    future: pykka.ThreadingFuture[Any] = pykka.ThreadingFuture()
    ref.actor_inbox.put(Envelope("late", reply_to=future))
    with pytest.raises(pykka.ActorDeadError):
        future.get(timeout=WAIT_S)


def test_idle_threads_end_and_new_mail_starts_one_again(pool: ActorPool) -> None:
    ref, _ = _recorder(pool)
    assert ref.ask("one", timeout=WAIT_S) == ("got", "one")
    assert eventually(lambda: pool.running == 0)
    assert ref.ask("two", timeout=WAIT_S) == ("got", "two")
    ref.stop()


def test_a_pool_needs_a_thread() -> None:
    with pytest.raises(ValueError, match="at least one thread"):
        ActorPool(0)


def test_a_closed_pool_ends_its_threads_yet_still_runs_late_mail() -> None:
    pool = ActorPool(3, idle_s=60.0, name="test-closing")
    ref, record = _recorder(pool)
    assert ref.ask("before", timeout=WAIT_S) == ("got", "before")
    assert pool.running >= 1
    pool.close()
    assert eventually(lambda: pool.running == 0)
    ref.tell("late")
    assert eventually(lambda: record.seen == ["before", "late"])
    assert eventually(lambda: pool.running == 0)
    ref.stop()


def test_close_waits_for_the_messages_running_and_queued() -> None:
    pool = ActorPool(2, idle_s=60.0, name="test-draining")
    ref, record = _recorder(pool, hold_s=0.3)
    for n in range(3):
        ref.tell(n)
    assert eventually(lambda: record.threads)  # the first message is running
    assert pool.close(wait_s=WAIT_S)
    # What was running and what was queued behind it ran before close() returned.
    assert record.seen == [0, 1, 2]
    assert pool.running == 0
    ref.stop()


def test_close_gives_up_waiting_after_its_time() -> None:
    pool = ActorPool(1, idle_s=60.0, name="test-slow-drain")
    ref, record = _recorder(pool, hold_s=1.0)
    ref.tell("slow")
    assert eventually(lambda: record.threads)
    assert pool.close(wait_s=0.05) is False
    assert eventually(lambda: record.seen == ["slow"])  # it still finishes, later
    ref.stop()


def test_a_thread_that_cannot_start_costs_no_slot_and_no_mail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = ActorPool(1, idle_s=0.5, name="test-no-thread")
    real_start = threading.Thread.start
    refused: list[str] = []

    def refuse_once(thread: threading.Thread) -> None:
        if not refused:
            refused.append(thread.name)
            raise RuntimeError("can't start new thread")
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", refuse_once)
    ref, record = _recorder(pool)  # its first schedule finds no thread
    assert refused and pool.running == 0
    ref.tell("waiting")  # queued behind the start; nothing runs it yet
    other, other_record = _recorder(pool)  # the next schedule starts a thread
    assert eventually(lambda: record.seen == ["waiting"])
    assert other.ask("hello", timeout=WAIT_S) == ("got", "hello")
    assert other_record.seen == ["hello"]
    ref.stop()
    other.stop()
