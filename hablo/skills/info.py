"""Greeting, opening hours, location, thanks, and the fallback answer."""

from __future__ import annotations

from datetime import date, timedelta

from babel.dates import format_date

from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn

GREETING = IntentSpec(
    "greeting",
    {
        "es": (
            "hola",
            "holaa",
            "buenas",
            "buen día",
            "buen dia",
            "buenos días",
            "buenas tardes",
            "buenas noches",
            "hola qué tal",
            "hola como estas",
            "hola como va",
            "que tal",
            "hola buenas",
            "buenas! una consulta",
            "hola, buen día",
            "holis",
            "ey hola",
            "saludos",
            "hola hola",
            "qué onda",
            "buenas, cómo andan",
        ),
        "en": (
            "hi",
            "hello",
            "hey",
            "hey there",
            "good morning",
            "good afternoon",
            "good evening",
            "hi there",
            "hello, how are you",
            "hiya",
            "greetings",
            "howdy",
        ),
    },
)
HOURS = IntentSpec(
    "hours",
    {
        "es": (
            "a qué hora abren",
            "a que hora abren",
            "a qué hora cierran",
            "cuál es el horario",
            "horarios",
            "qué horario tienen",
            "están abiertos",
            "estan abiertos hoy",
            "abren los domingos",
            "abren el sábado",
            "abren mañana",
            "hasta qué hora atienden",
            "a qué hora abren mañana",
            "atienden los feriados",
            "horario de atención",
            "abren los sábados?",
            "cierran al mediodía?",
            "qué días abren",
            "cuándo abren",
            "está abierto ahora",
            "atienden hoy",
            "a que hora cierran los viernes",
            "hasta que hora estan",
            "desde qué hora atienden",
        ),
        "en": (
            "what are your opening hours",
            "when do you open",
            "what time do you close",
            "are you open today",
            "are you open on sunday",
            "opening hours",
            "what time do you open tomorrow",
            "business hours",
            "are you open now",
            "until what time are you open",
            "do you open on saturdays",
            "when are you open",
        ),
    },
)
LOCATION = IntentSpec(
    "location",
    {
        "es": (
            "dónde están",
            "donde estan ubicados",
            "cuál es la dirección",
            "dirección",
            "dónde queda el local",
            "dónde los encuentro",
            "cómo llego",
            "en qué zona están",
            "me pasás la dirección",
            "dónde queda",
            "ubicación",
            "tienen local",
            "en qué calle están",
            "me das la direccion",
            "donde es",
        ),
        "en": (
            "where are you",
            "where is the salon",
            "what is your address",
            "address please",
            "where are you located",
            "how do i get there",
            "location",
            "where is the shop",
            "what's the address",
            "where can i find you",
        ),
    },
)
THANKS = IntentSpec(
    "thanks",
    {
        "es": (
            "gracias",
            "muchas gracias",
            "mil gracias",
            "genial gracias",
            "gracias!!",
            "te agradezco",
            "muy amable",
            "buenísimo, gracias",
            "ok gracias",
            "gracias por todo",
        ),
        "en": (
            "thanks",
            "thank you",
            "thanks a lot",
            "thank you so much",
            "cheers",
            "great thanks",
            "much appreciated",
            "thx",
            "ty",
        ),
    },
)
# Reserved: the engine sends turns with no confident intent here. No examples.
FALLBACK = IntentSpec("fallback", {})


class InfoSkill(Skill):
    name = "info"
    intents = (GREETING, HOURS, LOCATION, THANKS, FALLBACK)

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        lang = turn.language
        if turn.intent == "greeting":
            return SkillResult.say(ctx.render("greeting", lang))
        if turn.intent == "hours":
            return SkillResult.say(self._hours(turn, ctx))
        if turn.intent == "location":
            return SkillResult.say(ctx.render("location", lang))
        if turn.intent == "thanks":
            return SkillResult.say(ctx.render("thanks", lang))
        return SkillResult.say(ctx.render("fallback", lang))

    def _hours(self, turn: Turn, ctx: SkillContext) -> str:
        """A specific day's hours when the customer named one, else the whole week."""
        day = _asked_day(turn, ctx)
        lang = turn.language
        if day is None:
            week = [
                (
                    format_date(date(2024, 1, 1) + timedelta(days=wd), "EEEE", locale=lang),
                    _intervals(ctx, date(2024, 1, 1) + timedelta(days=wd), weekly=True),
                )
                for wd in range(7)
            ]
            return ctx.render("hours_week", lang, week=week)
        return ctx.render(
            "hours_day",
            lang,
            day_name=format_date(day, "EEEE d/M", locale=lang),
            relative=_relative_name(day, ctx.now().date(), lang),
            intervals=_intervals(ctx, day),
            holiday=ctx.holiday(day),
        )


def _asked_day(turn: Turn, ctx: SkillContext) -> date | None:
    when = turn.entities.get("when")
    if when is not None and getattr(when, "has_date", False):
        return when.start.date()
    weekday = turn.entities.get("weekday")
    if isinstance(weekday, int):
        today = ctx.now().date()
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    return None


def _intervals(ctx: SkillContext, day: date, weekly: bool = False) -> list[tuple[str, str]]:
    """Opening intervals as ("09:00", "19:00") pairs; `weekly` ignores holidays."""
    hours = ctx.weekly_hours(day.weekday()) if weekly else ctx.opening_hours(day)
    return [(f"{a:%H:%M}", f"{b:%H:%M}") for a, b in hours]


def _relative_name(day: date, today: date, lang: str) -> str | None:
    delta = (day - today).days
    names = {"es": {0: "hoy", 1: "mañana"}, "en": {0: "today", 1: "tomorrow"}}
    return names.get(lang, names["es"]).get(delta)
