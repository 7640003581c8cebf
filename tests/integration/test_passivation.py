"""Passivation of conversation actors, on SQLite and PostgreSQL: idle actors stop and
resume from the database; the live-actor cap evicts least recently used idle actors;
an actor with work in flight is never evicted or passivated mid-turn."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import ClassVar

import pykka
import pytest
from sqlalchemy import select

from hablo.bootstrap import Runtime, bootstrap
from hablo.db.models import Conversation, TenantSkill
from hablo.demo import seed_demo
from hablo.engine.conversation_actor import ConversationActor
from hablo.engine.messages import InboundMessage
from hablo.engine.nlu.pipeline import ClassifierCache
from hablo.engine.tenant_actor import TenantActor
from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from tests.conftest import make_settings
from tests.fakes import CollectingSender
from tests.integration.helpers import DeliveredTurns, inbound
from tests.waiting import eventually

_CLASSIFIERS: dict[float, ClassifierCache] = {}
WAIT_S = 15.0  # generous: the CI machine has two cores and runs other suites too


class CounterSkill(Skill):
    """Keeps a counter in the conversation's dialogue state (conversations.state)."""

    name = "counter"
    intents = (
        IntentSpec(
            "count",
            {
                "es": ("contá", "contá uno más", "seguí contando", "sumá uno al contador"),
                "en": ("count", "count one more", "keep counting", "add one to the counter"),
            },
        ),
    )

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        n = int(turn.state.get("n", 0)) + 1
        return SkillResult.say(f"n={n}", state={"n": n})


class HeldSkill(Skill):
    """A slow skill the test controls: each turn signals `entered`, then waits for
    `release` (a gate instead of a fixed sleep, so the test knows it is mid-turn)."""

    name = "held"
    intents = (
        IntentSpec(
            "slow",
            {
                "es": ("lento", "respondé lento", "tomate tu tiempo", "despacito"),
                "en": ("slow", "answer slowly", "take your time"),
            },
        ),
    )
    entered: ClassVar[threading.Semaphore] = threading.Semaphore(0)
    release: ClassVar[threading.Event] = threading.Event()

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        HeldSkill.entered.release()
        if not HeldSkill.release.wait(WAIT_S):
            raise TimeoutError("test never released the held turn")
        return SkillResult.say("listo, sin apuro")


Started = tuple[Runtime, uuid.UUID, CollectingSender, DeliveredTurns]


@pytest.fixture
def start_engine(db_url: str) -> Iterator[Callable[..., Started]]:
    """Bootstraps the demo tenant with the counter and held skills enabled, with
    `overrides` applied to the settings, and starts the engine."""
    runtimes: list[Runtime] = []

    def start(**overrides: object) -> Started:
        settings = make_settings(db_url, **overrides)
        rt = bootstrap(settings, upgrade_schema=False, extra_skills=[CounterSkill, HeldSkill])
        runtimes.append(rt)
        # Training the NLU takes about a second: every test here has the same skills, so
        # they share one trained classifier (the cache is keyed by the training set).
        rt.engine.classifiers = _CLASSIFIERS.setdefault(
            settings.nlu_threshold, ClassifierCache(settings.nlu_threshold)
        )
        with rt.db.transaction() as session:
            tenant_id = seed_demo(session)
            for skill in ("counter", "held"):
                session.add(TenantSkill(tenant_id=tenant_id, skill_name=skill, enabled=True))
        sender = CollectingSender("console")
        turns = DeliveredTurns()
        rt.engine.add_sender(sender)
        rt.engine.add_turn_listener(turns)
        rt.start()
        return rt, tenant_id, sender, turns

    HeldSkill.entered = threading.Semaphore(0)
    HeldSkill.release = threading.Event()
    try:
        yield start
    finally:
        HeldSkill.release.set()  # never leave a turn blocked (it would hold up close())
        for rt in runtimes:
            rt.close()


def settle_routing() -> None:
    """Waits until every tenant actor has handled what was told to it before this call
    (its mailbox is FIFO): whatever it started or evicted shows in the budget now."""
    for ref in pykka.ActorRegistry.get_by_class(TenantActor):
        ref.ask("live_count", timeout=WAIT_S)


def live_conversation_actors() -> int:
    return len(pykka.ActorRegistry.get_by_class(ConversationActor))


def accept_then_route(rt: Runtime, *messages: InboundMessage) -> list[int]:
    """Accepts a burst durably, then routes it in one go, as recovery does.

    On SQLite Engine.submit waits for the write transaction of a running turn (one
    writer at a time, BEGIN IMMEDIATE), so a burst cannot be submitted while a turn is
    held mid-way; accepting first and routing with Engine.recover() puts the whole burst
    in the tenant actor's mailbox at once, on both backends.
    """
    ids = [rt.engine.store.accept(m).inbox_id for m in messages]
    assert rt.engine.recover() == len(messages)
    return ids


