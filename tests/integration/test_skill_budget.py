"""The skill time budget is enforced: a skill that hangs gets the customer an apology at
the budget, its late result is dropped, and the conversation goes on meanwhile."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from hablo.bootstrap import Runtime, bootstrap
from hablo.db.enums import SenderKind
from hablo.db.models import Conversation, Message, Tenant, TenantSkill
from hablo.demo import seed_demo
from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from tests.conftest import make_settings
from tests.fakes import CollectingSender
from tests.integration.helpers import inbound, start_collecting

BUDGET_S = 0.5


class Hang:
    """What the hanging skill did: started, and what its late write ran into."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.late_write: BaseException | None = None
        self.finished = threading.Event()


HANG = Hang()


class HangingSkill(Skill):
    name = "hanging"
    intents = (IntentSpec("hang", {"es": ("colgate", "quedate colgado", "colgá todo")}),)

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        HANG.started.set()
        HANG.release.wait(60)  # a provider that does not answer
        try:  # past the budget: this write must not land anywhere
            ctx.bookings()
        except BaseException as exc:
            HANG.late_write = exc
        HANG.finished.set()
        return SkillResult.say("respuesta tardía", state={"late": True})


@pytest.fixture
def hanging_runtime(db_url: str) -> Iterator[tuple[Runtime, uuid.UUID]]:
    global HANG
    HANG = Hang()
    rt = bootstrap(make_settings(db_url), upgrade_schema=False, extra_skills=[HangingSkill])
    with rt.db.transaction() as session:
        tenant_id = seed_demo(session)
        session.add(TenantSkill(tenant_id=tenant_id, skill_name="hanging", enabled=True))
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.settings = {**(tenant.settings or {}), "skill_time_budget_s": BUDGET_S}
    try:
        yield rt, tenant_id
    finally:
        HANG.release.set()
        rt.close()


def test_a_hung_skill_costs_one_apology_not_the_conversation(
    hanging_runtime: tuple[Runtime, uuid.UUID],
) -> None:
    rt, tenant_id = hanging_runtime
    sender = CollectingSender("console")
    turns = start_collecting(rt, sender)
    hung = rt.engine.submit(inbound(tenant_id, "colgate"))
    turns.wait_for([hung.inbox_id], timeout=60)
    assert HANG.started.is_set() and not HANG.finished.is_set()  # still hanging
    assert "tuve un problema" in sender.sent[0].text

    # The same conversation goes on while the skill is still stuck.
    after = rt.engine.submit(inbound(tenant_id, "hola"))
    turns.wait_for([after.inbox_id], timeout=60)
    assert "Peluquería Sol" in sender.sent[1].text
    assert not HANG.finished.is_set()

    HANG.release.set()
    assert HANG.finished.wait(30)
    assert HANG.late_write is not None  # its transaction was given up
    with rt.db.transaction() as session:
        rows = session.execute(
            select(Message.sender_kind, Message.body, Message.error, Message.skill).order_by(
                Message.created_at
            )
        ).all()
        states = session.scalars(select(Conversation.state)).all()
    assert [r.body for r in rows if r.sender_kind == SenderKind.CUSTOMER] == ["colgate", "hola"]
    customer = next(r for r in rows if r.body == "colgate")
    assert customer.error == f"skill hanging overran its budget of {BUDGET_S:.1f}s"
    assert all(r.body != "respuesta tardía" for r in rows)
    assert len(states) == 1 and "late" not in str(states[0])
    assert len(sender.sent) == 2


def test_a_built_in_skill_past_its_budget_is_dropped_too(db_url: str) -> None:
    """Built-in skills run on the conversation's own thread (no helper to hand off to);
    their budget still holds: past it the turn commits the apology, not their result."""
    rt = bootstrap(make_settings(db_url), upgrade_schema=False)
    try:
        with rt.db.transaction() as session:
            tenant_id = seed_demo(session)
            tenant = session.get(Tenant, tenant_id)
            assert tenant is not None
            tenant.settings = {**(tenant.settings or {}), "skill_time_budget_s": 1e-9}
        sender = CollectingSender("console")
        turns = start_collecting(rt, sender)
        hello = rt.engine.submit(inbound(tenant_id, "hola"))
        turns.wait_for([hello.inbox_id], timeout=60)
        assert "tuve un problema" in sender.sent[0].text
        with rt.db.transaction() as session:
            customer = session.execute(
                select(Message.error).where(Message.sender_kind == SenderKind.CUSTOMER)
            ).one()
            assert customer.error is not None and "overran its budget of 0.0s" in customer.error
            bot = session.scalars(
                select(Message.body).where(Message.sender_kind != SenderKind.CUSTOMER)
            ).all()
        assert all("Peluquería Sol" not in body for body in bot)
    finally:
        rt.close()
