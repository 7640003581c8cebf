"""Asking what to choose (nlu/advice.py) and the small talk skill's answer to it."""

from __future__ import annotations

from hablo.engine.nlu.advice import asks_advice
from hablo.skills.smalltalk import SmalltalkSkill
from hablo.testing.context import make_turn, skill_context
from tests.reader_cases import reader_cases

ASKS_ADVICE = [
    "no se que hacerme en el pelo, que me recomendas?",
    "Buenas tardes, ¿qué me recomienda?",
    "¿qué tratamiento me recomendáis?",
    "¿me podés recomendar algo?",
    "what would you suggest for thin hair?",
    "not sure what to get",
]
NOT_ASKING = [
    "me recomendaron este lugar",
    "quiero el que me recomendaron",
    "lo que te recomiendo es abrir antes",
    "a friend recommended you",
    "lo que me conviene es el jueves",
    "me recomendas una serie?",  # small talk: not something the business does
    "¿qué serie me recomendás?",
    "can you recommend a good restaurant nearby?",
]
test_asks_for_advice = reader_cases(asks_advice, ASKS_ADVICE, NOT_ASKING)


def test_services_named_are_what_is_weighed_up() -> None:
    assert asks_advice("¿qué me recomendáis, brushing o coloración?", names_service=True)
    assert asks_advice("¿me recomendás un brushing o una coloración?", names_service=True)


def test_the_answer_lists_what_is_weighed_up_and_offers_a_person() -> None:
    ctx = skill_context(SmalltalkSkill)
    turn = make_turn("¿qué me recomendáis, brushing o coloración?", intent="recommend")
    result = SmalltalkSkill().handle(turn, ctx)
    said = result.replies[0].text
    assert "Brushing" in said and "Coloración" in said and "Manicura" not in said
    assert result.meta.get("offer") == "human"


def test_without_services_named_the_answer_lists_them_all() -> None:
    ctx = skill_context(SmalltalkSkill)
    said = SmalltalkSkill().handle(make_turn("¿qué me recomendás?", intent="recommend"), ctx)
    assert all(s.name in said.replies[0].text for s in ctx.services())
