"""Discover skills through the `hablo.skills` entry-point group, built-ins included.

A plugin that fails to import or to validate is recorded with its error and skipped:
a broken third-party package never stops the server.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points

from pydantic import BaseModel

from hablo.plugins.sdk import IntentSpec, Skill

ENTRY_POINT_GROUP = "hablo.skills"
BUILTIN_PACKAGE = "hablo.skills"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PluginStatus:
    name: str
    source: str
    status: str  # "loaded" or "failed"
    error: str | None = None


class PluginError(Exception):
    pass


def validate_skill_class(obj: object) -> type[Skill]:
    """Check a plugin's shape when it registers; raise PluginError saying what is wrong."""
    if not (inspect.isclass(obj) and issubclass(obj, Skill)):
        raise PluginError(f"{obj!r} is not a subclass of hablo.plugins.Skill")
    if inspect.isabstract(obj):
        raise PluginError(f"{obj.__name__} does not implement handle(turn, ctx)")
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise PluginError(f"{obj.__name__}.name must be an identifier string")
    if not (inspect.isclass(obj.config_model) and issubclass(obj.config_model, BaseModel)):
        raise PluginError(f"{obj.__name__}.config_model must be a pydantic model")
    params = list(inspect.signature(obj.handle).parameters)
    if params[:3] != ["self", "turn", "ctx"]:
        raise PluginError(f"{obj.__name__}.handle must be handle(self, turn, ctx)")
    for spec in obj.intents:
        if not isinstance(spec, IntentSpec):
            raise PluginError(f"{obj.__name__}.intents must hold IntentSpec objects")
        for lang, examples in spec.examples.items():
            if isinstance(examples, str) or not all(isinstance(e, str) for e in examples):
                raise PluginError(f"{obj.__name__}: examples of {spec.name}/{lang} must be strings")
    return obj


def is_builtin(skill: type[Skill]) -> bool:
    """Shipped with hablo (hablo.skills), not a third-party or a tenant's remote skill."""
    module = skill.__module__
    return module == BUILTIN_PACKAGE or module.startswith(f"{BUILTIN_PACKAGE}.")


class SkillRegistry:
    """The skills available to this process (not per tenant: tenants enable a subset)."""

    def __init__(self, skills: Iterable[type[Skill]], statuses: Sequence[PluginStatus]) -> None:
        self._skills = {s.name: s for s in skills}
        self.statuses = tuple(statuses)

    @classmethod
    def discover(cls, extra: Iterable[type[Skill]] = ()) -> SkillRegistry:
        skills: list[type[Skill]] = []
        statuses: list[PluginStatus] = []
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                skill = validate_skill_class(ep.load())
                if skill.name != ep.name:
                    raise PluginError(f"entry point {ep.name!r} names skill {skill.name!r}")
            except Exception as exc:  # a broken plugin must never crash the server
                log.warning("skill plugin %s (%s) skipped: %s", ep.name, ep.value, exc)
                statuses.append(PluginStatus(ep.name, ep.value, "failed", str(exc)))
                continue
            skills.append(skill)
            statuses.append(PluginStatus(ep.name, ep.value, "loaded"))
        for skill in extra:
            skills.append(validate_skill_class(skill))
            statuses.append(PluginStatus(skill.name, skill.__module__, "loaded"))
        return cls(skills, statuses)

    def get(self, name: str) -> type[Skill] | None:
        return self._skills.get(name)

    def names(self) -> list[str]:
        return sorted(self._skills)

    def builtin_names(self) -> list[str]:
        return sorted(n for n, s in self._skills.items() if is_builtin(s))
