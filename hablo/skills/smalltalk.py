"""Small talk: goodbye, "what can you do?", acknowledgements ("ok", "👍", "dale" outside a
question) and laughter. None of them is a misunderstanding: each gets a short, friendly
answer in the customer's language and leaves the conversation where it was."""

from __future__ import annotations

from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from hablo.skills.examples import load_examples

GOODBYE = IntentSpec("goodbye", load_examples("goodbye"))
HELP = IntentSpec("help", load_examples("help"))
# Read by rule (a thumbs-up, "ok", "jaja"): no examples for the classifier.
ACK = IntentSpec("ack", {})
LAUGH = IntentSpec("laugh", {})
# "una consulta", "quick question": the question comes in the next message.
ASK_AWAY = IntentSpec("ask_away", {})


class SmalltalkSkill(Skill):
    name = "smalltalk"
    intents = (GOODBYE, HELP, ACK, LAUGH, ASK_AWAY)

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        lang = turn.language
        if turn.intent == "help":
            services = [s.label(lang) for s in ctx.services()]
            return SkillResult.say(
                ctx.render("help", lang, example=services[0] if services else None)
            )
        template = {"goodbye": "goodbye", "laugh": "laugh", "ask_away": "ask_away"}.get(
            turn.intent or "", "ack"
        )
        return SkillResult.say(ctx.render(template, lang))
