"""One turn's logic: understand the message, run the skill, contain its failures.

Pure of actors and threads, so tests can drive it directly; the ConversationActor
wraps it in the per-conversation order and the one-transaction commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from hablo.db.enums import ConversationStatus
from hablo.engine.skillset import TenantRuntime
from hablo.engine.store import LockedConversation
from hablo.plugins.sdk import SkillResult, Turn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnOutcome:
    language: str
    intent: str | None
    confidence: float
    skill: str | None
    replies: tuple[str, ...]
    new_state: dict[str, Any] | None
    new_status: ConversationStatus | None
    error: str | None


def run_turn(
    runtime: TenantRuntime,
    conversation: LockedConversation,
    text: str,
) -> TurnOutcome:
    ctx = runtime.context
    now = ctx.now()
    understanding = runtime.nlu.understand(
        text, now, runtime.profile.opening_hours, conversation.language
    )
    if conversation.status == ConversationStatus.WAITING_HUMAN:
        # A human owns this conversation: record the message, the bot stays silent.
        return TurnOutcome(
            understanding.language,
            understanding.intent,
            understanding.confidence,
            None,
            (),
            None,
            None,
            None,
        )
    skill = runtime.skill_for(understanding.intent)
    turn = Turn(
        text=text,
        language=understanding.language,
        intent=understanding.intent,
        confidence=understanding.confidence,
        entities=understanding.entities,
        state=conversation.state,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
    )
    error = None
    if skill is None:
        result = SkillResult.say(ctx.render("fallback", turn.language))
    else:
        try:
            result = skill.handle(turn, ctx)
            if not isinstance(result, SkillResult):
                raise TypeError(f"handle() returned {type(result).__name__}, not SkillResult")
        except Exception as exc:  # a skill error never kills a conversation
            log.exception("skill %s failed in conversation %s", skill.name, conversation.id)
            error = f"skill {skill.name} failed: {type(exc).__name__}"
            result = SkillResult.say(ctx.render("skill_error", turn.language))
    return TurnOutcome(
        language=turn.language,
        intent=turn.intent,
        confidence=turn.confidence,
        skill=skill.name if skill else None,
        replies=tuple(r.text for r in result.replies),
        new_state=dict(result.state) if result.state is not None else None,
        new_status=ConversationStatus.WAITING_HUMAN if result.handoff else None,
        error=error,
    )
