"""The rules behind /api/skills and `hablo skills` (hablo.plugins.tenant_skills) on the
database: a broken plugin is listed with its reason and cannot be enabled; a stored
config the skill no longer accepts is reported, not hidden; a change moves the
tenant's version so running processes rebuild."""

from __future__ import annotations

import uuid

import pytest
from hablo_faq.skill import FaqSkill
from sqlalchemy import select

from hablo.bootstrap import Runtime
from hablo.db.models import Tenant, TenantSkill
from hablo.plugins.loader import PluginStatus, SkillRegistry
from hablo.plugins.tenant_skills import (
    SkillConfigInvalid,
    SkillUnavailable,
    list_tenant_skills,
    set_tenant_skill,
)
from hablo.skills.pricing import PricingSkill


def _registry() -> SkillRegistry:
    return SkillRegistry(
        [PricingSkill, FaqSkill],
        [
            PluginStatus("broken", "broken_pkg:Skill", "failed", "No module named 'broken_pkg'"),
            PluginStatus("faq", "hablo_faq.skill:FaqSkill", "loaded"),
            PluginStatus("pricing", "hablo.skills.pricing:PricingSkill", "loaded"),
        ],
    )


def test_broken_plugins_and_stale_configs_are_reported(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    registry = _registry()
    with runtime.db.transaction() as session:
        session.add(TenantSkill(tenant_id=demo_tenant_id, skill_name="faq", config={"x": 1}))
    with runtime.db.transaction() as session:
        views = {v.name: v for v in list_tenant_skills(registry, session, demo_tenant_id)}
        assert views["broken"].status == "failed" and not views["broken"].enabled
        assert views["broken"].error == "No module named 'broken_pkg'"
        assert views["faq"].enabled and views["faq"].config_error is not None
        assert "config field path" in views["faq"].config_error
        assert views["pricing"].builtin and views["pricing"].enabled
        with pytest.raises(SkillUnavailable, match="No module named"):
            set_tenant_skill(registry, session, demo_tenant_id, "broken", enabled=True)


def test_a_change_moves_the_tenants_version_and_a_bad_one_writes_nothing(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    registry = _registry()

    def version() -> object:
        with runtime.db.transaction() as session:
            return session.scalar(select(Tenant.updated_at).where(Tenant.id == demo_tenant_id))

    before = version()
    with pytest.raises(SkillConfigInvalid) as refused, runtime.db.transaction() as session:
        set_tenant_skill(
            registry, session, demo_tenant_id, "faq", enabled=True, config={"min_score": 5}
        )
    assert refused.value.errors[0]["loc"] == ["path"]
    assert version() == before
    with runtime.db.transaction() as session:
        assert session.scalars(select(TenantSkill)).all() == []
        view, changes = set_tenant_skill(
            registry, session, demo_tenant_id, "pricing", enabled=False
        )
    assert not view.enabled and changes == {"enabled": False}
    assert version() != before
