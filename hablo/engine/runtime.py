"""The Engine: the one object adapters talk to. Accepts inbound messages durably, routes
them to actors, sends replies through the outbox, and recovers after a crash."""

from __future__ import annotations

import logging
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pykka

from hablo.config import Settings
from hablo.db.base import utcnow
from hablo.db.database import Database
from hablo.engine.actor_pool import ActorPool
from hablo.engine.context import Clock, TenantServices, system_clock
from hablo.engine.conversation_actor import TurnRetryPolicy
from hablo.engine.messages import ConversationKey, InboundMessage, InboxEvent, SubmitResult
from hablo.engine.metrics import INBOUND, TurnClock
from hablo.engine.nlu.model_store import REGENERATE_HINT, DbModelStore, model_key
from hablo.engine.nlu.pipeline import ClassifierCache
from hablo.engine.outbox import OutboxDispatcher, RetryPolicy, TurnListener
from hablo.engine.pg_store import make_store
from hablo.engine.ports import ChannelSender, PaymentDeskFactory
from hablo.engine.router import InProcessRouter, Router
from hablo.engine.skillset import (
    AttachAssistant,
    TenantRuntime,
    build_tenant_runtime,
    build_tenant_services,
    builtin_training_set,
    enabled_skills,
)
from hablo.engine.tenant_actor import LiveActorBudget, TenantActor
from hablo.engine.tenant_profile import TenantProfile, config_version, load_profile
from hablo.plugins.loader import SkillRegistry
from hablo.plugins.sdk import Skill
from hablo.tenancy import plan_gate

log = logging.getLogger(__name__)
_STRIPES = 64
# How long a stopping engine waits for the actor pool to finish the turns it holds.
POOL_DRAIN_S = 10.0

KeyFilter = Callable[[ConversationKey], bool]


def _everything(key: ConversationKey) -> bool:
    return True


@dataclass
class _Job:
    name: str
    interval_s: float
    run: Callable[[], object]
    # Acts only on conversations this process owns (filters by `Engine.owns` itself), so
    # every process that runs jobs runs it; else one process of a deployment does.
    per_conversation: bool = False
    due: float = 0.0


