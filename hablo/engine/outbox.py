"""The outbox dispatcher: sends committed replies through their channel, in order per
conversation, retrying transient failures with exponential backoff and jitter, and
dead-lettering after the last attempt.

Replies go out in lanes (hablo.engine.outbox_lanes: a tenant's replies on one channel):
a lane sends one reply at a time, in order, and up to `lanes` lanes send at once on a
small pool of sender threads, so a slow provider or WhatsApp Web's typing pause holds
back only its own lane. One coordinating thread owns every other piece of state (lanes,
retries, the status batch) and every database write, so the sender threads share
nothing but the queue they report to.

With several processes (the worker tier) a reply belongs to the process that holds its
conversation's shard: when a shard moves away, `forget` drops its retries and the replies
waiting behind them (the new owner resends what is still pending, at the time its back-off
said); a row is marked sent only while it is still pending, so a reply another process
already sent or dead-lettered is not counted (or re-marked) here."""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta

from hablo.config.log_context import log_context
from hablo.db.base import utcnow
from hablo.engine.messages import ConversationKey, OutboundEnvelope
from hablo.engine.metrics import OUTBOUND
from hablo.engine.outbox_items import (
    Barrier,
    BarrierToken,
    Forget,
    Item,
    LaneItem,
    LaneKey,
    Queued,
    RetryDue,
    RetryPolicy,
    Scheduled,
    Sendable,
    Sent,
    TurnMarker,
    lane_of,
)
from hablo.engine.outbox_lanes import Lane, SenderPool
from hablo.engine.ports import (
    ChannelSender,
    PermanentSendError,
    SendReceipt,
    TransientSendError,
)
from hablo.engine.store import ConversationStore

log = logging.getLogger(__name__)

TurnListener = Callable[[tuple[int, ...]], None]
DEFAULT_LANES = 8
# Replies one sender thread sends in a row for its lane before reporting: their rows are
# marked sent in one statement, as when one thread sent everything.
RUN_MAX = 64
# How long a stop past its timeout waits for the sends in flight (a provider call's own
# timeout is 10 s by default), so that each reply that went out is marked sent.
SETTLE_S = 15.0


