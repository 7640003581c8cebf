"""ConversationActor: one per active conversation; its turns run in arrival order, once."""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from hablo.config.log_context import bind_log_context, log_context
from hablo.db.enums import ConversationStatus
from hablo.db.staff_events import record_handoff_requested
from hablo.engine.actor_pool import ActorPool, PooledActor
from hablo.engine.after_commit import AfterCommit
from hablo.engine.assisted_turn import Phrasing, ask_unlocked, phrase_committed
from hablo.engine.failures import backoff, describe, is_transient
from hablo.engine.messages import (
    ConversationKey,
    FlushBurst,
    InboundMessage,
    InboxEvent,
    OutboundEnvelope,
    RetryPending,
)
from hablo.engine.plan_limits import run_gated_turn
from hablo.engine.skillset import TenantRuntime
from hablo.engine.store import (
    ConversationStore,
    LockedConversation,
    TurnComputer,
    TurnRecord,
    inbound_attachments,
)
from hablo.engine.timers import Timer, Timers
from hablo.engine.turns import SkillOverrun, TurnOutcome

log = logging.getLogger(__name__)

RuntimeSource = Callable[[], TenantRuntime]
QUARANTINE_TEMPLATE = "message_quarantined"
SKILL_ERROR = "skill_error"


@dataclass(frozen=True)
class TurnRetryPolicy:
    """Failed turns: outages retried after base_s, doubling up to max_s, without end; any
    other failure at most max_attempts times, then the message is quarantined."""

    base_s: float
    max_s: float
    max_attempts: int


# Burst windows and retry back-offs of every conversation: one thread, not one each.
TIMERS = Timers()
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


def _phrases_later(outcome: TurnOutcome) -> bool:
    assisted = outcome.assisted
    failed = outcome.error is not None
    return assisted is not None and assisted.needs_phrasing(outcome.replies, failed)


Deliver = Callable[[ConversationKey, list[OutboundEnvelope], tuple[int, ...]], None]


