"""An immutable snapshot of one tenant's business data, shared by its actors.

Loaded once per tenant actor (and on ReloadTenant), so a turn never queries the
catalog or the calendar: it reads this snapshot.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hablo.db.models import BusinessHours, Holiday, Service, SpecialHours, Tenant, TenantSkill
from hablo.plugins.sdk import ServiceInfo, TenantInfo


@dataclass(frozen=True)
class SkillSetting:
    enabled: bool
    config: Mapping[str, Any]


@dataclass(frozen=True)
class TenantProfile:
    info: TenantInfo
    services: tuple[ServiceInfo, ...]
    weekly_hours: Mapping[int, tuple[tuple[time, time], ...]]
    holidays: Mapping[date, str]
    template_overrides: Mapping[str, str] = field(default_factory=dict)
    # The tenant's free-form settings (booking policy, debounce, handoff timeout, ...).
    settings: Mapping[str, Any] = field(default_factory=dict)
    skill_settings: Mapping[str, SkillSetting] = field(default_factory=dict)
    intent_examples: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    # Dates with other hours than their weekday's (a holiday still closes the day).
    special_hours: Mapping[date, tuple[tuple[time, time], ...]] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.info.timezone)

    def holiday(self, day: date) -> str | None:
        return self.holidays.get(day)

    def opening_hours(self, day: date) -> Sequence[tuple[time, time]]:
        if day in self.holidays:
            return ()
        if day in self.special_hours:
            return self.special_hours[day]
        return self.weekly_hours.get(day.weekday(), ())


def load_profile(session: Session, tenant_id: uuid.UUID) -> TenantProfile:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError(f"tenant {tenant_id} does not exist")
    services = session.scalars(
        select(Service)
        .where(Service.tenant_id == tenant_id, Service.active.is_(True))
        .order_by(Service.name)
    ).all()
    hours: dict[int, list[tuple[time, time]]] = {}
    for row in session.scalars(
        select(BusinessHours)
        .where(BusinessHours.tenant_id == tenant_id)
        .order_by(BusinessHours.weekday, BusinessHours.opens_at)
    ):
        hours.setdefault(row.weekday, []).append((row.opens_at, row.closes_at))
    special: dict[date, list[tuple[time, time]]] = {}
    for day_row in session.scalars(
        select(SpecialHours)
        .where(SpecialHours.tenant_id == tenant_id)
        .order_by(SpecialHours.day, SpecialHours.opens_at)
    ):
        special.setdefault(day_row.day, []).append((day_row.opens_at, day_row.closes_at))
    holidays = {
        h.day: h.name
        for h in session.scalars(select(Holiday).where(Holiday.tenant_id == tenant_id))
    }
    skills = {
        s.skill_name: SkillSetting(s.enabled, dict(s.config))
        for s in session.scalars(select(TenantSkill).where(TenantSkill.tenant_id == tenant_id))
    }
    settings = tenant.settings or {}
    return TenantProfile(
        info=TenantInfo(
            id=tenant.id,
            slug=tenant.slug,
            name=tenant.name,
            locale=tenant.locale,
            timezone=tenant.timezone,
            currency=tenant.currency,
            address=tenant.address,
            phone=tenant.phone,
            persona=tenant.bot_persona,
        ),
        services=tuple(
            ServiceInfo(
                id=s.id,
                name=s.name,
                description=s.description,
                price_minor=s.price_minor,
                duration_minutes=s.duration_minutes,
                synonyms=tuple(str(x) for x in (s.synonyms or ())),
                names=tuple(sorted((str(k), str(v)) for k, v in (s.names or {}).items())),
            )
            for s in services
        ),
        weekly_hours={k: tuple(v) for k, v in hours.items()},
        holidays=holidays,
        template_overrides=dict(settings.get("templates", {})),
        settings=dict(settings),
        skill_settings=skills,
        intent_examples={
            intent: {lang: tuple(v) for lang, v in by_lang.items()}
            for intent, by_lang in settings.get("intent_examples", {}).items()
        },
        special_hours={k: tuple(v) for k, v in special.items()},
    )


def config_version(session: Session, tenant_id: uuid.UUID) -> object:
    """What changes whenever the tenant's settings do (`tenants.updated_at`, which a
    `hablo tenant import` that changed anything moves too): actors in other processes
    compare it to see an import or an edit without a restart."""
    return session.scalar(select(Tenant.updated_at).where(Tenant.id == tenant_id))