def replies_for(sender: CollectingSender, peer: str) -> list[tuple[int, ...]]:
    return [e.inbox_ids for e in list(sender.sent) if e.peer == peer]


def conversation_row(rt: Runtime, peer: str) -> Conversation:
    with rt.db.transaction() as session:
        return session.scalars(select(Conversation).where(Conversation.peer == peer)).one()


# -- (a) idle passivation ----------------------------------------------------------------


def test_idle_actor_is_passivated_and_resumes_the_same_conversation(
    start_engine: Callable[..., Started],
) -> None:
    threads_before = live_conversation_actors()
    rt, tenant_id, sender, turns = start_engine(actor_idle_timeout_s=0.3)
    peer = "+5491155550101"

    first = [rt.engine.submit(inbound(tenant_id, "contá", peer=peer)) for _ in range(2)]
    turns.wait_for(r.inbox_id for r in first)
    assert [e.text for e in sender.sent] == ["n=1", "n=2"]
    before = conversation_row(rt, peer)
    assert before.state["skills"] == {"counter": {"n": 2}}
    assert before.message_count == 4
    assert rt.engine.budget.peak == 1

    # Idle for longer than the timeout: the housekeeping tick passivates the actor,
    # and it really stops (it leaves pykka's registry).
    assert eventually(lambda: rt.engine.budget.live == 0), "idle actor never passivated"
    assert eventually(lambda: live_conversation_actors() <= threads_before)

    # A new message starts a fresh actor that resumes from the database.
    third = rt.engine.submit(inbound(tenant_id, "contá", peer=peer))
    turns.wait_for([third.inbox_id])
    assert [e.text for e in sender.sent] == ["n=1", "n=2", "n=3"]
    assert [e.inbox_ids for e in sender.sent] == [
        (first[0].inbox_id,),
        (first[1].inbox_id,),
        (third.inbox_id,),
    ]
    after = conversation_row(rt, peer)
    assert after.id == before.id
    assert after.contact_id == before.contact_id
    assert after.message_count == 6
    assert after.state["skills"] == {"counter": {"n": 3}}

    # ...and is passivated again once idle.
    assert eventually(lambda: rt.engine.budget.live == 0)


# -- (b) the live-actor cap --------------------------------------------------------------


def test_live_actor_cap_evicts_least_recently_used_idle_actors(
    start_engine: Callable[..., Started],
) -> None:
    cap = 3
    rt, tenant_id, sender, turns = start_engine(actor_max_live=cap)
    budget = rt.engine.budget
    peers = [f"+54911555502{i:02d}" for i in range(10)]
    texts = ["contá", "contá"]  # the counter shows whether a resumed actor kept the state
    ids: dict[str, list[int]] = {p: [] for p in peers}

    # Two rounds over ten customers: each message waits for its reply, so every actor
    # but the newest is idle when the next one starts; in round two every customer's
    # actor was evicted in between and must resume from the database.
    for text in texts:
        for peer in peers:
            result = rt.engine.submit(inbound(tenant_id, text, peer=peer))
            ids[peer].append(result.inbox_id)
            turns.wait_for([result.inbox_id])
            # Eviction happens while the new actor starts, before its turn runs.
            assert budget.live <= cap, f"{budget.live} live actors after {peer}"

    assert len(sender.sent) == 20
    for peer in peers:
        assert replies_for(sender, peer) == [(i,) for i in ids[peer]]
        assert sender.texts_for(peer) == ["n=1", "n=2"]
        row = conversation_row(rt, peer)
        assert row.message_count == 4 and row.state["skills"] == {"counter": {"n": 2}}
    assert sorted(turns.order) == sorted(i for p in peers for i in ids[p])
    # The cap was reached (else this test proves nothing) and exceeded by at most one:
    # TenantActor._start_conversation starts the new actor (budget.acquire) before it
    # evicts the least recently used idle one, so the count briefly reads cap + 1.
    assert cap <= budget.peak <= cap + 1
    settle_routing()
    assert budget.live <= cap


# -- (c) work in flight is never evicted -------------------------------------------------


