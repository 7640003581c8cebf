"""Greeting, opening hours, location, thanks, and the fallback answer."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

from hablo.engine.nlu.acts import asks_holidays
from hablo.engine.nlu.datetimes import extract_weekdays
from hablo.engine.nlu.text import plain
from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from hablo.skills.examples import load_examples
from hablo.skills.wording import say_day, say_day_hours, say_intervals, say_weekday

# Example utterances live in hablo/skills/examples/{intent}.{lang}.txt.
GREETING = IntentSpec("greeting", load_examples("greeting"))
HOURS = IntentSpec("hours", load_examples("hours"))
LOCATION = IntentSpec("location", load_examples("location"))
THANKS = IntentSpec("thanks", load_examples("thanks"))
# Reserved: the engine sends turns with no confident intent here. No examples.
FALLBACK = IntentSpec("fallback", {})
# Read by rule (hablo.engine.nlu.unknown): a service not offered, a fact not given.
NOT_OFFERED = IntentSpec("not_offered", {})
UNKNOWN_FACT = IntentSpec("unknown_fact", {})
# Read by rule (hablo.engine.nlu.reach): "¿tienen teléfono?", "can I call you?"
PHONE = IntentSpec("phone", {})


class InfoSkill(Skill):
    name = "info"
    intents = (GREETING, HOURS, LOCATION, THANKS, FALLBACK, NOT_OFFERED, UNKNOWN_FACT, PHONE)

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        lang = turn.language
        if turn.intent == "greeting":
            # The business's own greeting (settings.bot.greeting), in its language.
            bot = ctx.tenant_setting("bot") or {}
            own = bot.get("greeting") if isinstance(bot, dict) else None
            if own and lang == ctx.tenant.language:
                return SkillResult.say(str(own))
            return SkillResult.say(ctx.render("greeting", lang))
        if turn.intent == "hours":
            return SkillResult.say(self._hours(turn, ctx))
        if turn.intent == "location":
            return SkillResult.say(ctx.render("location", lang))
        if turn.intent == "thanks":
            return SkillResult.say(ctx.render("thanks", lang))
        if turn.intent == "phone":
            said = SkillResult.say(ctx.render("phone", lang))
            # No number to give: "sí" to the offer hands the chat to a person.
            has_phone = bool((ctx.tenant.phone or "").strip())
            return said if has_phone else replace(said, meta={"offer": "human"})
        thing = str(turn.entities.get("thing") or "")
        if turn.intent == "not_offered":
            services = [s.label(lang) for s in ctx.services()]
            return SkillResult.say(ctx.render("not_offered", lang, thing=thing, services=services))
        if turn.intent == "unknown_fact":
            # "sí" to this offer hands the chat to a person (the engine keeps the offer).
            said = SkillResult.say(ctx.render("unknown_fact", lang, thing=thing))
            return replace(said, meta={"offer": "human"})
        catalogue = ctx.services()
        example = catalogue[0].label(lang) if catalogue else None
        return SkillResult.say(ctx.render("fallback", lang, example=example))

    def _hours(self, turn: Turn, ctx: SkillContext) -> str:
        """A specific day's hours when the customer named one, else the whole week."""
        lang = turn.language
        several = extract_weekdays(turn.text)
        if len(several) > 1:  # "¿atienden el lunes o el domingo?", "the weekend"
            today = ctx.now().date()
            days = [today + timedelta(days=(wd - today.weekday()) % 7) for wd in several]
            return "\n".join(say_day_hours(ctx, day, lang) for day in days)
        if _WEEKDAYS.search(plain(turn.text)):  # "entre semana hasta qué hora atienden?"
            week = [
                (
                    say_weekday(ctx, wd, lang),
                    say_intervals(ctx, date(2024, 1, 1) + timedelta(days=wd), lang, weekly=True),
                )
                for wd in range(5)
            ]
            return ctx.render("hours_week", lang, week=week)
        day = _asked_day(turn, ctx)
        if day is None and asks_holidays(turn.text):
            upcoming = _next_holiday(ctx)
            if upcoming is not None:  # closed on the days it keeps as holidays
                return ctx.render(
                    "hours_holidays",
                    lang,
                    day_name=say_day(ctx, upcoming[0], lang),
                    holiday=upcoming[1],
                )
        if day is None:
            week = [
                (
                    say_weekday(ctx, wd, lang),
                    say_intervals(ctx, date(2024, 1, 1) + timedelta(days=wd), lang, weekly=True),
                )
                for wd in range(7)
            ]
            return ctx.render("hours_week", lang, week=week)
        return say_day_hours(ctx, day, lang)


def _next_holiday(ctx: SkillContext) -> tuple[date, str] | None:
    """The business's next holiday within a year (it is closed on them), with its name."""
    today = ctx.now().date()
    for ahead in range(366):
        day = today + timedelta(days=ahead)
        name = ctx.holiday(day)
        if name:
            return day, name
    return None


# Monday to Friday as one: "entre semana", "de lunes a viernes", "on weekdays".
_WEEKDAYS = re.compile(
    r"\b(?:entre semana|en la semana(?! santa| que viene| proxima)|dias de semana|dias habiles"
    r"|de lunes a viernes|lunes a viernes|weekdays?|during the week"
    r"|monday (?:to|through|thru) friday|mon(?:day)? (?:to )?fri(?:day)?)\b"
)
_NOW = re.compile(r"\b(?:ahora|ahorita|now|right now)\b")


def _asked_day(turn: Turn, ctx: SkillContext) -> date | None:
    # "¿abren el sábado?" asked on a Saturday is about today: for opening hours a bare
    # weekday means the nearest one, today included (bookings look forward instead).
    when = turn.entities.get("when")
    if when is not None and getattr(when, "has_date", False):  # "el viernes 2 de abril"
        return when.start.date()
    context_day = turn.entities.get("context_day")  # "¿hasta qué hora?" after "el viernes"
    if isinstance(context_day, date):
        return context_day
    if _NOW.search(plain(turn.text)):  # "¿están abiertos ahora?"
        return ctx.now().date()
    weekday = turn.entities.get("weekday")
    if isinstance(weekday, int):
        today = ctx.now().date()
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    when = turn.entities.get("when")
    if when is not None and getattr(when, "has_date", False):
        return when.start.date()
    return None
