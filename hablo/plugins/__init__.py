"""The plugin SDK: what a skill author imports. Stable, documented in docs/writing-a-skill.md."""

from hablo.plugins.sdk import (
    EmptyConfig,
    FollowUp,
    IntentSpec,
    Reply,
    Skill,
    SkillContext,
    SkillResult,
    Turn,
)

__all__ = [
    "EmptyConfig",
    "FollowUp",
    "IntentSpec",
    "Reply",
    "Skill",
    "SkillContext",
    "SkillResult",
    "Turn",
]
