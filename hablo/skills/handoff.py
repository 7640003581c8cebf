"""Hand the conversation to a person: the bot goes silent until an agent releases it or
the tenant's handoff timeout passes."""

from __future__ import annotations

from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from hablo.skills.examples import load_examples

HUMAN = IntentSpec("human", load_examples("human"))


class HandoffSkill(Skill):
    name = "handoff"
    intents = (HUMAN,)

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        minutes = int(ctx.tenant_setting("handoff_timeout_minutes", 60))
        return SkillResult(
            replies=SkillResult.say(ctx.render("handoff", turn.language, minutes=minutes)).replies,
            handoff=True,
        )