def test_actor_with_a_turn_in_flight_is_not_evicted_by_the_cap(
    start_engine: Callable[..., Started],
) -> None:
    cap = 1
    rt, tenant_id, sender, turns = start_engine(actor_max_live=cap)
    budget = rt.engine.budget
    slow_peer, other_peer, late_peer = "+5491155550301", "+5491155550302", "+5491155550303"

    # The slow customer's first turn is held mid-way, the second queued behind it; the
    # other customer's actor starts over the cap while the only eviction candidate is
    # busy, so it must stay, and the count stays over the cap for now.
    a1, a2, b1 = accept_then_route(
        rt,
        inbound(tenant_id, "lento", peer=slow_peer),
        inbound(tenant_id, "contá", peer=slow_peer),
        inbound(tenant_id, "hola", peer=other_peer),
    )
    assert HeldSkill.entered.acquire(timeout=WAIT_S), "the slow turn never started"
    settle_routing()
    assert budget.live == 2

    HeldSkill.release.set()
    turns.wait_for([a1, a2, b1])
    assert replies_for(sender, slow_peer) == [(a1,), (a2,)]
    assert sender.texts_for(slow_peer) == ["listo, sin apuro", "n=1"]
    assert replies_for(sender, other_peer) == [(b1,)]

    # Now both are idle: the next actor to start brings the count back under the cap.
    c1 = rt.engine.submit(inbound(tenant_id, "hola", peer=late_peer))
    turns.wait_for([c1.inbox_id])
    settle_routing()
    assert budget.live == cap
    assert len(sender.sent) == 4
    assert conversation_row(rt, slow_peer).message_count == 4


def test_actor_with_a_turn_in_flight_is_not_passivated_when_idle_timeout_passes(
    start_engine: Callable[..., Started],
) -> None:
    rt, tenant_id, sender, turns = start_engine(actor_idle_timeout_s=0.2)
    budget = rt.engine.budget
    peer = "+5491155550401"

    first, second = accept_then_route(
        rt, inbound(tenant_id, "lento", peer=peer), inbound(tenant_id, "contá", peer=peer)
    )
    assert HeldSkill.entered.acquire(timeout=WAIT_S), "the slow turn never started"
    # The turn outlives the idle timeout several times over (housekeeping ticks every
    # 0.1 s): the actor must stay, since stopping it would leave `second` to a new actor.
    time.sleep(0.6)
    settle_routing()
    assert budget.live == 1

    HeldSkill.release.set()
    turns.wait_for([first, second])
    assert [e.inbox_ids for e in sender.sent] == [(first,), (second,)]
    assert [e.text for e in sender.sent] == ["listo, sin apuro", "n=1"]
    # Once really idle it is passivated.
    assert eventually(lambda: budget.live == 0)


# -- after a burst of busy actors, the count returns under the cap ---------------------


def test_live_count_returns_under_the_cap_once_a_burst_is_over(
    start_engine: Callable[..., Started],
) -> None:
    cap = 1
    rt, tenant_id, _sender, turns = start_engine(actor_max_live=cap, actor_idle_timeout_s=60)
    budget = rt.engine.budget

    ids = accept_then_route(
        rt,
        inbound(tenant_id, "lento", peer="+5491155550501"),
        inbound(tenant_id, "hola", peer="+5491155550502"),
        inbound(tenant_id, "hola", peer="+5491155550503"),
    )
    assert HeldSkill.entered.acquire(timeout=WAIT_S)
    settle_routing()
    assert budget.live >= 2  # the held actor could not be evicted
    HeldSkill.release.set()
    turns.wait_for(ids)
    assert budget.peak > cap  # the burst went over the cap (busy actors are not evicted)

    # Everyone is idle now. What the housekeeping thread does on each interval:
    rt.engine.router.tick()
    assert eventually(lambda: budget.live <= cap, timeout=3.0), (
        f"{budget.live} idle actors stay live over a cap of {cap}"
    )


# -- actors are not threads ----------------------------------------------------------------


def test_many_live_conversations_share_the_actor_pool_s_threads(
    start_engine: Callable[..., Started],
) -> None:
    """Sixty conversations answered at once keep sixty live actors but no thread each:
    their turns run on the pool's threads (HABLO_ACTOR_THREADS), in order per peer."""
    rt, tenant_id, sender, turns = start_engine(actor_threads=3)
    peers = [f"+54911555{n:05d}" for n in range(60)]
    threads_before = threading.active_count()
    submitted = [
        rt.engine.submit(inbound(tenant_id, "contá", peer=peer)) for _ in range(2) for peer in peers
    ]
    turns.wait_for(r.inbox_id for r in submitted)

    assert rt.engine.budget.peak == 60
    assert live_conversation_actors() == 60
    assert 1 <= rt.engine.actor_pool.running <= 3
    # The pool, the outbox's senders and timers may have started; sixty threads did not.
    assert threading.active_count() - threads_before < 20
    for peer in peers:
        assert [e.text for e in sender.sent if e.peer == peer] == ["n=1", "n=2"]
