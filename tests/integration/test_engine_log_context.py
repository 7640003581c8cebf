"""Engine log lines name their tenant and conversation: a skill's line (logged on the
conversation actor's thread, during the turn) and a sender's line (on the outbox
dispatcher's thread) carry the ids of the conversation they are about, and a line of
another conversation never carries them."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from hablo.bootstrap import Runtime, bootstrap
from hablo.db.models import Conversation, TenantSkill
from hablo.demo import seed_demo
from hablo.engine.messages import OutboundEnvelope
from hablo.observability.logs import JsonFormatter
from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from tests.conftest import make_settings
from tests.fakes import CollectingSender
from tests.integration.helpers import inbound, start_collecting

LOGGER = "hablo.tests.engine_log_context"


class NoisySkill(Skill):
    name = "noisy"
    intents = (IntentSpec("noisy", {"es": ("hacé ruido", "ruido por favor", "mucho ruido")}),)

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        logging.getLogger(LOGGER).warning("skill heard %s", turn.text)
        return SkillResult.say("ruido hecho")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    logger.propagate = False
    yield buffer
    logger.removeHandler(handler)
    logger.propagate = True


@pytest.fixture
def noisy_runtime(db_url: str) -> Iterator[tuple[Runtime, uuid.UUID]]:
    rt = bootstrap(make_settings(db_url), upgrade_schema=False, extra_skills=[NoisySkill])
    with rt.db.transaction() as session:
        tenant_id = seed_demo(session)
        session.add(TenantSkill(tenant_id=tenant_id, skill_name="noisy", enabled=True))
    try:
        yield rt, tenant_id
    finally:
        rt.close()


def _log_send(envelope: OutboundEnvelope, attempt: int) -> None:
    logging.getLogger(LOGGER).warning("sending outbox %d", envelope.outbox_id)


def test_skill_and_sender_lines_carry_the_conversation_ids(
    noisy_runtime: tuple[Runtime, uuid.UUID], captured: io.StringIO
) -> None:
    rt, tenant_id = noisy_runtime
    turns = start_collecting(rt, CollectingSender("console", fail=_log_send))
    peers = ("+5491155550101", "+5491155550102")
    done = [rt.engine.submit(inbound(tenant_id, "hacé ruido", peer=p)).inbox_id for p in peers]
    turns.wait_for(done, timeout=180)  # the first turn trains the tenant's NLU (slow when busy)
    again = rt.engine.submit(inbound(tenant_id, "hacé ruido", peer=peers[0])).inbox_id
    turns.wait_for([again], timeout=120)
    logging.getLogger(LOGGER).warning("outside any turn")

    with rt.db.transaction() as session:
        ids = dict(
            session.execute(
                select(Conversation.peer, Conversation.id).where(Conversation.peer.in_(peers))
            ).all()
        )
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    heard = [line for line in lines if str(line["message"]).startswith("skill heard")]
    sending = [line for line in lines if str(line["message"]).startswith("sending outbox")]
    assert len(heard) == 3 and len(sending) >= 3, lines
    for line in heard + sending:
        assert line["tenant_id"] == str(tenant_id) and line["channel"] == "console"
        assert line["conversation_id"] in {str(ids[p]) for p in peers}
    first = [line for line in heard if line["conversation_id"] == str(ids[peers[0]])]
    assert len(first) == 2  # the first conversation's two turns; the other's one
    assert "tenant_id" not in lines[-1] and "conversation_id" not in lines[-1]
