"""Which skills a tenant runs, with which config: read and changed by the API and the CLI.

One place for the rules, so `/api/skills` and `hablo skills` agree: built-ins are on
unless a `tenant_skills` row turns them off, a plugin runs only where a row enables it,
and a config is stored only once the skill's own `config_model` accepts it. A change
moves `tenants.updated_at` in the same transaction: every process running the tenant
(the edge and each worker) rebuilds its runtime within seconds, no restart.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hablo.db.base import utcnow
from hablo.db.models import Tenant, TenantSkill
from hablo.plugins.loader import PluginStatus, SkillRegistry
from hablo.plugins.sdk import Skill

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkillView:
    """An installed skill as one tenant sees it."""

    name: str
    source: str
    status: str  # "loaded" | "failed"
    error: str | None
    builtin: bool
    intents: tuple[str, ...]
    config_schema: dict[str, Any] | None
    enabled: bool
    config: dict[str, Any]
    # Why an enabled skill does not run for this tenant (its stored config is invalid).
    config_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "intents": list(self.intents)}


class UnknownSkill(LookupError):
    """No installed skill has that name."""


class SkillUnavailable(Exception):
    """The plugin is installed but failed to load: it cannot be enabled."""


class SkillConfigInvalid(Exception):
    """The config does not validate against the skill's config_model."""

    def __init__(self, skill: str, errors: list[dict[str, Any]]) -> None:
        self.skill = skill
        self.errors = errors  # [{"loc": [...], "msg", "type"}], never the rejected value
        first = errors[0]
        field = ".".join(str(p) for p in first["loc"]) or "config"
        super().__init__(f"skill {skill}: config field {field}: {first['msg']}")


def config_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Where and why (never the value: a config may hold a password)."""
    return [
        {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def list_tenant_skills(
    registry: SkillRegistry, session: Session, tenant_id: uuid.UUID
) -> list[SkillView]:
    rows = _rows(session, tenant_id)
    return [_view(registry, status, rows.get(status.name)) for status in _statuses(registry)]


def set_tenant_skill(
    registry: SkillRegistry,
    session: Session,
    tenant_id: uuid.UUID,
    name: str,
    *,
    enabled: bool | None = None,
    config: Mapping[str, Any] | None = None,
) -> tuple[SkillView, dict[str, Any]]:
    """Enable, disable and/or replace the config of one skill for one tenant; returns
    the new view and the changes (for the audit log). Raises UnknownSkill,
    SkillUnavailable or SkillConfigInvalid, writing nothing."""
    status = next((s for s in _statuses(registry) if s.name == name), None)
    if status is None:
        raise UnknownSkill(name)
    cls = registry.get(name)
    if cls is None:
        raise SkillUnavailable(f"skill {name} failed to load: {status.error}")
    row = session.scalars(
        select(TenantSkill)
        .where(TenantSkill.tenant_id == tenant_id, TenantSkill.skill_name == name)
        .with_for_update()
    ).first()
    builtin = name in registry.builtin_names()
    new_enabled = enabled if enabled is not None else (row.enabled if row else builtin)
    new_config = dict(config) if config is not None else dict(row.config if row else {})
    if new_enabled or config is not None:  # a disabled skill keeps its old config as it is
        try:
            validated = cls.config_model.model_validate(new_config)
        except ValidationError as exc:
            raise SkillConfigInvalid(name, config_errors(exc)) from exc
        if config is not None:  # stored normalised ("75" -> 75, paths as text)
            new_config = validated.model_dump(mode="json", exclude_unset=True)
    if row is None:
        row = TenantSkill(tenant_id=tenant_id, skill_name=name)
        session.add(row)
    row.enabled = new_enabled
    row.config = new_config  # a new dict: JSON columns do not track in-place edits
    # What the running tenant actors watch: they rebuild (skills, NLU) on their next check.
    session.execute(update(Tenant).where(Tenant.id == tenant_id).values(updated_at=utcnow()))
    session.flush()
    changes: dict[str, Any] = {"enabled": new_enabled}
    if config is not None:
        changes["config"] = new_config
    return _view(registry, status, row), changes


def _statuses(registry: SkillRegistry) -> list[PluginStatus]:
    # A name may appear twice (an entry point that failed, then an explicit extra): the
    # last word counts.
    return sorted({s.name: s for s in registry.statuses}.values(), key=lambda s: s.name)


def _rows(session: Session, tenant_id: uuid.UUID) -> dict[str, TenantSkill]:
    found = session.scalars(select(TenantSkill).where(TenantSkill.tenant_id == tenant_id))
    return {row.skill_name: row for row in found}


def _json_schema(cls: type[Skill]) -> dict[str, Any] | None:
    try:
        return cls.config_model.model_json_schema()
    except Exception:  # a field type with no JSON Schema must not break the listing
        log.warning("skill %s: its config model has no JSON Schema", cls.name)
        return None


def _view(registry: SkillRegistry, status: PluginStatus, row: TenantSkill | None) -> SkillView:
    cls = registry.get(status.name)
    builtin = status.name in registry.builtin_names()
    enabled = row.enabled if row is not None else builtin
    config = dict(row.config) if row is not None else {}
    config_error = None
    if cls is not None and enabled:
        try:
            cls.config_model.model_validate(config)
        except ValidationError as exc:
            config_error = str(SkillConfigInvalid(status.name, config_errors(exc)))
    return SkillView(
        name=status.name,
        source=status.source,
        status=status.status if cls is not None else "failed",
        error=status.error,
        builtin=builtin,
        intents=tuple(spec.name for spec in cls.intents) if cls is not None else (),
        config_schema=_json_schema(cls) if cls is not None else None,
        enabled=enabled and cls is not None,
        config=config,
        config_error=config_error,
    )
