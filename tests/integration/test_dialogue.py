"""Dialogue policy end to end, on SQLite and PostgreSQL: flows with interruptions and
exits, repeated misunderstandings offering a human, handoff silence and its timeout,
debounced bursts, and contained skill overruns."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from hablo.bootstrap import Runtime, bootstrap, build_engine
from hablo.db.enums import ConversationStatus, SenderKind
from hablo.db.models import Conversation, InboxEvent, Message, Tenant, TenantSkill
from hablo.demo import seed_demo
from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from tests.conftest import make_settings
from tests.fakes import CollectingSender
from tests.integration.helpers import DeliveredTurns, count, inbound


class SurveySkill(Skill):
    """A two-question flow: name, then age."""

    name = "survey"
    intents = (
        IntentSpec(
            "survey",
            {
                "es": (
                    "quiero hacer la encuesta",
                    "encuesta",
                    "responder la encuesta",
                    "hagamos la encuesta de satisfacción",
                ),
                "en": ("survey", "take the survey", "i want to answer the survey"),
            },
        ),
    )

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        if not turn.in_flow:
            return SkillResult.say("¿Cómo te llamás?", state={"step": "name"}, flow=True)
        if turn.state.get("step") == "name":
            return SkillResult.say(
                "¿Qué edad tenés?", state={"step": "age", "name": turn.text}, flow=True
            )
        return SkillResult.say(
            f"Gracias {turn.state['name']}!", state={"done": True, "age": turn.text}, flow=False
        )

    def resume_prompt(self, state: Any, ctx: SkillContext, language: str) -> str:
        question = "¿Cómo te llamás?" if state.get("step") == "name" else "¿Qué edad tenés?"
        return f"Sigamos con la encuesta: {question}"


class SlowSkill(Skill):
    name = "slow"
    intents = (IntentSpec("slow", {"es": ("tardá mucho", "respondé lento", "hacelo lento")}),)

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        time.sleep(0.3)
        return SkillResult.say("demasiado tarde")


Chat = Callable[..., list[str]]


@pytest.fixture
def chat(db_url: str) -> Iterator[tuple[Runtime, uuid.UUID, Callable[..., list[str]]]]:
    """A started engine with the demo tenant plus the test skills; `say(text)` submits a
    customer message and returns the bot's replies to it."""
    rt = bootstrap(
        make_settings(db_url), upgrade_schema=False, extra_skills=[SurveySkill, SlowSkill]
    )
    with rt.db.transaction() as session:
        tenant_id = seed_demo(session)
        for name in ("survey", "slow"):
            session.add(TenantSkill(tenant_id=tenant_id, skill_name=name, enabled=True))
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.settings = {"skill_time_budget_s": 0.1}
    sender = CollectingSender("console")
    turns = DeliveredTurns()
    rt.engine.add_sender(sender)
    rt.engine.add_turn_listener(turns)
    rt.start()
    peer = "+5491155551234"

    def say(text: str) -> list[str]:
        before = len(sender.texts_for(peer))
        result = rt.engine.submit(inbound(tenant_id, text, peer=peer))
        turns.wait_for([result.inbox_id])
        return sender.texts_for(peer)[before:]

    yield rt, tenant_id, say
    rt.close()


def _conversation(rt: Runtime) -> Conversation:
    with rt.db.transaction() as session:
        return session.scalars(
            select(Conversation).order_by(Conversation.created_at.desc())
        ).first()  # type: ignore[return-value]


def test_flow_is_interrupted_by_a_price_question_and_resumes(chat: Any) -> None:
    rt, _, say = chat
    assert say("quiero hacer la encuesta") == ["¿Cómo te llamás?"]
    assert say("Juan") == ["¿Qué edad tenés?"]
    replies = say("¿cuánto sale el corte?")
    assert replies[0].startswith("Corte de pelo: $8.000")
    assert replies[1] == "Sigamos con la encuesta: ¿Qué edad tenés?"
    assert say("30") == ["Gracias Juan!"]
    state = _conversation(rt).state
    assert state["flow"] is None
    assert state["skills"]["survey"] == {"done": True, "age": "30"}


