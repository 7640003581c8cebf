"""The plugin author's kit: a SkillContext and Turns for a skill's unit tests."""

from __future__ import annotations

from datetime import date, time

import pytest

from hablo.plugins import Skill, SkillContext, SkillResult, Turn
from hablo.testing.context import DEMO_NOW, NoDatabaseError, make_turn, skill_context


class GreeterSkill(Skill):
    name = "greeter"
    templates = {"greet": {"es": "Hola {{ who }}, soy {{ tenant.name }}", "en": "Hi {{ who }}"}}

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        return SkillResult.say(ctx.render("greet", turn.language, who=turn.text))


def test_the_demo_salon_with_the_skills_templates() -> None:
    ctx = skill_context(GreeterSkill)
    result = GreeterSkill().handle(make_turn("Ana"), ctx)
    assert [r.text for r in result.replies] == ["Hola Ana, soy Peluquería Sol"]
    assert ctx.render("greet", "en", who="Bob") == "Hi Bob"
    assert ctx.now() == DEMO_NOW
    assert ctx.services()[0].name == "Arreglo de barba"
    found = ctx.find_service("me quiero hacer las uñas")
    assert found is not None and found.name == "Manicura"
    assert ctx.format_money(900000, "es") == "$9.000"
    assert ctx.opening_hours(date(2027, 3, 14)) == ()  # Sunday
    assert ctx.opening_hours(date(2027, 3, 13)) == ((time(9), time(13)),)


def test_everything_can_be_replaced() -> None:
    ctx = skill_context(
        services=[],
        weekly_hours={0: [(time(10), time(12)), (time(14), time(18))]},
        holidays={date(2027, 3, 15): "Feriado"},
        settings={"booking": {"capacity": 2}},
        templates={"es/greet.j2": "Buenas"},
    )
    assert tuple(ctx.services()) == ()
    assert ctx.opening_hours(date(2027, 3, 15)) == ()
    assert ctx.holiday(date(2027, 3, 15)) == "Feriado"
    assert ctx.weekly_hours(0) == ((time(10), time(12)), (time(14), time(18)))
    assert ctx.tenant_setting("booking") == {"capacity": 2}
    assert ctx.render("greet", "es") == "Buenas"
    ctx.set_now(DEMO_NOW.replace(hour=18))
    assert ctx.now().hour == 18


def test_no_database_in_a_unit_test() -> None:
    ctx = skill_context()
    with pytest.raises(NoDatabaseError, match="hablo test dialogues"):
        ctx.bookings()
    with pytest.raises(NoDatabaseError, match="payments"):
        ctx.payments()


def test_make_turn_fills_what_the_engine_would() -> None:
    one, two = make_turn("hola"), make_turn("hola", "en", intent="greeting", state={"a": 1})
    assert (one.language, one.intent, one.confidence, dict(one.state)) == ("es", None, 1.0, {})
    assert one.conversation_id != two.conversation_id
    assert (two.language, two.intent, dict(two.state)) == ("en", "greeting", {"a": 1})
    with pytest.raises(ValueError, match="timezone-aware"):
        skill_context(now=DEMO_NOW.replace(tzinfo=None))