class ConversationActor(PooledActor):
    """Holds no state that matters beyond a cache: the DB is the source of truth, so a
    passivated or crashed conversation resumes exactly where it was. Its messages run on
    the process's actor pool, not on a thread of its own (`actor_pool`)."""

    def __init__(
        self,
        key: ConversationKey,
        runtime: RuntimeSource,
        store: ConversationStore,
        deliver: Deliver,
        progress: Progress,
        retry: TurnRetryPolicy,
        actor_pool: ActorPool,
    ) -> None:
        super().__init__(actor_pool)
        self.key = key
        self._runtime = runtime
        self._store = store
        self._deliver = deliver
        self._progress = progress
        self._retry = retry
        self._outage_failures = 0  # consecutive transient failures (the backoff's step)
        self._isolating = False
        self._pending: deque[InboxEvent] = deque()
        self._retry_timer: Timer | None = None
        # Debounce: a burst ("hola" "quiero turno" "para mañana") becomes one turn.
        self._burst_timer: Timer | None = None
        self._burst_generation = 0
        self._burst_started = 0.0
        self._conversation_id: uuid.UUID | None = None  # known after the first turn

    def on_receive(self, message: Any) -> None:
        # Every log line of this message's handling names the tenant and the conversation.
        with log_context(
            tenant_id=self.key.tenant_id,
            channel=self.key.channel,
            conversation_id=self._conversation_id,
        ):
            self._handle(message)

    def _handle(self, message: Any) -> None:
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
        self._burst_timer = TIMERS.call_later(window, lambda: ref.tell(FlushBurst(generation)))

    def _drain(self) -> None:
        while self._pending:
            # After a failure in a burst, one message at a time: only the bad one is set aside.
            batch_all = self._debounce_s() > 0 and not self._isolating
            batch = list(self._pending) if batch_all else [self._pending[0]]
            try:
                claimed, envelopes = self._process(batch)
            except Exception as exc:  # nothing was committed: these events stay first in line
                if not self._after_failure(batch, exc):
                    return
                continue
            self._outage_failures = 0
            self._isolating = False
            self._finish(len(batch), claimed, envelopes)

    def _finish(
        self, count: int, claimed: tuple[int, ...], envelopes: list[OutboundEnvelope]
    ) -> None:
        for _ in range(count):
            self._pending.popleft()
        if claimed:  # an already-processed redelivery is not reported again
            self._deliver(self.key, envelopes, claimed)
        self._progress.done += count

    def _after_failure(self, batch: list[InboxEvent], exc: Exception) -> bool:
        """Decide what a failed turn means; True when the queue can go on at once."""
        if is_transient(exc):
            # An outage (DB down, lock timeout) says nothing about the message: it is not
            # counted against it, and retried with capped backoff, order kept.
            self._retry_after_outage(describe(exc))
            return False
        if len(batch) > 1:
            self._isolating = True
            return True
        event, error = batch[0], describe(exc)
        try:
            attempts = self._store.record_turn_failure((event.inbox_id,), error)
            if attempts < self._retry.max_attempts:
                log.warning(
                    "turn failed in %s, inbox %d, attempt %d of %d: %s",
                    self.key,
                    event.inbox_id,
                    attempts,
                    self._retry.max_attempts,
                    error,
                    exc_info=exc if attempts == 1 else None,  # one traceback per message
                )
                self._schedule_retry(backoff(self._retry.base_s, self._retry.max_s, attempts))
                return False
            envelopes = self._quarantine(event, error)
        except Exception as bookkeeping:  # the DB went away meanwhile: try it all again
            self._retry_after_outage(describe(bookkeeping))
            return False
        log.error(
            "inbox %d of %s quarantined after %d failed turns: %s",
            event.inbox_id,
            self.key,
            attempts,
            error,
        )
        self._isolating = False
        self._finish(1, (event.inbox_id,) if envelopes else (), envelopes)
        return True

    def _retry_after_outage(self, error: str) -> None:
        self._outage_failures += 1
        delay = backoff(self._retry.base_s, self._retry.max_s, self._outage_failures)
        log.warning("turn failed in %s (%s); retrying in %.1fs", self.key, error, delay)
        self._schedule_retry(delay)

    def _quarantine(self, event: InboxEvent, error: str) -> list[OutboundEnvelope]:
        messages = [(event.inbox_id, event.message)]
        try:
            return self._store.quarantine(self.key, messages, error, self._apology)
        except Exception as exc:
            if is_transient(exc):
                raise
            # Writing the customer's text into the transcript may be what fails.
            return self._store.quarantine(self.key, messages, error, self._apology, keep_text=False)

    def _apology(self, language: str | None) -> tuple[str, str]:
        runtime = self._runtime()
        lang = language or runtime.profile.info.language
        text = runtime.services.say(QUARANTINE_TEMPLATE, lang)
        return lang, text

    def _schedule_retry(self, delay_s: float) -> None:
        ref = self.actor_ref
        self._retry_timer = TIMERS.call_later(delay_s, lambda: ref.tell(RetryPending()))

    def _process(self, batch: list[InboxEvent]) -> tuple[tuple[int, ...], list[OutboundEnvelope]]:
        runtime = self._runtime()
        by_id = {event.inbox_id: event.message for event in batch}
        # LLM mode: the model is asked before the turn's transaction, with nothing held.
        asked = ask_unlocked(
            runtime, self._store, self.key, "\n".join(m.text for m in by_id.values())
        )

        def compute(
            conversation: LockedConversation, conn: Connection, claimed: tuple[int, ...]
        ) -> TurnRecord:
            if self._conversation_id != conversation.id:
                self._conversation_id = conversation.id
                bind_log_context(conversation_id=conversation.id)
            messages = [by_id[i] for i in claimed]
            text = "\n".join(m.text for m in messages)
            assisted = asked.for_write(conversation) if asked is not None else None
            # The plan gate: a suspended or out-of-messages tenant does not run skills.
            outcome = run_gated_turn(runtime, conversation, text, conn, assisted)
            later[:] = outcome.after_commit
            if _phrases_later(outcome):
                # Written now in the skills' words, reworded before they are sent.
                assert outcome.assisted is not None
                failed = outcome.error is not None
                to_phrase[:] = [
                    Phrasing(outcome.assisted, outcome.replies, failed, conversation.id, claimed)
                ]
            elif asked is not None:
                asked.assisted.record(conn, conversation.id, claimed[-1])
            if outcome.new_status == ConversationStatus.WAITING_HUMAN != conversation.status:
                # Staff are told in this same transaction (the console, then e-mail).
                record_handoff_requested(
                    conn,
                    self.key.tenant_id,
                    conversation.id,
                    self.key.channel,
                    str(claimed[-1]),
                    text,
                )
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

        later: list[AfterCommit] = []
        to_phrase: list[Phrasing] = []
        sender = batch[0].message.sender_name
        try:
            claimed, envelopes = self._store.process_turn(self.key, tuple(by_id), compute, sender)
            if claimed and to_phrase:
                envelopes = phrase_committed(self._store, self.key, to_phrase[0], envelopes)
            if claimed and later:
                envelopes = envelopes + self._after_commit(later)
            return claimed, envelopes
        except SkillOverrun as overrun:
            # That transaction was given up at the budget and the late result is dropped:
            # the customer's messages and an apology commit now, the state as it was.
            apology = self._overrun_apology(runtime, by_id, overrun)
            return self._store.process_turn(self.key, tuple(by_id), apology, sender)

    def _after_commit(self, works: list[AfterCommit]) -> list[OutboundEnvelope]:
        """The slow work the turn's skills asked for: no transaction is open while it runs;
        what it records commits on its own. The turn is already committed, so a failure
        here is logged, never retried as the turn."""
        envelopes: list[OutboundEnvelope] = []
        for work in works:
            try:
                work.perform()
                envelopes.extend(self._store.commit_followup(self.key, work.skill, work.record))
            except Exception:
                log.exception("after-commit work of %s failed in %s", work.skill, self.key)
        return envelopes

    @staticmethod
    def _overrun_apology(
        runtime: TenantRuntime, by_id: dict[int, InboundMessage], overrun: SkillOverrun
    ) -> TurnComputer:
        def apologise(
            conversation: LockedConversation, conn: Connection, claimed: tuple[int, ...]
        ) -> TurnRecord:
            messages = [by_id[i] for i in claimed]
            language = conversation.language or runtime.profile.info.language
            return TurnRecord(
                inbox_ids=claimed,
                inbound=tuple((m.text, m.received_at) for m in messages),
                inbound_attachments=tuple(inbound_attachments(m.extra) for m in messages),
                language=language,
                intent=None,
                confidence=0.0,
                skill=overrun.skill,
                replies=(runtime.services.for_turn(None).render(SKILL_ERROR, language),),
                new_state=None,
                error=str(overrun),
            )

        return apologise