def test_flow_state_survives_a_restart(chat: Any) -> None:
    rt, _, say = chat
    say("quiero hacer la encuesta")
    rt.engine.stop()
    engine = build_engine(rt.settings, rt.db, rt.registry)
    sender = CollectingSender("console")
    turns = DeliveredTurns()
    engine.add_sender(sender)
    engine.add_turn_listener(turns)
    engine.start()
    try:
        tenant_id = _conversation(rt).tenant_id
        result = engine.submit(inbound(tenant_id, "Ana", peer="+5491155551234"))
        turns.wait_for([result.inbox_id])
    finally:
        engine.stop()
    assert [e.text for e in sender.sent] == ["¿Qué edad tenés?"]


def test_salir_leaves_the_flow(chat: Any) -> None:
    rt, _, say = chat
    say("quiero hacer la encuesta")
    assert say("salir") == ["Listo, lo dejamos acá. ¿Te ayudo con algo más?"]
    assert _conversation(rt).state["flow"] is None


def test_two_misunderstandings_offer_a_human_and_yes_hands_off(chat: Any) -> None:
    rt, _, say = chat
    first = say("asdf qwerty zxcv")
    assert len(first) == 1 and "no entendí" in first[0]
    second = say("blorp flimflam")
    assert len(second) == 2 and "persona" in second[1]
    handed = say("sí")
    assert len(handed) == 1 and "una persona de Peluquería Sol" in handed[0]
    conversation = _conversation(rt)
    assert conversation.status == ConversationStatus.WAITING_HUMAN
    # The bot is silent now; the customer's message is still recorded.
    assert say("hola? hay alguien?") == []
    assert (
        count(
            rt,
            Message,
            Message.body == "hola? hay alguien?",
            Message.sender_kind == SenderKind.CUSTOMER,
        )
        == 1
    )


def test_no_to_the_offer_keeps_the_bot(chat: Any) -> None:
    rt, _, say = chat
    say("asdf qwerty zxcv")
    say("blorp flimflam")
    assert "seguimos" in say("no")[0].lower()
    assert _conversation(rt).status == ConversationStatus.OPEN


def test_handoff_times_out_and_the_bot_comes_back(chat: Any) -> None:
    rt, tenant_id, say = chat
    with rt.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        tenant.settings = {"handoff_timeout_minutes": 0}
    rt.engine.reload_tenant(tenant_id)
    time.sleep(0.3)  # the tenant actor reloads its profile
    assert "persona" in say("quiero hablar con una persona")[0]
    assert _conversation(rt).status == ConversationStatus.WAITING_HUMAN
    replies = say("hola")
    assert replies[0].startswith("¡Volví!")
    assert _conversation(rt).status == ConversationStatus.OPEN


def test_a_skill_over_its_time_budget_is_contained(chat: Any) -> None:
    rt, _, say = chat
    replies = say("respondé lento")
    assert replies == [
        "Uy, tuve un problema para responder eso. 🙏 Ya lo estamos revisando; "
        "¿me lo podés preguntar de otra forma?"
    ]
    with rt.db.transaction() as session:
        error = session.scalar(select(Message.error).where(Message.body == "respondé lento"))
    assert error == "skill slow overran its budget of 0.1s"
    assert say("hola")[0].startswith("¡Hola!")


def test_a_quick_burst_is_one_turn(db_url: str) -> None:
    rt = bootstrap(make_settings(db_url), upgrade_schema=False)
    try:
        with rt.db.transaction() as session:
            tenant_id = seed_demo(session)
            tenant = session.get(Tenant, tenant_id)
            tenant.settings = {"debounce_ms": 400}
        sender = CollectingSender("console")
        turns = DeliveredTurns()
        rt.engine.add_sender(sender)
        rt.engine.add_turn_listener(turns)
        rt.start()
        ids = [
            rt.engine.submit(inbound(tenant_id, text)).inbox_id
            for text in ("hola", "una consulta", "¿cuánto sale el corte?")
        ]
        turns.wait_for(ids)
        assert turns.order == ids  # delivered together, in order
        assert len(sender.sent) == 1 and "$8.000" in sender.sent[0].text
        assert sender.sent[0].inbox_ids == tuple(ids)
        assert count(rt, Message, Message.sender_kind == SenderKind.CUSTOMER) == 3
        assert count(rt, InboxEvent, InboxEvent.status == "processed") == 3
    finally:
        rt.close()
