"""Delivers inbox events to tenant actors. The seam for scale-out: a Redis-backed router
(several worker processes, one owner per conversation) implements the same interface."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import pykka

from hablo.engine.messages import ConversationKey, InboxEvent, PassivationTick, ReloadTenant
from hablo.engine.tenant_actor import LiveActorBudget, Release, Shrink

log = logging.getLogger(__name__)
# How long a stopping process waits for its tenant actors (each first waits for its
# conversations' turns).
TENANT_STOP_S = 30.0


class Router(ABC):
    @abstractmethod
    def deliver(self, event: InboxEvent) -> None:
        """Hand an accepted event to the actor that owns its conversation. Never blocks."""

    @abstractmethod
    def reload_tenant(self, tenant_id: uuid.UUID) -> None:
        """The tenant's configuration changed."""

    @abstractmethod
    def release(self, belongs: Callable[[ConversationKey], bool]) -> None:
        """Stop the actors of these conversations (their queued events run first)."""

    @abstractmethod
    def tick(self) -> None:
        """Periodic housekeeping (passivation of idle conversations)."""

    @abstractmethod
    def live_conversations(self) -> int: ...

    @abstractmethod
    def stop(self) -> None: ...


TenantActorFactory = Callable[[uuid.UUID, Callable[[uuid.UUID], None]], pykka.ActorRef[Any]]


class InProcessRouter(Router):
    def __init__(self, start_tenant: TenantActorFactory, budget: LiveActorBudget) -> None:
        self._start_tenant = start_tenant
        self.budget = budget
        self._tenants: dict[uuid.UUID, pykka.ActorRef[Any]] = {}
        self._lock = threading.Lock()

    def _tenant(self, tenant_id: uuid.UUID) -> pykka.ActorRef[Any]:
        ref = self._tenants.get(tenant_id)
        if ref is not None and ref.is_alive():
            return ref
        with self._lock:
            ref = self._tenants.get(tenant_id)
            if ref is None or not ref.is_alive():
                ref = self._start_tenant(tenant_id, self._shrink_others)
                self._tenants[tenant_id] = ref
            return ref

    def deliver(self, event: InboxEvent) -> None:
        try:
            self._tenant(event.message.tenant_id).tell(event)
        except pykka.ActorDeadError:
            # The tenant actor died between lookup and tell: start a new one, once.
            self._tenant(event.message.tenant_id).tell(event)

    def reload_tenant(self, tenant_id: uuid.UUID) -> None:
        ref = self._tenants.get(tenant_id)
        if ref is not None and ref.is_alive():
            ref.tell(ReloadTenant())

    def release(self, belongs: Callable[[ConversationKey], bool]) -> None:
        for ref in list(self._tenants.values()):
            if ref.is_alive():
                ref.tell(Release(belongs))

    def tick(self) -> None:
        for ref in list(self._tenants.values()):
            if ref.is_alive():
                ref.tell(PassivationTick())

    def _shrink_others(self, asking: uuid.UUID) -> None:
        for tenant_id, ref in list(self._tenants.items()):
            if tenant_id != asking and ref.is_alive():
                ref.tell(Shrink())

    def live_conversations(self) -> int:
        return self.budget.live

    def stop(self) -> None:
        # Not ActorRegistry.stop_all(): it can hang when an actor's thread failed to start.
        with self._lock:
            refs = list(self._tenants.values())
            self._tenants.clear()
        # All asked at once, then waited for against one deadline: each tenant waits
        # for its conversations' turns, and one after the other those waits added up.
        # The stop's future, not `actor_stopped`: pykka sets that before on_stop runs,
        # and on_stop is what hands the tenant's live actors back to the budget.
        stopping = []
        for ref in refs:
            with contextlib.suppress(pykka.ActorDeadError):  # stopped already
                stopping.append(ref.stop(block=False))
        deadline = time.monotonic() + TENANT_STOP_S
        for future in stopping:
            try:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
            except pykka.Timeout:
                log.warning("tenant actor did not stop in time")
