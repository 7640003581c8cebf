"""ConversationActor: one per active conversation; its turns run in arrival order, once."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import pykka
from sqlalchemy.engine import Connection

from hablo.engine.messages import (
    ConversationKey,
    FlushBurst,
    InboxEvent,
    OutboundEnvelope,
    RetryPending,
)
from hablo.engine.plan_limits import run_gated_turn
from hablo.engine.skillset import TenantRuntime
from hablo.engine.store import (
    ConversationStore,
    LockedConversation,
    TurnRecord,
    inbound_attachments,
)

log = logging.getLogger(__name__)

RuntimeSource = Callable[[], TenantRuntime]
# A burst keeps extending the debounce window at most this many times its length.
MAX_BURST_WINDOWS = 3


class Progress:
    """How many events the tenant routed to a conversation actor and how many it finished.

    Each counter has a single writer (the tenant's thread, the conversation's thread), so
    no lock is needed and no message per turn either; routed - done is the work in flight.
    """

    __slots__ = ("done", "routed")

    def __init__(self) -> None:
        self.routed = 0
        self.done = 0

    @property
    def in_flight(self) -> int:
        return self.routed - self.done


Deliver = Callable[[ConversationKey, list[OutboundEnvelope], tuple[int, ...]], None]


class ConversationActor(pykka.ThreadingActor):
    """Holds no state that matters beyond a cache: the DB is the source of truth, so a
    passivated or crashed conversation resumes exactly where it was."""

    def __init__(
        self,
        key: ConversationKey,
        runtime: RuntimeSource,
        store: ConversationStore,
        deliver: Deliver,
        progress: Progress,
        retry_delay_s: float,
    ) -> None:
        super().__init__()
        self.key = key
        self._runtime = runtime
        self._store = store
        self._deliver = deliver
        self._progress = progress
        self._retry_delay_s = retry_delay_s
        self._pending: deque[InboxEvent] = deque()
        self._retry_timer: threading.Timer | None = None
        # Debounce: a burst ("hola" "quiero turno" "para mañana") becomes one turn.
        self._burst_timer: threading.Timer | None = None
        self._burst_generation = 0
        self._burst_started = 0.0

    def on_receive(self, message: Any) -> None:
        match message:
            case InboxEvent():
                self._pending.append(message)
                if self._retry_timer is not None:
                    return  # while retrying, keep order: just queue
                window = self._debounce_s()
                if window <= 0:
                    self._drain()
                elif self._burst_timer is None:
                    self._burst_started = time.monotonic()
                    self._arm_burst_timer(window)
                elif time.monotonic() - self._burst_started < window * MAX_BURST_WINDOWS:
                    self._arm_burst_timer(window)  # sliding window, capped
            case FlushBurst(generation=generation):
                if generation == self._burst_generation and self._burst_timer is not None:
                    self._burst_timer = None
                    if self._retry_timer is None:
                        self._drain()
            case RetryPending():
                self._retry_timer = None
                self._drain()
            case _:
                log.warning("conversation %s ignored unexpected %r", self.key, message)

    def on_stop(self) -> None:
        for timer in (self._retry_timer, self._burst_timer):
            if timer is not None:
                timer.cancel()

    def _debounce_s(self) -> float:
        return float(self._runtime().profile.settings.get("debounce_ms", 0)) / 1000

    def _arm_burst_timer(self, window: float) -> None:
        if self._burst_timer is not None:
            self._burst_timer.cancel()
        self._burst_generation += 1
        generation, ref = self._burst_generation, self.actor_ref
        timer = threading.Timer(window, lambda: ref.tell(FlushBurst(generation)))
        timer.daemon = True
        self._burst_timer = timer
        timer.start()

    def _drain(self) -> None:
        batch_all = self._debounce_s() > 0
        while self._pending:
            batch = list(self._pending) if batch_all else [self._pending[0]]
            try:
                claimed, envelopes = self._process(batch)
            except Exception:
                # Infrastructure failure (DB down, lock timeout...): nothing was committed.
                # Keep these events first in line so later messages cannot overtake them.
                log.exception("turn failed in %s; retrying in %.1fs", self.key, self._retry_delay_s)
                self._schedule_retry()
                return
            for _ in batch:
                self._pending.popleft()
            if claimed:  # an already-processed redelivery is not reported again
                self._deliver(self.key, envelopes, claimed)
            self._progress.done += len(batch)

    def _schedule_retry(self) -> None:
        ref = self.actor_ref
        timer = threading.Timer(self._retry_delay_s, lambda: ref.tell(RetryPending()))
        timer.daemon = True
        self._retry_timer = timer
        timer.start()

    def _process(self, batch: list[InboxEvent]) -> tuple[tuple[int, ...], list[OutboundEnvelope]]:
        runtime = self._runtime()
        by_id = {event.inbox_id: event.message for event in batch}

        def compute(
            conversation: LockedConversation, conn: Connection, claimed: tuple[int, ...]
        ) -> TurnRecord:
            messages = [by_id[i] for i in claimed]
            text = "\n".join(m.text for m in messages)
            # The plan gate: a suspended or out-of-messages tenant does not run skills.
            outcome = run_gated_turn(runtime, conversation, text, conn)
            return TurnRecord(
                inbox_ids=claimed,
                inbound=tuple((m.text, m.received_at) for m in messages),
                inbound_attachments=tuple(inbound_attachments(m.extra) for m in messages),
                language=outcome.language,
                intent=outcome.intent,
                confidence=outcome.confidence,
                skill=outcome.skill,
                replies=outcome.replies,
                reply_extras=outcome.reply_extras,
                new_state=outcome.new_state,
                new_status=outcome.new_status,
                error=outcome.error,
            )

        return self._store.process_turn(
            self.key, tuple(by_id), compute, batch[0].message.sender_name
        )
