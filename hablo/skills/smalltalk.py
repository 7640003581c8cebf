"""Small talk: goodbye, "what can you do?", acknowledgements ("ok", "👍", "dale" outside a
question) and laughter. None of them is a misunderstanding: each gets a short, friendly
answer in the customer's language and leaves the conversation where it was."""

from __future__ import annotations

import re
from dataclasses import replace

from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.examples import load_examples

GOODBYE = IntentSpec("goodbye", load_examples("goodbye"))
HELP = IntentSpec("help", load_examples("help"))
# Read by rule (a thumbs-up, "ok", "jaja"): no examples for the classifier.
ACK = IntentSpec("ack", {})
LAUGH = IntentSpec("laugh", {})
# "una consulta", "quick question": the question comes in the next message.
ASK_AWAY = IntentSpec("ask_away", {})
# Read by rule (hablo.engine.nlu.advice): "¿qué me recomendás?", "what do you suggest?"
RECOMMEND = IntentSpec("recommend", {})


class SmalltalkSkill(Skill):
    name = "smalltalk"
    intents = (GOODBYE, HELP, ACK, LAUGH, ASK_AWAY, RECOMMEND)

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        lang = turn.language
        if turn.intent == "help":
            services = [s.label(lang) for s in ctx.services()]
            return SkillResult.say(
                ctx.render("help", lang, example=services[0] if services else None)
            )
        if turn.intent == "recommend":
            return _recommend(turn, ctx)
        template = {"goodbye": "goodbye", "laugh": "laugh", "ask_away": "ask_away"}.get(
            turn.intent or "", "ack"
        )
        return SkillResult.say(ctx.render(template, lang))


def _recommend(turn: Turn, ctx: SkillContext) -> SkillResult:
    """What the business does (the services the customer hesitates between, when named),
    with prices, and a person to advise: "sí" next hands the chat over."""
    named = turn.entities.get("services") or turn.entities.get("service_options") or ()
    among = [s for s in named if isinstance(s, ServiceInfo)] or _alternatives(turn.text, ctx)
    services = among if len(among) > 1 else list(ctx.services())
    items = [(s, ctx.format_money(s.price_minor, turn.language)) for s in services]
    said = SkillResult.say(ctx.render("recommend", turn.language, items=items))
    return replace(said, meta={"offer": "human"})


# "brushing o coloración", "a cut or a colour": the services a customer weighs up.
_OR = re.compile(r"\s*(?:,|\bo\b|\bu\b|\bor\b|/)\s*", re.IGNORECASE)


def _alternatives(text: str, ctx: SkillContext) -> list[ServiceInfo]:
    found = [ctx.find_service(part) for part in _OR.split(text) if part.strip()]
    return list({s.id: s for s in found if s is not None}.values())
