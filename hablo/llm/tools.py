"""Skills as tools: each enabled skill is one function the model may call, its intents
an enum and its slots the parameters. A call becomes an ordinary `Understanding`, so the
skill then runs through exactly the engine's own path (policy, savepoint, time budget)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from hablo.engine.nlu.acts import AFFIRM, DENY
from hablo.engine.nlu.datetimes import WhenMention
from hablo.engine.nlu.pipeline import Understanding
from hablo.plugins.sdk import ServiceInfo, Skill, SkillContext

# Not choosable by the model: the engine sends unclear turns there itself.
HIDDEN_INTENTS = frozenset({"fallback"})
_NAME = re.compile(r"[^a-zA-Z0-9_-]")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
EXAMPLES_PER_INTENT = 2


class ToolArgumentError(ValueError):
    """The model called a tool with arguments we cannot use (counts as malformed output)."""


def tool_name(skill: Skill) -> str:
    return _NAME.sub("_", skill.name)[:64]


def _description(skill: Skill, language: str) -> str:
    custom = getattr(skill, "description", None)
    if isinstance(custom, str) and custom:
        return custom
    parts = []
    for spec in skill.intents:
        if spec.name in HIDDEN_INTENTS:
            continue
        examples = list(spec.examples.get(language) or next(iter(spec.examples.values()), ()))
        shown = "; ".join(f'"{e}"' for e in examples[:EXAMPLES_PER_INTENT])
        parts.append(f"{spec.name}" + (f" (e.g. {shown})" if shown else ""))
    return f"Skill '{skill.name}'. Intents: " + ", ".join(parts)


def _slot_schema(slot: str, services: Sequence[ServiceInfo]) -> dict[str, Any]:
    if slot == "service":
        return {
            "type": "string",
            "enum": [s.name for s in services],
            "description": "the service, exactly as named in the catalog",
        }
    if slot == "day":
        return {"type": "string", "description": "local date, YYYY-MM-DD"}
    if slot == "time":
        return {"type": "string", "description": "local time of day, HH:MM (24 h)"}
    return {"type": "string", "description": slot}


def skill_tools(
    skills: Mapping[str, Skill],
    services: Sequence[ServiceInfo],
    language: str,
    active_flow: str | None,
) -> list[dict[str, Any]]:
    """OpenAI `tools` for the tenant's skills. The skill running a flow also takes the
    customer's yes/no (its confirmation step)."""
    tools = []
    for skill in skills.values():
        intents = [s.name for s in skill.intents if s.name not in HIDDEN_INTENTS]
        if skill.name == active_flow:
            intents += [AFFIRM, DENY]
        if not intents:
            continue
        properties: dict[str, Any] = {"intent": {"type": "string", "enum": intents}}
        for slot in skill.slots:
            properties[slot] = _slot_schema(slot, services)
        description = _description(skill, language)
        if skill.name == active_flow:
            description += ". The customer is in the middle of this flow."
        tools.append(
            {
                "type": "function",
                "function": {
                    "name": tool_name(skill),
                    "description": description,
                    "parameters": {
                        "type": "object",
                        "properties": properties,
                        "required": ["intent"],
                        "additionalProperties": False,
                    },
                },
            }
        )
    return tools


def skill_for_tool(skills: Mapping[str, Skill], name: str) -> Skill | None:
    return next((s for s in skills.values() if tool_name(s) == name), None)


def understanding_from_call(
    skill: Skill,
    arguments: Mapping[str, Any],
    local: Understanding,
    ctx: SkillContext,
    active_flow: str | None,
) -> Understanding:
    """The model's call as the engine's Understanding: its arguments win over the local
    NLU's entities, which fill what the model left out."""
    allowed = {s.name for s in skill.intents} | (
        {AFFIRM, DENY} if skill.name == active_flow else set()
    )
    intent = arguments.get("intent")
    if not isinstance(intent, str) or intent not in allowed:
        raise ToolArgumentError(f"intent {intent!r} is not one of {skill.name}'s")
    entities: dict[str, Any] = dict(local.entities)
    service = arguments.get("service")
    if service not in (None, ""):
        found = _service(str(service), ctx)
        if found is None:
            raise ToolArgumentError("unknown service")
        entities["service"] = found
    when = _when(arguments.get("day"), arguments.get("time"), ctx.now())
    if when is not None:
        entities["when"] = when
        entities.pop("weekday", None)
    for slot in skill.slots:
        if slot not in ("service", "day", "time") and arguments.get(slot) not in (None, ""):
            entities[slot] = str(arguments[slot])
    return Understanding(intent, 1.0, local.language, entities)


def _service(name: str, ctx: SkillContext) -> ServiceInfo | None:
    wanted = name.casefold().strip()
    exact = next((s for s in ctx.services() if s.name.casefold() == wanted), None)
    return exact or ctx.find_service(name)


def _when(day: Any, at: Any, now: datetime) -> WhenMention | None:
    has_date = day not in (None, "")
    has_time = at not in (None, "")
    if not has_date and not has_time:
        return None
    try:
        local_day = date.fromisoformat(str(day)) if has_date else now.date()
    except ValueError:
        raise ToolArgumentError("day is not YYYY-MM-DD") from None
    clock = time(0, 0)
    if has_time:
        match = _TIME.match(str(at).strip())
        if match is None:
            raise ToolArgumentError("time is not HH:MM")
        clock = time(int(match.group(1)), int(match.group(2)))
    start = datetime.combine(local_day, clock, now.tzinfo)
    if has_time and not has_date and start <= now:
        start += timedelta(days=1)  # "a las 5" said after five: tomorrow, as the local NLU does
    return WhenMention(start, has_date, has_time, "")
