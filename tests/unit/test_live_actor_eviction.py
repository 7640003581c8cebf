"""The live-actor cap's eviction, on a TenantActor's own bookkeeping (no threads, no
database): least recently used idle actors go first, an actor with work in flight never
goes, and a first contact over the cap looks at a few entries only, however many are busy."""

from __future__ import annotations

import uuid
from typing import Any

from hablo.engine.actor_pool import ActorPool
from hablo.engine.conversation_actor import Progress, TurnRetryPolicy
from hablo.engine.messages import ConversationKey
from hablo.engine.tenant_actor import EVICTION_LOOKS, LiveActorBudget, TenantActor, _Live

TENANT = uuid.uuid4()


class StoppableRef:
    """Stands in for an actor ref: eviction only stops it."""

    def __init__(self) -> None:
        self.stopped = False

    def stop(self, block: bool = True) -> None:
        self.stopped = True


def key(n: int) -> ConversationKey:
    return ConversationKey(TENANT, "whatsapp", f"+54911{n:08d}")


def tenant_with(busy: list[bool], cap: int) -> tuple[TenantActor, LiveActorBudget]:
    """A tenant actor (not started) holding one live entry per flag, oldest first."""
    budget = LiveActorBudget(cap)
    actor = TenantActor(
        TENANT,
        build_runtime=lambda _tenant: None,  # type: ignore[arg-type,return-value]
        store=None,  # type: ignore[arg-type]
        deliver=lambda *_args: None,
        budget=budget,
        ask_others_to_shrink=lambda _tenant: None,
        idle_timeout_s=60.0,
        retry=TurnRetryPolicy(1.0, 2.0, 3),
        actor_pool=ActorPool(1),
    )
    for n, is_busy in enumerate(busy):
        progress = Progress()
        progress.routed = 1
        progress.done = 0 if is_busy else 1
        ref: Any = StoppableRef()
        actor._live[key(n)] = _Live(ref, progress, last_used=float(n))
        budget.acquire()
    return actor, budget


def test_least_recently_used_idle_actors_are_evicted_first() -> None:
    actor, budget = tenant_with([False, False, False, False], cap=2)
    actor._evict_while_over_budget()
    assert list(actor._live) == [key(2), key(3)]
    assert budget.live == 2


def test_a_busy_actor_is_kept_and_counts_as_just_used() -> None:
    actor, budget = tenant_with([True, False, False], cap=2)
    busy_entry = actor._live[key(0)]
    actor._evict_while_over_budget()
    assert list(actor._live) == [key(2), key(0)]  # the idle one behind it went
    assert busy_entry.last_used > 2.0  # stays in order of last use
    assert not busy_entry.ref.stopped  # type: ignore[attr-defined]
    assert budget.live == 2


def test_the_protected_new_actor_is_never_evicted() -> None:
    actor, budget = tenant_with([False, False], cap=1)
    actor._evict_while_over_budget(protect=key(0))
    assert list(actor._live) == [key(0)]
    assert budget.live == 1


def test_a_first_contact_looks_at_a_few_entries_when_all_are_busy() -> None:
    many = 10 * EVICTION_LOOKS
    actor, budget = tenant_with([True] * many + [False], cap=1)
    before = list(actor._live)
    actor._evict_while_over_budget(looks=EVICTION_LOOKS)
    # Only the oldest EVICTION_LOOKS were looked at (moved to the recent end); the idle
    # actor behind them is left for a later look or the housekeeping walk.
    assert list(actor._live) == before[EVICTION_LOOKS:] + before[:EVICTION_LOOKS]
    assert budget.live == many + 1
    # The housekeeping walk looks at all of them and finds it.
    actor._evict_while_over_budget()
    assert key(many) not in actor._live
    assert budget.live == many


def test_successive_looks_go_round_the_busy_actors() -> None:
    actor, budget = tenant_with([True] * (3 * EVICTION_LOOKS) + [False], cap=1)
    for _ in range(3):
        actor._evict_while_over_budget(looks=EVICTION_LOOKS)
    assert budget.live == 3 * EVICTION_LOOKS + 1  # not reached yet
    actor._evict_while_over_budget(looks=EVICTION_LOOKS)
    assert budget.live == 3 * EVICTION_LOOKS
