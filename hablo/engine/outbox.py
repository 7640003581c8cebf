"""The outbox dispatcher: sends committed replies through their channel, in order per
conversation, retrying transient failures with exponential backoff and jitter, and
dead-lettering after the last attempt. One thread; status updates are batched.

With several processes (the worker tier) a reply belongs to the process that holds its
conversation's shard: when a shard moves away, `forget` drops its retries and the replies
waiting behind them (the new owner resends what is still pending, at the time its back-off
said); a row is marked sent only while it is still pending, so a reply another process
already sent or dead-lettered is not counted (or re-marked) here."""

from __future__ import annotations

import heapq
import logging
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hablo.config.log_context import log_context
from hablo.db.base import utcnow
from hablo.engine.messages import ConversationKey, OutboundEnvelope
from hablo.engine.metrics import OUTBOUND
from hablo.engine.ports import (
    ChannelSender,
    PermanentSendError,
    SendReceipt,
    TransientSendError,
)
from hablo.engine.store import ConversationStore

log = logging.getLogger(__name__)

TurnListener = Callable[[tuple[int, ...]], None]


@dataclass(frozen=True)
class TurnMarker:
    """Queued after a turn's replies: when reached, the turn is fully delivered."""

    key: ConversationKey
    inbox_ids: tuple[int, ...]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_s: float
    max_s: float

    def delay(self, attempts: int, retry_after: float | None) -> float | None:
        """Seconds until the next attempt after `attempts` failures; None = give up."""
        if attempts >= self.max_attempts:
            return None
        backoff = min(self.max_s, self.base_s * 2 ** (attempts - 1))
        jittered = backoff * random.uniform(0.5, 1.0)  # full-ish jitter spreads retries
        return max(jittered, retry_after or 0.0)


@dataclass(frozen=True)
class Scheduled:
    """A pending reply found by recovery while in back-off: first tried at `not_before`
    (UTC), later replies of its conversation wait behind it."""

    envelope: OutboundEnvelope
    not_before: datetime

    @property
    def key(self) -> ConversationKey:
        return self.envelope.key


@dataclass(frozen=True)
class Forget:
    """Drop the retries and waiting replies of the conversations `where` selects."""

    where: Callable[[ConversationKey], bool]


Item = OutboundEnvelope | TurnMarker
Queued = Item | Scheduled | Forget


class OutboxDispatcher:
    def __init__(
        self,
        store: ConversationStore,
        senders: Mapping[str, ChannelSender],
        policy: RetryPolicy,
        listeners: Sequence[TurnListener] = (),
    ) -> None:
        self._store = store
        self._senders = dict(senders)
        self._policy = policy
        self._listeners = list(listeners)
        # One queue item per turn (its replies, then its marker): one wake-up per turn.
        self._queue: queue.SimpleQueue[tuple[Queued, ...] | None] = queue.SimpleQueue()
        self._retries: list[tuple[float, int, OutboundEnvelope]] = []
        # Conversations with a reply waiting for retry: later items wait behind it.
        self._blocked: dict[ConversationKey, deque[Item]] = {}
        self._thread: threading.Thread | None = None
        self._sent_batch: list[tuple[OutboundEnvelope, str | None]] = []
        self._markers_batch: list[TurnMarker] = []

    def add_sender(self, sender: ChannelSender) -> None:
        self._senders[sender.channel] = sender

    def add_listener(self, listener: TurnListener) -> None:
        self._listeners.append(listener)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hablo-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def enqueue(
        self,
        key: ConversationKey,
        envelopes: Sequence[OutboundEnvelope],
        inbox_ids: tuple[int, ...],
    ) -> None:
        """Called right after a turn committed: its replies, then its marker, which waits
        behind the conversation's earlier replies even when this turn has none."""
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
        retries and the replies waiting behind them (handled in queue order, so what was
        enqueued before this call is handled first)."""
        self._queue.put((Forget(where),))

    # -- the loop ------------------------------------------------------------------------

    def _run(self) -> None:
        running = True
        while running:
            timeout = self._seconds_to_next_retry()
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
                if not self._retries:
                    continue
            else:
                if item is None:
                    running = False
            batch: list[Queued] = list(item) if item is not None else []
            while running:  # drain what is already queued: one status update per batch
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    running = False
                else:
                    batch.extend(more)
            for queued in batch:
                self._handle(queued)
            self._run_due_retries()
            self._flush()

    def _seconds_to_next_retry(self) -> float | None:
        if not self._retries:
            return None
        return max(0.0, self._retries[0][0] - time.monotonic())

    def _handle(self, item: Queued) -> None:
        if isinstance(item, Forget):
            self._forget(item.where)
            return
        key = item.key
        if key in self._blocked:
            self._blocked[key].append(item.envelope if isinstance(item, Scheduled) else item)
            return
        if isinstance(item, TurnMarker):
            self._markers_batch.append(item)
            return
        if isinstance(item, Scheduled):
            wait_s = (item.not_before - utcnow()).total_seconds()
            due = time.monotonic() + max(0.0, wait_s)
            heapq.heappush(self._retries, (due, item.envelope.outbox_id, item.envelope))
            self._blocked[key] = deque()
            return
        if not self._attempt(item):
            self._blocked[key] = deque()

    def _forget(self, where: Callable[[ConversationKey], bool]) -> None:
        kept = [retry for retry in self._retries if not where(retry[2].key)]
        if len(kept) != len(self._retries):
            heapq.heapify(kept)
            self._retries = kept
        for key in [key for key in self._blocked if where(key)]:
            del self._blocked[key]

    def _run_due_retries(self) -> None:
        now = time.monotonic()
        while self._retries and self._retries[0][0] <= now:
            _, _, envelope = heapq.heappop(self._retries)
            key = envelope.key
            if not self._attempt(envelope):
                continue  # still blocked; rescheduled by _attempt
            waiting = self._blocked.pop(key, deque())
            while waiting:
                item = waiting.popleft()
                if isinstance(item, TurnMarker):
                    self._markers_batch.append(item)
                elif not self._attempt(item):
                    self._blocked[key] = waiting
                    break

    def _attempt(self, envelope: OutboundEnvelope) -> bool:
        """Try one send. True when done (sent or dead-lettered), False when retrying."""
        with log_context(
            tenant_id=envelope.tenant_id,
            conversation_id=envelope.conversation_id,
            channel=envelope.channel,
        ):
            return self._send_once(envelope)

    def _send_once(self, envelope: OutboundEnvelope) -> bool:
        attempts = envelope.attempts + 1
        sender = self._senders.get(envelope.channel)
        try:
            if sender is None:
                raise PermanentSendError(f"no sender for channel {envelope.channel!r}")
            receipt: SendReceipt = sender.send(envelope)
        except TransientSendError as exc:
            delay = self._policy.delay(attempts, exc.retry_after)
            self._record_failure(envelope, attempts, str(exc), delay)
            if delay is None:
                OUTBOUND.labels(envelope.channel, "dead_lettered").inc()
                return True
            OUTBOUND.labels(envelope.channel, "retrying").inc()
            retry = replace(envelope, attempts=attempts)
            heapq.heappush(self._retries, (time.monotonic() + delay, envelope.outbox_id, retry))
            return False
        except Exception as exc:  # permanent, or a sender bug: dead-letter, never loop
            self._record_failure(envelope, attempts, f"{type(exc).__name__}: {exc}", None)
            OUTBOUND.labels(envelope.channel, "dead_lettered").inc()
            return True
        self._sent_batch.append((envelope, receipt.provider_message_id))
        return True

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
