"""Pykka actors that share a bounded set of threads instead of owning one each.

A `pykka.ThreadingActor` is an OS thread. With one actor per active conversation a busy
process held ~2,000 threads that slept on their inboxes, and every message woke one: a
thread start per new conversation, a futex wake-up and a GIL hand-off per message, about
a third of the process's CPU in the kernel. A `PooledActor` keeps pykka's model and
API (`start`, `tell`, `ask`, `stop`, the registry, `on_start`/`on_stop`/`on_failure`)
and its one guarantee, one message at a time per actor in arrival order, but its
messages run on an `ActorPool`: a handful of threads that take the next actor with mail,
so a busy pool goes from one conversation to the next without sleeping.

A message that blocks (a database round trip, a model call) holds one pool thread
while it waits; size the pool for the turns that may wait at once.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from typing import Any

import pykka
from pykka import ActorRegistry
from pykka._envelope import Envelope

log = logging.getLogger(__name__)

# Messages an actor handles before it goes to the back of the line: one chatty
# conversation cannot keep a thread from the others.
QUANTUM = 8


class ActorPool:
    """Runs pooled actors' messages on at most `threads` threads, started on demand and
    ended after `idle_s` without work (a quiet process keeps none)."""

    def __init__(self, threads: int, idle_s: float = 30.0, name: str = "hablo-actor") -> None:
        if threads < 1:
            raise ValueError("an actor pool needs at least one thread")
        self.threads = threads
        self._idle_s = idle_s
        self._name = name
        self._ready: deque[PooledActor] = deque()
        lock = threading.Lock()
        self._cond = threading.Condition(lock)
        # close() waits here, not on _cond: a notify() meant for a pool thread must not
        # wake it instead.
        self._ended = threading.Condition(lock)
        self._running = 0
        self._waiting = 0  # threads asleep in wait(); a notify wakes one of them
        self._started = 0
        self._closed = False

    @property
    def running(self) -> int:
        return self._running

    def close(self, wait_s: float = 0.0) -> bool:
        """Let the threads end once nothing is ready to run (the actors were stopped
        first); mail that arrives later still starts a thread, so nothing is stranded.

        With `wait_s`, wait that long for the running threads to finish what they hold:
        the threads are daemons, so a turn still running when the interpreter exits is cut
        off (its transaction rolls back and recovery redelivers the message; nothing is
        lost, but it is not a clean drain). True when every thread ended in time."""
        deadline = time.monotonic() + wait_s
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            while self._running > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._ended.wait(left)
        return True

    def schedule(self, actor: PooledActor) -> None:
        with self._cond:
            self._ready.append(actor)
            if self._waiting > len(self._ready) - 1:
                self._cond.notify()
                return
            if self._running >= self.threads:
                return  # every thread is busy; the first to finish takes it
            self._running += 1
            self._started += 1
            number = self._started
        thread = threading.Thread(target=self._work, name=f"{self._name}-{number}", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # out of threads: the actor waits in line for a running one
            with self._cond:
                self._running -= 1
                self._ended.notify_all()
            log.exception("actor pool: could not start a thread; %d running", self._running)

    def requeue(self, actor: PooledActor) -> None:
        """Back of the line, from a pool thread that is about to take the next actor
        itself: no other thread needs waking or starting."""
        with self._cond:
            self._ready.append(actor)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._ready:
                    if self._closed:
                        self._running -= 1
                        self._ended.notify_all()  # close() may be waiting for the last one
                        return
                    self._waiting += 1
                    woken = self._cond.wait(self._idle_s)
                    self._waiting -= 1
                    if not woken and not self._ready:
                        self._running -= 1
                        self._ended.notify_all()  # idle end racing a close()
                        return
                actor = self._ready.popleft()
            try:
                actor._run_slice()
            except BaseException:  # a bug here must not take the thread, or its actor, along
                log.exception("actor pool: %s failed outside its handlers", actor)
                # Stopped, as pykka stops an actor whose loop failed; scheduled once more
                # so that mail it still holds is answered (ActorDeadError), not stranded.
                actor._handle_failure(*sys.exc_info())
                self.schedule(actor)


class _Mailbox:
    """An actor's inbox that asks the pool for a thread when mail arrives for an actor
    that is not already waiting for one or running."""

    def __init__(self) -> None:
        self._items: deque[Envelope[Any]] = deque()
        self._lock = threading.Lock()
        self._scheduled = True  # until the actor starts: mail waits for on_start
        self._wake: Any = None

    def put(self, envelope: Envelope[Any], /) -> None:
        with self._lock:
            self._items.append(envelope)
            if self._scheduled:
                return
            self._scheduled = True
        self._wake()

    def take(self) -> Envelope[Any] | None:
        """The next envelope, or None, after which the next put schedules the actor."""
        with self._lock:
            if self._items:
                return self._items.popleft()
            self._scheduled = False
            return None

    def unmark_if_empty(self) -> bool:
        """After a stop: True when nothing is left, and later mail schedules the actor
        again (to be answered); False when mail arrived meanwhile."""
        with self._lock:
            if self._items:
                return False
            self._scheduled = False
            return True

    def get(self) -> Envelope[Any]:
        with self._lock:
            return self._items.popleft()

    def empty(self) -> bool:
        return not self._items

    def start(self, wake: Any) -> None:
        self._wake = wake


class PooledActor(pykka.Actor):
    """A pykka actor whose messages run on the pool its subclass hands to `__init__`;
    otherwise used exactly as a `pykka.ThreadingActor`."""

    def __init__(self, actor_pool: ActorPool) -> None:
        super().__init__()
        self._pool = actor_pool
        self._set_up = False

    @staticmethod
    def _create_actor_inbox() -> _Mailbox:
        return _Mailbox()

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return pykka.ThreadingFuture()

    def _start_actor_loop(self) -> None:
        self._mailbox.start(self._schedule)
        self._schedule()  # on_start runs first, on a pool thread

    @property
    def _mailbox(self) -> _Mailbox:
        inbox = self.actor_inbox
        assert isinstance(inbox, _Mailbox)
        return inbox

    def _schedule(self) -> None:
        self._pool.schedule(self)

    def _run_slice(self) -> None:
        """Up to QUANTUM messages on the calling pool thread, then give the thread back."""
        if not self._set_up:
            self._set_up = True
            self._actor_loop_setup()
        for _ in range(QUANTUM):
            if self.actor_stopped.is_set():
                self._tear_down()
                return
            envelope = self._mailbox.take()
            if envelope is None:
                return
            self._handle_envelope(envelope)
        if self.actor_stopped.is_set():
            self._tear_down()
        else:
            self._pool.requeue(self)  # still marked scheduled: mail arriving meanwhile waits

    def _tear_down(self) -> None:
        # Whatever arrived after the stop is answered (asks get ActorDeadError), as pykka's
        # own loop does; mail arriving later schedules the actor again and lands here too.
        while True:
            self._actor_loop_teardown()
            if self._mailbox.unmark_if_empty():
                return

    def _handle_envelope(self, envelope: Envelope[Any]) -> None:
        # pykka's receive loop (Actor._actor_loop_running), for one envelope.
        try:
            response = self._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except Exception:
            if envelope.reply_to is not None:
                log.info("Exception returned from %s to caller:", self, exc_info=sys.exc_info())
                envelope.reply_to.set_exception()
            else:
                self._handle_failure(*sys.exc_info())
                try:
                    self.on_failure(*sys.exc_info())
                except Exception:
                    self._handle_failure(*sys.exc_info())
        except BaseException:
            log.debug("%r in %s. Stopping all actors.", sys.exc_info()[1], self)
            self._stop()
            # Not on this thread: stopping every actor needs the pool's threads.
            threading.Thread(target=ActorRegistry.stop_all, daemon=True).start()


__all__ = ["ActorPool", "PooledActor"]
