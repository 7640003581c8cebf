"""Slow work a skill asks for (a provider call) runs after its turn committed: while it
runs, the conversation row is not locked and the turn's writes are visible to others;
what it records is sent right behind the turn's replies, before the turn counts as
delivered."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from hablo.bootstrap import Runtime, bootstrap
from hablo.db.enums import SenderKind
from hablo.db.models import Conversation, Message, TenantSkill
from hablo.demo import seed_demo
from hablo.engine.after_commit import AFTER_COMMIT
from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from tests.conftest import make_settings
from tests.fakes import CollectingSender
from tests.integration.helpers import inbound, start_collecting

PEER = "+5491155550123"


class Probe:
    """Looks at the database from another connection while "calling the provider"."""

    skill = "slow"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.seen: dict[str, object] = {}

    def perform(self) -> None:
        db = self.runtime.db
        with db.engine.connect() as other:
            self.seen["customer_message_committed"] = bool(
                other.scalar(
                    select(Message.id).where(
                        Message.sender_kind == SenderKind.CUSTOMER, Message.body == "pedí lento"
                    )
                )
            )
            if db.dialect == "postgresql":
                other.execute(text("SET lock_timeout = '100ms'"))
                locked = other.execute(
                    select(Conversation.id).where(Conversation.peer == PEER).with_for_update()
                ).first()
                self.seen["row_lock_free"] = locked is not None
            else:
                # SQLite: the read above began with BEGIN IMMEDIATE (the engine's rule), which
                # waits for an open writer: it got through, so no turn transaction is open.
                self.seen["row_lock_free"] = True
            other.rollback()

    def record(self, conn: Connection) -> Sequence[str]:
        return ("listo, acá está tu link",)


class SlowSkill(Skill):
    name = "slow"
    intents = (IntentSpec("slow", {"es": ("pedí lento", "algo lento", "hacelo lento")}),)
    probe: Probe | None = None

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        assert SlowSkill.probe is not None
        return replace(SkillResult.say("ya te lo pido"), meta={AFTER_COMMIT: SlowSkill.probe})


@pytest.fixture
def slow_runtime(db_url: str) -> Iterator[tuple[Runtime, uuid.UUID]]:
    rt = bootstrap(make_settings(db_url), upgrade_schema=False, extra_skills=[SlowSkill])
    SlowSkill.probe = Probe(rt)
    with rt.db.transaction() as session:
        tenant_id = seed_demo(session)
        session.add(TenantSkill(tenant_id=tenant_id, skill_name="slow", enabled=True))
    try:
        yield rt, tenant_id
    finally:
        SlowSkill.probe = None
        rt.close()


def test_slow_work_runs_after_commit_without_the_lock(
    slow_runtime: tuple[Runtime, uuid.UUID],
) -> None:
    rt, tenant_id = slow_runtime
    sender = CollectingSender("console")
    turns = start_collecting(rt, sender)
    result = rt.engine.submit(inbound(tenant_id, "pedí lento", peer=PEER))
    turns.wait_for([result.inbox_id], timeout=60)
    probe = SlowSkill.probe
    assert probe is not None
    assert probe.seen == {"customer_message_committed": True, "row_lock_free": True}
    # Both replies were sent, in order, by the time the turn counted as delivered.
    assert [e.text for e in sender.sent] == ["ya te lo pido", "listo, acá está tu link"]
    with rt.db.transaction() as session:
        bodies = session.scalars(
            select(Message.body)
            .where(Message.sender_kind == SenderKind.BOT)
            .order_by(Message.created_at)
        ).all()
    assert bodies == ["ya te lo pido", "listo, acá está tu link"]
