"""A worker: holds a fair share of the shards, runs their conversations' turns on an
Engine's actors, and sends their replies.

Two threads beside the engine's own:
- the lease keeper (every lease/4 s): heartbeat, renew, give up what was lost or is
  more than a fair share, take free shards up to a fair share;
- the bell reader: reads the held shards' doorbell streams in order (XREAD) and hands
  the events to the actors.

Taking a shard: lease (Redis) -> fence (PostgreSQL; waits for the old owner's turns in
flight) -> note the stream's tail -> deliver the shard's pending inbox rows and resend
its unsent replies -> read the stream from the noted tail. Nothing committed is missed
(the inbox scan comes after the fence) and per-conversation order holds (the scan's
rows in id order first, then newer doorbells; a row seen twice is claimed once).
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from hablo.engine.messages import ConversationKey
from hablo.engine.runtime import Engine
from hablo.worker.doorbell import bell_key, decode
from hablo.worker.fencing import FencedStore, raise_fence
from hablo.worker.leases import ShardLeases
from hablo.worker.shards import shard_of

log = logging.getLogger(__name__)

# The shard whose holder runs the deployment-wide jobs (usage recount, staff mails): one
# runner. Per-conversation jobs (reminders, handoff timeouts) run on every worker, each
# for the shards it holds.
JOBS_SHARD = 0
READ_BATCH = 500
# A read that brought back fewer events than this means they trickle in: waiting this
# long before the next read lets it carry several. Each XREAD names every held shard's
# stream (about 0.1 ms of the worker's CPU), so one a message cost more than the turn's
# NLU under load; the wait adds at most this much to a message's latency, and none at
# all when traffic is light (an idle read blocks until an event comes, then delivers it
# at once).
LINGER_UNDER = 16
LINGER_S = 0.004
# The key of the outbox's flush markers: no conversation has it.
_FLUSH_KEY = ConversationKey(uuid.UUID(int=0), "-", "-")


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class ShardWorker:
    def __init__(
        self,
        engine: Engine,
        redis: Redis,
        *,
        prefix: str,
        shards: int,
        lease_s: float,
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self._redis = redis
        self.shards = shards
        self.lease_s = lease_s
        self.worker_id = worker_id or new_worker_id()
        self.leases = ShardLeases(redis, prefix, self.worker_id, shards, lease_s)
        # shard -> fence: what this worker may commit (read by the actors' store).
        self.held: dict[int, int] = {}
        # shard -> stream position: what the bell reader reads (guarded by _lock). Keys
        # and positions are kept as bytes: an XREAD names every held shard's stream, and
        # redis-py encodes each argument in Python (str ones cost about twice as much).
        self._positions: dict[int, bytes] = {}
        self._bell_keys = [bell_key(prefix, shard).encode() for shard in range(shards)]
        self._shard_of_bell = {key: shard for shard, key in enumerate(self._bell_keys)}
        self._taking: set[int] = set()  # leased, fence not raised yet (renewed too)
        self._markers = itertools.count(1)
        self._seen: set[int] = set()
        self._flushed = threading.Condition()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def shard_of(self, key: ConversationKey) -> int:
        return shard_of(key, self.shards)

    def install(self) -> None:
        """Wire the engine (before Engine.start): fenced turns, recovery, sweeps and
        per-conversation jobs only for held shards, deployment-wide jobs only on the
        holder of the jobs shard."""
        engine = self.engine
        engine.store = FencedStore(engine.db, self.shard_of, self.held)
        engine.scope = lambda key: self.shard_of(key) in self.held
        engine.runs_jobs = lambda: bool(self.held)
        engine.leads_jobs = lambda: JOBS_SHARD in self.held
        engine.add_turn_listener(self._on_turn)

    def start(self) -> None:
        for name, target in (
            ("hablo-leases", self._keep_leases),
            ("hablo-shards", self._keep_balance),
            ("hablo-bells", self._read),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Give every shard back (after its queued work ran) so others take it at once."""
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        self._give_up(sorted(self.held), graceful=True)
        try:
            self.leases.leave()
        except RedisError:
            log.warning("could not leave the worker set; the heartbeat runs out")

    # -- leases ----------------------------------------------------------------------------

    def flush_outbox(self, timeout_s: float = 10.0) -> None:
        """Wait until the outbox has handled everything enqueued before this call (a
        marker of no conversation travels the dispatcher's queue behind it)."""
        marker = -next(self._markers)
        self.engine.dispatcher.enqueue(_FLUSH_KEY, [], (marker,))
        with self._flushed:
            if not self._flushed.wait_for(lambda: marker in self._seen, timeout_s):
                log.warning("outbox not flushed in %.0fs before giving shards up", timeout_s)
            self._seen.discard(marker)

    def _on_turn(self, inbox_ids: tuple[int, ...]) -> None:
        if inbox_ids and inbox_ids[0] < 0:
            with self._flushed:
                self._seen.add(inbox_ids[0])
                self._flushed.notify_all()

    def _keep_leases(self) -> None:
        """Renewal alone on its thread: a slow take (fence waits, a large inbox scan)
        must never let the other leases run out."""
        self._every(self.lease_s / 4, self.renew)

    def _keep_balance(self) -> None:
        self._every(self.lease_s / 4, self.rebalance)

    def _every(self, interval: float, work: Callable[[], None]) -> None:
        while True:
            try:
                work()
            except Exception:  # Redis or PostgreSQL away: try again next round
                log.exception("shard lease round failed")
            if self._stop.wait(interval):
                return

    def balance(self) -> None:
        """One full round (what the two threads do): renew, then rebalance."""
        self.renew()
        self.rebalance()

    def renew(self) -> None:
        """Heartbeat and renew the leases held or being taken; give up the lost ones."""
        self.leases.heartbeat()
        lost = self.leases.renew(sorted(set(self.held) | self._taking))
        lost -= self._taking  # a take in progress finds out itself (its fence fails)
        if lost:
            log.warning("worker %s lost shards %s", self.worker_id, sorted(lost))
            self._give_up(sorted(lost), graceful=False)

    def rebalance(self) -> None:
        """Give up the surplus over a fair share, or take free shards up to it."""
        share = self.leases.fair_share(self.leases.heartbeat())
        surplus = len(self.held) - share
        if surplus > 0:
            self._give_up(sorted(self.held)[-surplus:], graceful=True)
        elif surplus < 0:
            free = [s for s in range(self.shards) if s not in self.held]
            random.shuffle(free)  # workers starting together do not race for the same ones
            taken: list[int] = []
            for shard in free:
                if len(taken) >= -surplus:
                    break
                if self.leases.try_acquire(shard):
                    taken.append(shard)
                    self._taking.add(shard)
            try:
                if taken:
                    self._take(taken)
            finally:
                self._taking.clear()

    def _take(self, shards: list[int]) -> None:
        fenced = []
        for shard in shards:
            try:
                self.held[shard] = raise_fence(
                    self.engine.db, shard, self.worker_id, lock_timeout_s=self.lease_s
                )
                fenced.append(shard)
            except Exception:
                log.exception("could not raise the fence of shard %d; giving it back", shard)
                self.leases.release(shard)
        if not fenced:
            return
        tails = {s: self._tail(s) for s in fenced}
        taken = set(fenced)
        self.engine.recover(where=lambda key: self.shard_of(key) in taken)
        with self._lock:
            self._positions.update(tails)
        log.info("worker %s took shards %s", self.worker_id, sorted(taken))

    def _tail(self, shard: int) -> bytes:
        last = self._redis.xrevrange(self._bell_keys[shard], count=1)
        return _as_bytes(last[0][0]) if last else b"0-0"

    def _give_up(self, shards: list[int], *, graceful: bool) -> None:
        if not shards:
            return
        gone = set(shards)
        with self._lock:
            for shard in shards:
                self._positions.pop(shard, None)
        belongs: Callable[[ConversationKey], bool] = lambda key: self.shard_of(key) in gone  # noqa: E731
        # Queued events run first; what is left stays pending in the inbox.
        self.engine.router.release(belongs)
        if graceful:
            # Room for the turns already queued to commit while the fence is still ours.
            time.sleep(min(1.0, self.lease_s / 4))
        for shard in shards:
            self.held.pop(shard, None)
        # Their replies waiting for a retry are the new owner's to send now (it resends
        # what is pending when its back-off is over); sending them here too sends twice.
        self.engine.dispatcher.forget(belongs)
        if graceful:
            # Their replies go out before the lease does: the new owner resends only
            # what is still pending after that (replies waiting for a retry).
            self.flush_outbox()
            for shard in shards:
                try:
                    self.leases.release(shard)
                except RedisError:
                    log.warning("could not release shard %d; its lease runs out", shard)
        log.info("worker %s gave up shards %s", self.worker_id, sorted(gone))

    # -- doorbells -------------------------------------------------------------------------

    def _read(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                streams = {self._bell_keys[s]: p for s, p in self._positions.items()}
            if not streams:
                self._stop.wait(0.1)
                continue
            try:
                replies: Any = self._redis.xread(streams, count=READ_BATCH, block=500)  # type: ignore[arg-type]
            except RedisError:
                log.exception("reading doorbells failed; retrying")
                self._stop.wait(1.0)
                continue
            read = 0
            for stream, entries in replies or ():
                self._deliver(self._shard_of_bell[_as_bytes(stream)], entries)
                read += len(entries)
            if 0 < read < LINGER_UNDER:
                self._stop.wait(LINGER_S)

    def _deliver(self, shard: int, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        for entry_id, fields in entries:
            with self._lock:
                if shard not in self._positions:
                    return  # given up meanwhile: the new owner has it
                self._positions[shard] = _as_bytes(entry_id)
            try:
                event = decode(fields[b"e"])
            except (KeyError, ValueError, TypeError):
                log.error("shard %d: unreadable doorbell %r skipped", shard, entry_id)
                continue
            if not self.engine.owns(event.key):
                # No sender for its channel here: running it would dead-letter the reply.
                # It stays pending for a worker that has one (the workers of one
                # deployment should all have the same channels).
                log.warning(
                    "shard %d: no %s sender here; inbox %d left pending",
                    shard,
                    event.message.channel,
                    event.inbox_id,
                )
                continue
            self.engine.router.deliver(event)


def _as_bytes(value: object) -> bytes:
    """A Redis key or entry id as bytes, whether the client decodes responses or not."""
    return value if isinstance(value, bytes) else str(value).encode()