class OutboxDispatcher:
    def __init__(
        self,
        store: ConversationStore,
        senders: Mapping[str, ChannelSender],
        policy: RetryPolicy,
        listeners: Sequence[TurnListener] = (),
        lanes: int = DEFAULT_LANES,
    ) -> None:
        self._store = store
        self._senders = dict(senders)
        self._policy = policy
        self._listeners = list(listeners)
        self._max_lanes = lanes
        # One queue item per turn (its replies, then its marker): one wake-up per turn.
        self._queue: queue.SimpleQueue[tuple[Queued, ...] | None] = queue.SimpleQueue()
        self._retries: list[tuple[float, int, OutboundEnvelope]] = []
        # Conversations with a reply waiting for retry: later items wait behind it.
        self._blocked: dict[ConversationKey, deque[Item]] = {}
        self._lanes: dict[LaneKey, Lane] = {}
        # Lanes with work and no send in flight, oldest first (an ordered set).
        self._ready: dict[LaneKey, None] = {}
        self._in_flight = 0
        self._pool: SenderPool | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()  # the stop's time is up: no new send starts
        self._sent_batch: list[tuple[OutboundEnvelope, str | None]] = []
        self._markers_batch: list[TurnMarker] = []

    def add_sender(self, sender: ChannelSender) -> None:
        self._senders[sender.channel] = sender

    def add_listener(self, listener: TurnListener) -> None:
        self._listeners.append(listener)

    def start(self) -> None:
        self._closing.clear()
        self._pool = SenderPool(self._max_lanes, "hablo-outbox-send")
        self._thread = threading.Thread(target=self._run, name="hablo-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0, settle_s: float = SETTLE_S) -> None:
        """Send what is queued at this call, one attempt each, then end.

        Replies in back-off, and replies of turns that commit after this call, stay
        pending for the next start. Past `timeout` no further send starts and the loop
        waits (up to `settle_s` more) only for the sends in flight, so that every reply
        that went out is marked sent before the process may exit: a reply sent but left
        pending would be sent again by the next start."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._closing.set()
                self._queue.put(())  # wakes the loop to see it
                self._thread.join(settle_s)
                if self._thread.is_alive():
                    log.warning(
                        "outbox stop: %d sends still in flight after %.0f s; their replies "
                        "may be sent again after a restart",
                        self._in_flight,
                        timeout + settle_s,
                    )
            self._thread = None
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def enqueue(
        self,
        key: ConversationKey,
        envelopes: Sequence[OutboundEnvelope],
        inbox_ids: tuple[int, ...],
    ) -> None:
        """Called right after a turn committed: its replies, then its marker, which waits
        behind the conversation's earlier replies even when this turn has none.

        A marker alone for a channel with no sender here (no conversation of this
        process) is a flush: it reaches the listeners once everything enqueued before
        it was handled, in every lane."""
        self._queue.put((*envelopes, TurnMarker(key, inbox_ids)))

    def enqueue_pending(self, envelope: OutboundEnvelope, not_before: datetime) -> None:
        """A reply recovery found pending: sent now, or at `not_before` if it is waiting
        for a retry (its back-off is kept across a restart or a shard handover)."""
        if not_before <= utcnow():
            self.enqueue(envelope.key, [envelope], envelope.inbox_ids)
        else:
            marker = TurnMarker(envelope.key, envelope.inbox_ids)
            self._queue.put((Scheduled(envelope, not_before), marker))

    def forget(self, where: Callable[[ConversationKey], bool]) -> None:
        """The conversations `where` selects moved to another process: drop their
        retries and the replies waiting behind them (once every lane handled what was
        enqueued before this call)."""
        self._queue.put((Forget(where),))

    # -- the coordinating loop -----------------------------------------------------------

    def _run(self) -> None:
        draining = False
        while not (draining and self._in_flight == 0 and self._drained()):
            # Draining: no new retries (they stay pending with their back-off).
            timeout = None if draining else self._seconds_to_next_retry()
            try:
                batch = [self._queue.get(timeout=timeout)]
            except queue.Empty:
                batch = []
            while True:  # drain what is already queued: one status update per batch
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for entry in batch:
                if entry is None:
                    draining = True
                    continue
                for queued in entry:
                    # Once stopping, only the reports of sends in flight count: replies
                    # committed later stay pending in the database for the next start.
                    if not draining or isinstance(queued, Sent):
                        self._route(queued)
            if not draining:
                self._release_due_retries()
            if not self._closing.is_set():
                self._pump()
            self._flush()

    def _drained(self) -> bool:
        """Nothing left to send, or the stop's time is up (what is left stays pending)."""
        return not self._lanes or self._closing.is_set()

    def _seconds_to_next_retry(self) -> float | None:
        if not self._retries:
            return None
        return max(0.0, self._retries[0][0] - time.monotonic())

    def _route(self, item: Queued) -> None:
        if isinstance(item, Sent):
            self._settle(item)
        elif isinstance(item, Forget):
            where = item.where
            self._barrier(lambda: self._forget(where))
        elif isinstance(item, TurnMarker) and item.key.channel not in self._senders:
            self._barrier(lambda: self._markers_batch.append(item))
        else:
            self._lane_append(lane_of(item.key), item)

    def _lane_append(self, name: LaneKey, item: LaneItem, *, first: bool = False) -> None:
        lane = self._lanes.setdefault(name, Lane())
        if first:
            lane.items.appendleft(item)
        else:
            lane.items.append(item)
        if not lane.busy:
            self._ready[name] = None

    def _barrier(self, then: Callable[[], None]) -> None:
        active = [name for name, lane in self._lanes.items() if lane.active]
        if not active:
            then()
            return
        barrier = Barrier(len(active), then)
        for name in active:
            self._lane_append(name, BarrierToken(barrier))

    def _pump(self) -> None:
        """Start a run on every ready lane while fewer than `lanes` are in flight; the
        lanes left waiting keep their turn. Lanes with nothing left are dropped."""
        waiting: dict[LaneKey, None] = {}
        for name in self._ready:
            lane = self._lanes.get(name)
            if lane is None or lane.busy:
                continue
            if not self._up_to_next_send(lane):
                del self._lanes[name]  # idle: reaped
            elif self._in_flight >= self._max_lanes:
                waiting[name] = None
            else:
                lane.busy = True
                self._in_flight += 1
                self._start_run(name, self._take_run(lane))
        self._ready = waiting

    def _up_to_next_send(self, lane: Lane) -> bool:
        """Handle the lane's items up to its next send (left at its head); False when
        the lane holds nothing more."""
        items = lane.items
        while items:
            item = items[0]
            if isinstance(item, RetryDue):
                return True
            if not self._handle_passive(items):
                return True
        return False

    def _handle_passive(self, items: deque[LaneItem]) -> bool:
        """Handle the head item if it needs no send (popping it); False if it does."""
        item = items[0]
        if isinstance(item, BarrierToken):
            items.popleft()
            item.barrier.remaining -= 1
            if item.barrier.remaining == 0:
                item.barrier.then()
            return True
        assert isinstance(item, OutboundEnvelope | TurnMarker | Scheduled)
        key = item.key
        if key in self._blocked:
            items.popleft()
            self._blocked[key].append(item.envelope if isinstance(item, Scheduled) else item)
        elif isinstance(item, OutboundEnvelope):
            return False
        elif isinstance(item, TurnMarker):
            items.popleft()
            self._markers_batch.append(item)
        else:
            items.popleft()
            wait_s = (item.not_before - utcnow()).total_seconds()
            due = time.monotonic() + max(0.0, wait_s)
            heapq.heappush(self._retries, (due, item.envelope.outbox_id, item.envelope))
            self._blocked[key] = deque()
        return True

    def _take_run(self, lane: Lane) -> list[Sendable | TurnMarker]:
        """Pop the lane's next run: a due retry alone, or up to RUN_MAX replies in a row
        with the markers between them (held replies are parked on the way)."""
        items = lane.items
        first = items.popleft()
        assert isinstance(first, Sendable)
        run: list[Sendable | TurnMarker] = [first]
        if isinstance(first, RetryDue):
            return run
        sends = 1
        while items and sends < RUN_MAX:
            item = items[0]
            if isinstance(item, OutboundEnvelope | TurnMarker) and item.key not in self._blocked:
                run.append(item)
                items.popleft()
                sends += isinstance(item, OutboundEnvelope)
            elif isinstance(item, RetryDue | BarrierToken | Scheduled):
                break  # handled between runs
            else:
                self._handle_passive(items)  # parked behind its conversation's retry
        return run

    def _start_run(self, name: LaneKey, run: list[Sendable | TurnMarker]) -> None:
        senders, closing = self._senders, self._closing
        assert self._pool is not None

        def send() -> None:
            done: list[tuple[Sendable | TurnMarker, SendReceipt | Exception | None]] = []
            for position, item in enumerate(run):
                if isinstance(item, TurnMarker):
                    done.append((item, None))
                    continue
                if position and closing.is_set():  # the stop's time is up: left pending
                    self._queue.put((Sent(name, tuple(done), tuple(run[position:])),))
                    return
                envelope = _envelope_of(item)
                outcome = _send(senders.get(envelope.channel), envelope)
                done.append((item, outcome))
                if not isinstance(outcome, SendReceipt):  # later replies may be held
                    self._queue.put((Sent(name, tuple(done), tuple(run[position + 1 :])),))
                    return
            self._queue.put((Sent(name, tuple(done), ()),))

        self._pool.submit(send)

    def _settle(self, report: Sent) -> None:
        lane = self._lanes[report.lane]
        lane.busy = False
        self._in_flight -= 1
        self._ready[report.lane] = None
        for item, outcome in report.done:
            if isinstance(item, TurnMarker):
                self._markers_batch.append(item)
            else:
                assert outcome is not None
                self._settle_send(lane, item, outcome)
        lane.items.extendleft(reversed(report.rest))

    def _settle_send(self, lane: Lane, item: Sendable, outcome: SendReceipt | Exception) -> None:
        envelope = _envelope_of(item)
        key = envelope.key
        with _context(envelope):
            retry = self._conclude(envelope, outcome)
        if retry is None:
            waiting = self._blocked.pop(key, None) if isinstance(item, RetryDue) else None
            if waiting:  # the conversation's held replies go next, before its later ones
                lane.items.extendleft(reversed(waiting))
        elif isinstance(item, RetryDue) and key not in self._blocked:
            log.info("outbox %s: its conversation moved away; not retried here", envelope.outbox_id)
        else:
            self._blocked.setdefault(key, deque())
            heapq.heappush(self._retries, retry)

    def _conclude(
        self, envelope: OutboundEnvelope, outcome: SendReceipt | Exception
    ) -> tuple[float, int, OutboundEnvelope] | None:
        """Record one send's outcome. None when done (sent or dead-lettered), else the
        retry to schedule (due time, id, envelope)."""
        attempts = envelope.attempts + 1
        if isinstance(outcome, TransientSendError):
            delay = self._policy.delay(attempts, outcome.retry_after)
            self._record_failure(envelope, attempts, str(outcome), delay)
            if delay is None:
                OUTBOUND.labels(envelope.channel, "dead_lettered").inc()
                return None
            OUTBOUND.labels(envelope.channel, "retrying").inc()
            retry = replace(envelope, attempts=attempts)
            return (time.monotonic() + delay, envelope.outbox_id, retry)
        if isinstance(outcome, Exception):  # permanent, or a sender bug: never loop
            error = f"{type(outcome).__name__}: {outcome}"
            self._record_failure(envelope, attempts, error, None)
            OUTBOUND.labels(envelope.channel, "dead_lettered").inc()
            return None
        self._sent_batch.append((envelope, outcome.provider_message_id))
        return None

    def _forget(self, where: Callable[[ConversationKey], bool]) -> None:
        kept = [retry for retry in self._retries if not where(retry[2].key)]
        if len(kept) != len(self._retries):
            heapq.heapify(kept)
            self._retries = kept
        for key in [key for key in self._blocked if where(key)]:
            del self._blocked[key]
        for lane in self._lanes.values():
            due = [i for i in lane.items if isinstance(i, RetryDue) and where(i.key)]
            for item in due:
                lane.items.remove(item)

    def _release_due_retries(self) -> None:
        """Due retries go to the head of their lane: the lane's next send."""
        now = time.monotonic()
        while self._retries and self._retries[0][0] <= now:
            _, _, envelope = heapq.heappop(self._retries)
            self._lane_append(lane_of(envelope.key), RetryDue(envelope), first=True)

    def _record_failure(
        self, envelope: OutboundEnvelope, attempts: int, error: str, delay: float | None
    ) -> None:
        level = logging.WARNING if delay is not None else logging.ERROR
        log.log(
            level,
            "outbox %s attempt %d on %s failed: %s%s",
            envelope.outbox_id,
            attempts,
            envelope.channel,
            error,
            "" if delay is not None else " (dead-lettered)",
        )
        self._flush()  # keep the DB in send order before writing this row's failure
        try:
            self._store.mark_failed_attempt(
                envelope.outbox_id,
                attempts,
                error,
                timedelta(seconds=delay) if delay is not None else None,
            )
        except Exception:
            log.exception("could not record failure of outbox %s", envelope.outbox_id)

    def _flush(self) -> None:
        if self._sent_batch:
            sent, self._sent_batch = self._sent_batch, []
            try:
                marked = self._store.mark_sent([(e.outbox_id, p) for e, p in sent])
            except Exception:
                # The replies went out; a restart may re-send them (at-least-once window).
                log.exception("could not mark %d outbox rows sent", len(sent))
                marked = {e.outbox_id for e, _ in sent}
            for envelope, _ in sent:
                if envelope.outbox_id in marked:
                    OUTBOUND.labels(envelope.channel, "sent").inc()
                else:
                    log.warning(
                        "outbox %s was sent here, but another process had already sent or ended it",
                        envelope.outbox_id,
                    )
        if self._markers_batch:
            markers, self._markers_batch = self._markers_batch, []
            for marker in markers:
                for listener in self._listeners:
                    try:
                        listener(marker.inbox_ids)
                    except Exception:
                        log.exception("turn listener failed")


def _context(envelope: OutboundEnvelope) -> AbstractContextManager[None]:
    return log_context(
        tenant_id=envelope.tenant_id,
        conversation_id=envelope.conversation_id,
        channel=envelope.channel,
    )


def _envelope_of(item: Sendable) -> OutboundEnvelope:
    return item.envelope if isinstance(item, RetryDue) else item


def _send(sender: ChannelSender | None, envelope: OutboundEnvelope) -> SendReceipt | Exception:
    """One attempt, on a sender thread: the receipt, or what went wrong."""
    try:
        if sender is None:
            raise PermanentSendError(f"no sender for channel {envelope.channel!r}")
        with _context(envelope):
            return sender.send(envelope)
    except Exception as exc:
        return exc
