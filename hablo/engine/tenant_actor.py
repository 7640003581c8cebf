"""TenantActor: one per tenant. Owns the tenant's runtime (profile, skills, NLU) and
routes each inbound event to its conversation's actor, creating actors on demand and
passivating them when idle or when the process-wide live-actor cap is reached."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pykka

from hablo.config.log_context import log_context
from hablo.engine.actor_pool import ActorPool
from hablo.engine.conversation_actor import (
    ConversationActor,
    Deliver,
    Progress,
    TurnRetryPolicy,
)
from hablo.engine.messages import (
    ConversationKey,
    InboxEvent,
    PassivationTick,
    ReloadTenant,
)
from hablo.engine.skillset import TenantRuntime
from hablo.engine.store import ConversationStore

log = logging.getLogger(__name__)
# How stale a tenant's settings may be in this process after another one changed them.
CONFIG_RECHECK_S = 2.0
# How many of the least recently used actors a first contact over the cap looks at.
EVICTION_LOOKS = 8
# How long a stopping tenant waits for its conversations' actors to finish their turns.
STOP_WAIT_S = 5.0


class LiveActorBudget:
    """Process-wide count of live conversation actors (each holds its state in memory;
    their messages run on the shared actor pool)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._live = 0
        self.peak = 0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            self._live += 1
            self.peak = max(self.peak, self._live)

    def release(self) -> None:
        with self._lock:
            self._live -= 1

    @property
    def live(self) -> int:
        return self._live

    @property
    def over(self) -> int:
        return max(0, self._live - self.cap)


@dataclass(frozen=True)
class Shrink:
    """Another tenant needs room: passivate idle actors while the budget is over cap."""


@dataclass(frozen=True)
class Release:
    """This process no longer owns these conversations (a worker gave up their shard):
    stop their actors. Events already queued to an actor run first; anything left
    pending is in the inbox for the new owner."""

    belongs: Callable[[ConversationKey], bool]


@dataclass
class _Live:
    ref: pykka.ActorRef[Any]
    progress: Progress
    last_used: float = 0.0


