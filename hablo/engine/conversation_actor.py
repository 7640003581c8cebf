"""ConversationActor: one per active conversation; its turns run in arrival order, once."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import pykka
from sqlalchemy.engine import Connection

from hablo.engine.messages import (
    ConversationKey,
    InboxEvent,
    OutboundEnvelope,
    RetryPending,
)
from hablo.engine.skillset import TenantRuntime
from hablo.engine.store import (
    ConversationStore,
    LockedConversation,
    TurnRecord,
)
from hablo.engine.turns import run_turn

log = logging.getLogger(__name__)

RuntimeSource = Callable[[], TenantRuntime]


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


Deliver = Callable[[list[OutboundEnvelope], tuple[int, ...]], None]


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

    def on_receive(self, message: Any) -> None:
        match message:
            case InboxEvent():
                self._pending.append(message)
                if self._retry_timer is None:  # while retrying, keep order: just queue
                    self._drain()
            case RetryPending():
                self._retry_timer = None
                self._drain()
            case _:
                log.warning("conversation %s ignored unexpected %r", self.key, message)

    def on_stop(self) -> None:
        if self._retry_timer is not None:
            self._retry_timer.cancel()

    def _drain(self) -> None:
        while self._pending:
            event = self._pending[0]
            try:
                envelopes = self._process(event)
            except Exception:
                # Infrastructure failure (DB down, lock timeout...): nothing was committed.
                # Keep this event first in line so later messages cannot overtake it.
                log.exception("turn failed in %s; retrying in %.1fs", self.key, self._retry_delay_s)
                self._schedule_retry()
                return
            self._pending.popleft()
            self._deliver(envelopes, (event.inbox_id,))
            self._progress.done += 1

    def _schedule_retry(self) -> None:
        ref = self.actor_ref
        timer = threading.Timer(self._retry_delay_s, lambda: ref.tell(RetryPending()))
        timer.daemon = True
        self._retry_timer = timer
        timer.start()

    def _process(self, event: InboxEvent) -> list[OutboundEnvelope]:
        runtime = self._runtime()
        message = event.message

        def compute(conversation: LockedConversation, _conn: Connection) -> TurnRecord:
            outcome = run_turn(runtime, conversation, message.text)
            return TurnRecord(
                inbox_ids=(event.inbox_id,),
                inbound_text=message.text,
                language=outcome.language,
                intent=outcome.intent,
                confidence=outcome.confidence,
                skill=outcome.skill,
                replies=outcome.replies,
                new_state=outcome.new_state,
                new_status=outcome.new_status,
                error=outcome.error,
                received_at=message.received_at,
            )

        return self._store.process_turn(
            self.key, (event.inbox_id,), compute, message.sender_name
        )