class Engine:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        registry: SkillRegistry,
        clock: Clock = system_clock,
        classifiers: ClassifierCache | None = None,
        payments: PaymentDeskFactory | None = None,
        assistant: AttachAssistant | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.registry = registry
        self.clock = clock
        self.store = make_store(db)
        # A tenant whose model is not stored yet is served by the shipped one while its own
        # trains in the background (unless settings want the exact model first).
        self.classifiers = classifiers or ClassifierCache(
            settings.nlu_threshold,
            DbModelStore(db),
            wait_for_exact=not settings.nlu_train_in_background,
        )
        # The outer layers' side of the engine's ports (None: payments offline, no LLM mode).
        self.payments = payments
        self.assistant = assistant
        self.budget = LiveActorBudget(settings.actor_max_live)
        self.actor_pool = ActorPool(settings.actor_thread_count)
        self.dispatcher = OutboxDispatcher(
            self.store,
            {},
            RetryPolicy(
                settings.outbox_max_attempts,
                settings.outbox_backoff_base_s,
                settings.outbox_backoff_max_s,
            ),
            lanes=settings.outbox_lanes,
        )
        self.router: Router = InProcessRouter(self._start_tenant_actor, self.budget)
        self.turn_clock = TurnClock()
        self.dispatcher.add_listener(self.turn_clock.delivered)
        # Arrival order per conversation = inbox id order: insert and hand-off happen
        # under the same lock stripe, so two threads cannot swap them.
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        self._stop = threading.Event()
        self._housekeeper: threading.Thread | None = None
        self._jobs: list[_Job] = []
        # What this process may touch (ARCHITECTURE "Processes"): recovery and the sweep
        # only pick up conversations inside `scope` whose channel has a sender here, so a
        # CLI tool or an edge never runs, resends or dead-letters another process's work.
        # A worker narrows the scope to the shards it holds.
        self.scope: KeyFilter = _everything
        self._channels: set[str] = set()
        # Periodic jobs run where this says (a CLI tool or a pure edge: never); the
        # deployment-wide ones (usage recount, staff mails) only where `leads_jobs` says
        # too: a worker leads while it holds the housekeeping shard.
        self.runs_jobs: Callable[[], bool] = lambda: True
        self.leads_jobs: Callable[[], bool] = lambda: True
        # Where an accepted event goes: the local actors, or a doorbell to the worker
        # that owns its conversation (hablo.worker).
        self.ring: Callable[[InboxEvent], None] | None = None
        # A tenant's skills beyond the installed ones (its remote skills: bootstrap hands
        # in hablo.plugins.remote_store's, with the key ring and the SSRF policy).
        self.extra_skills: Callable[[TenantProfile], Mapping[str, Skill]] | None = None

    # -- wiring --------------------------------------------------------------------------

    def add_sender(self, sender: ChannelSender) -> None:
        self.dispatcher.add_sender(sender)
        self._channels.add(sender.channel)

    def owns(self, key: ConversationKey) -> bool:
        """Whether this process runs and sends for this conversation."""
        return key.channel in self._channels and self.scope(key)

    def add_turn_listener(self, listener: TurnListener) -> None:
        """Called with a turn's inbox ids once all its replies were handed to the channel."""
        self.dispatcher.add_listener(listener)

    def build_runtime(self, tenant_id: uuid.UUID) -> TenantRuntime:
        with self.db.transaction() as session:
            profile = load_profile(session, tenant_id)
        return build_tenant_runtime(
            profile,
            self.registry,
            self.classifiers,
            self.clock,
            extra_skills=self.extra_skills,
            payments=self.payments,
            assistant=self.assistant,
        )

    def tenant_services(self, tenant_id: uuid.UUID) -> TenantServices:
        with self.db.transaction() as session:
            profile = load_profile(session, tenant_id)
        skills = enabled_skills(self.registry, profile)
        return build_tenant_services(profile, skills, self.clock, self.payments)

    def add_job(
        self,
        name: str,
        interval_s: float,
        job: Callable[[], object],
        *,
        per_conversation: bool = False,
    ) -> None:
        """Run `job` every `interval_s` seconds on the housekeeping thread. A
        `per_conversation` job must act only on conversations `owns` accepts."""
        self._jobs.append(_Job(name, interval_s, job, per_conversation))

    def _start_tenant_actor(self, tenant_id: uuid.UUID, shrink_others: Any) -> pykka.ActorRef[Any]:
        return TenantActor.start(
            tenant_id,
            self.build_runtime,
            self.store,
            self.dispatcher.enqueue,
            self.budget,
            shrink_others,
            self.settings.actor_idle_timeout_s,
            TurnRetryPolicy(
                self.settings.turn_retry_delay_s,
                self.settings.turn_retry_max_delay_s,
                self.settings.turn_max_attempts,
            ),
            self.actor_pool,
            config_version=self._config_version,
        )

    def _config_version(self, tenant_id: uuid.UUID) -> object:
        with self.db.transaction() as session:
            return config_version(session, tenant_id)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        shipped = self.classifiers.preload()
        if shipped is not None and shipped != model_key(builtin_training_set(self.registry)):
            log.warning(
                "the shipped NLU weights were trained on other examples than the built-in "
                "skills' (%s); they stand in while each tenant's own model trains",
                REGENERATE_HINT,
            )
        self.dispatcher.start()
        self.recover()
        self._housekeeper = threading.Thread(
            target=self._housekeeping, name="hablo-housekeeping", daemon=True
        )
        self._housekeeper.start()

    def stop(self) -> None:
        self._stop.set()
        if self._housekeeper is not None:
            self._housekeeper.join(5)
        self.router.stop()
        if not self.actor_pool.close(wait_s=POOL_DRAIN_S):
            log.warning("engine stop: turns still running after %.0f s", POOL_DRAIN_S)
        self.dispatcher.stop()
        self.classifiers.close()

    def recover(self, older_than_s: float | None = None, where: KeyFilter = _everything) -> int:
        """Redeliver accepted-but-unprocessed messages and resend unsent replies of the
        conversations this process owns (and `where` selects).

        Safe to repeat: a redelivered event that was processed meanwhile is skipped by
        the inbox claim inside the turn transaction.
        """

        def mine(key: ConversationKey) -> bool:
            return self.owns(key) and where(key)

        cutoff = utcnow() - timedelta(seconds=older_than_s) if older_than_s else None
        if older_than_s is None:
            for envelope, not_before in self.store.pending_outbox_schedule():
                if mine(envelope.key):  # a reply waiting for a retry keeps its back-off
                    self.dispatcher.enqueue_pending(envelope, not_before)
        pending = [
            (inbox_id, message)
            for inbox_id, message in self.store.pending_inbox(older_than=cutoff)
            if mine(message.key)
        ]
        for inbox_id, message in pending:
            with self._stripe(message):
                self.router.deliver(InboxEvent(inbox_id, message))
        if pending:
            log.info("recovery redelivered %d pending inbound messages", len(pending))
        return len(pending)

    def _housekeeping(self) -> None:
        interval = min(5.0, self.settings.actor_idle_timeout_s / 2)
        self._jobs.insert(
            0,
            _Job(
                "recovery sweep",
                self.settings.recovery_sweep_s,
                lambda: self.recover(older_than_s=self.settings.recovery_sweep_s),
            ),
        )
        while not self._stop.wait(interval):
            self.router.tick()
            now = time.monotonic()
            for job in self._jobs:
                if job.name != "recovery sweep" and not (
                    self.runs_jobs() and (job.per_conversation or self.leads_jobs())
                ):
                    continue
                if now >= job.due:
                    job.due = now + job.interval_s
                    try:
                        job.run()
                    except Exception:
                        log.exception("job %s failed", job.name)

    # -- the edge ------------------------------------------------------------------------

    def _stripe(self, message: InboundMessage) -> threading.Lock:
        digest = zlib.crc32(f"{message.tenant_id}|{message.channel}|{message.peer}".encode())
        return self._stripes[digest % _STRIPES]

    def submit(self, message: InboundMessage) -> SubmitResult:
        """Accept an inbound message: durable first, then routed. Blocking (DB I/O): call
        it from a thread, or from asyncio through the bridge."""
        with self._stripe(message):
            result = self.store.accept(message)
            if not result.duplicate:
                INBOUND.labels(message.key.channel).inc()
                self.turn_clock.accepted(result.inbox_id)
                (self.ring or self.router.deliver)(InboxEvent(result.inbox_id, message))
        return result

    def reload_tenant(self, tenant_id: uuid.UUID) -> None:
        plan_gate.forget(tenant_id)
        self.router.reload_tenant(tenant_id)