class TenantActor(pykka.ThreadingActor):
    def __init__(
        self,
        tenant_id: uuid.UUID,
        build_runtime: Callable[[uuid.UUID], TenantRuntime],
        store: ConversationStore,
        deliver: Deliver,
        budget: LiveActorBudget,
        ask_others_to_shrink: Callable[[uuid.UUID], None],
        idle_timeout_s: float,
        retry: TurnRetryPolicy,
        actor_pool: ActorPool,
        config_version: Callable[[uuid.UUID], object] | None = None,
    ) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self._build_runtime = build_runtime
        self._store = store
        self._deliver = deliver
        self._budget = budget
        self._ask_others_to_shrink = ask_others_to_shrink
        self._idle_timeout_s = idle_timeout_s
        self._retry = retry
        self._actor_pool = actor_pool
        self._runtime: TenantRuntime | None = None
        self._live: OrderedDict[ConversationKey, _Live] = OrderedDict()
        # Another process may change the tenant (`hablo tenant import`, an edge's API,
        # a worker elsewhere): its version is compared before a message, at most every
        # CONFIG_RECHECK_S, and the runtime rebuilt when it moved.
        self._config_version = config_version
        self._version: object = None
        self._checked_at = 0.0

    # The runtime is read by conversation actors on their own threads; replacing the
    # attribute is atomic, and the object itself is immutable.
    def current_runtime(self) -> TenantRuntime:
        runtime = self._runtime
        if runtime is None:
            raise RuntimeError(f"tenant {self.tenant_id} has no runtime yet")
        return runtime

    def on_start(self) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        # The version first: a change made while building is seen at the next check.
        if self._config_version is not None:
            self._version = self._config_version(self.tenant_id)
            self._checked_at = time.monotonic()
        self._runtime = self._build_runtime(self.tenant_id)

    def _rebuild_if_changed(self) -> None:
        if self._config_version is None:
            return
        now = time.monotonic()
        if now - self._checked_at < CONFIG_RECHECK_S:
            return
        self._checked_at = now
        try:
            changed = self._config_version(self.tenant_id) != self._version
            if changed:
                self._rebuild()
        except Exception:  # the database is away: keep serving what we have
            log.warning("tenant %s: could not check its settings' version", self.tenant_id)

    def on_stop(self) -> None:
        for entry in self._live.values():
            entry.ref.stop(block=False)
        # One deadline for all: their stops queue behind the actor pool's backlog, and
        # a wait of its own for each would add up under load.
        deadline = time.monotonic() + STOP_WAIT_S
        for entry in self._live.values():
            try:
                entry.ref.actor_stopped.wait(max(0.0, deadline - time.monotonic()))
            finally:
                self._budget.release()
        self._live.clear()

    def on_receive(self, message: Any) -> Any:
        with log_context(tenant_id=self.tenant_id):  # on every line of this message's work
            return self._handle(message)

    def _handle(self, message: Any) -> Any:
        match message:
            case InboxEvent():
                self._rebuild_if_changed()
                self._route(message)
            case PassivationTick():
                self._passivate_idle()
                # A burst of busy actors may have pushed the count over the cap.
                self._evict_while_over_budget()
            case Shrink():
                self._evict_while_over_budget(looks=EVICTION_LOOKS)
            case Release(belongs=belongs):
                for key in [k for k in self._live if belongs(k)]:
                    self._passivate(key)
            case ReloadTenant():
                self._rebuild()
            case "live_count":
                return len(self._live)
            case _:
                log.warning("tenant %s ignored unexpected %r", self.tenant_id, message)
        return None

    def _route(self, event: InboxEvent) -> None:
        key = event.key
        entry = self._live.get(key)
        if entry is not None and not entry.ref.is_alive():
            # Crashed actor: a new one resumes from the DB, first with whatever the old
            # one had accepted but not committed, so order is kept.
            self._forget(key)
            entry = self._start_conversation(key)
            for inbox_id, message in self._store.pending_inbox(key=key):
                if inbox_id < event.inbox_id:
                    entry.progress.routed += 1
                    entry.ref.tell(InboxEvent(inbox_id, message))
        elif entry is None:
            entry = self._start_conversation(key)
        else:
            self._live.move_to_end(key)
        entry.progress.routed += 1
        entry.last_used = time.monotonic()
        entry.ref.tell(event)

    def _start_conversation(self, key: ConversationKey) -> _Live:
        progress = Progress()
        ref = ConversationActor.start(
            key,
            self.current_runtime,
            self._store,
            self._deliver,
            progress,
            self._retry,
            self._actor_pool,
        )
        self._budget.acquire()
        entry = _Live(ref, progress)
        self._live[key] = entry
        if self._budget.over:
            self._evict_while_over_budget(protect=key, looks=EVICTION_LOOKS)
            if self._budget.over:
                self._ask_others_to_shrink(self.tenant_id)
        return entry

    def _evict_while_over_budget(
        self, protect: ConversationKey | None = None, looks: int | None = None
    ) -> None:
        """Passivate least recently used idle actors (never one with work queued).

        At a first contact this looks at a few of the oldest entries only (`looks`): when
        messages arrive faster than turns finish, every live actor has work queued, and a
        walk over all of them at each new conversation took 44 % of a worker's CPU. An
        entry with work in flight is in use now, so it moves to the recent end, marked
        used: the next look starts where this one stopped, and the order stays the order
        of last use, which `_passivate_idle` relies on. Housekeeping walks them all."""
        remaining = len(self._live) if looks is None else min(looks, len(self._live))
        while self._budget.over and remaining > 0:
            remaining -= 1
            key, entry = next(iter(self._live.items()))
            if key == protect or entry.progress.in_flight > 0:
                self._live.move_to_end(key)
                entry.last_used = time.monotonic()
            else:
                self._passivate(key)

    def _passivate_idle(self) -> None:
        deadline = time.monotonic() - self._idle_timeout_s
        for key in list(self._live):
            entry = self._live[key]
            if entry.last_used > deadline:
                break  # ordered by last use: the rest are more recent
            if entry.progress.in_flight <= 0:
                self._passivate(key)

    def _passivate(self, key: ConversationKey) -> None:
        entry = self._live.pop(key)
        # Nothing in flight, so stopping cannot drop or reorder work.
        entry.ref.stop(block=False)
        self._budget.release()

    def _forget(self, key: ConversationKey) -> None:
        self._live.pop(key)
        self._budget.release()
