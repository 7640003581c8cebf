"""The scratch world of a dialogue run: a private SQLite database holding a copy of one
tenant's profile (services, hours, holidays, settings, enabled skills) and none of its
conversations or bookings, plus the helpers that reset its calendar between cases.

The source tenant is only read; nothing is ever written to the configured database.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Table, delete, insert, inspect, make_url, select
from sqlalchemy.engine import Connection

from hablo.db.base import new_id, utcnow
from hablo.db.database import Database
from hablo.db.enums import ContactKind, TenantStatus
from hablo.db.models import (
    Booking,
    BusinessHours,
    Contact,
    Holiday,
    Service,
    SpecialHours,
    Tenant,
    TenantSkill,
)
from hablo.demo import DEMO_SLUG, seed_demo
from hablo.domain.booking.policy import BookingPolicy
from hablo.domain.booking.repository import BookingRepository
from hablo.engine.tenant_profile import TenantProfile
from hablo.plugins.loader import SkillRegistry
from hablo.tenancy.settings import DEBOUNCE_KEY
from hablo.testing.dialogue_file import BookingSpec

# The rows that make up a tenant's profile (see engine.tenant_profile.load_profile).
PROFILE_TABLES: tuple[Table, ...] = tuple(
    m.__table__  # type: ignore[misc]
    for m in (Service, BusinessHours, SpecialHours, Holiday, TenantSkill)
)
# LLM mode is left out: dialogue tests exercise the local NLU, offline and repeatable.
DROPPED_SETTINGS = ("llm",)
OTHER_CUSTOMER_NAME = "dialogue test: other customers"


class SetupError(Exception):
    """The run cannot start (unknown tenant or skill, bad skill config); one line."""


def read_source_tenant(url: str, slug: str) -> dict[Table, list[dict[str, Any]]] | None:
    """The tenant's profile rows in the configured database; None when the database has
    no such tenant, no schema, or (SQLite) does not exist — it is never created here."""
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:" and not Path(path).exists():
            return None
    db = Database(url, pool_size=1)
    try:
        if not inspect(db.engine).has_table(Tenant.__tablename__):
            return None
        tenants: Table = Tenant.__table__  # type: ignore[assignment]
        with db.begin() as conn:
            tenant = conn.execute(select(tenants).where(tenants.c.slug == slug)).mappings().first()
            if tenant is None:
                return None
            rows: dict[Table, list[dict[str, Any]]] = {tenants: [dict(tenant)]}
            for table in PROFILE_TABLES:
                found = conn.execute(select(table).where(table.c.tenant_id == tenant["id"]))
                rows[table] = [dict(r) for r in found.mappings()]
        return rows
    finally:
        db.dispose()


def populate(
    scratch: Database,
    slug: str,
    source: dict[Table, list[dict[str, Any]]] | None,
    today: date,
) -> uuid.UUID:
    """Write the tenant into the (migrated, empty) scratch database; the demo salon is
    seeded when the configured database has no 'demo' tenant."""
    if source is None:
        if slug != DEMO_SLUG:
            raise SetupError(f"no tenant with slug {slug!r} in the configured database")
        with scratch.transaction() as session:
            return seed_demo(session, today=today)
    tenants: Table = Tenant.__table__  # type: ignore[assignment]
    tenant = dict(source[tenants][0])
    with scratch.begin() as conn:
        conn.execute(insert(tenants), [tenant])
        for table in PROFILE_TABLES:
            if source[table]:
                conn.execute(insert(table), source[table])
    return uuid.UUID(str(tenant["id"]))


def prepare_tenant(
    scratch: Database,
    tenant_id: uuid.UUID,
    registry: SkillRegistry,
    enable: Sequence[str],
    skill_configs: Mapping[str, Mapping[str, Any]],
) -> None:
    """Make the copy answer at once and without limits, and enable the requested skills
    (with their config from the command line, the tenant's row, or none)."""
    for name in [*enable, *skill_configs]:
        if registry.get(name) is None:
            raise SetupError(
                f"--skill {name}: no such skill installed "
                f"(installed: {', '.join(registry.names())}; see `hablo plugins list`)"
            )
    for name in skill_configs:
        if name not in enable:
            raise SetupError(f"--skill-config {name}: also pass --skill {name}")
    with scratch.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        settings = {k: v for k, v in (tenant.settings or {}).items() if k not in DROPPED_SETTINGS}
        settings[DEBOUNCE_KEY] = 0  # each step's reply comes at once, not after a burst
        tenant.settings = settings
        tenant.status = TenantStatus.ACTIVE
        tenant.messages_used_month = 0
        tenant.contacts_used = 0
        rows = {
            row.skill_name: row
            for row in session.scalars(
                select(TenantSkill).where(TenantSkill.tenant_id == tenant_id)
            )
        }
        for name in enable:
            cls = registry.get(name)
            assert cls is not None
            row = rows.get(name) or TenantSkill(tenant_id=tenant_id, skill_name=name, config={})
            config = dict(skill_configs.get(name, row.config or {}))
            try:
                cls.config_model.model_validate(config)
            except ValidationError as exc:
                error = exc.errors()[0]
                field = ".".join(str(p) for p in error["loc"]) or "config"
                raise SetupError(
                    f"--skill {name}: config field {field}: {error['msg']} "
                    f"(give it with --skill-config {name}=FILE.yaml)"
                ) from None
            row.enabled = True
            row.config = config
            session.add(row)


def add_other_customer(scratch: Database, tenant_id: uuid.UUID) -> uuid.UUID:
    """The contact who holds every case's `given.bookings`."""
    contact_id, now = new_id(), utcnow()
    with scratch.begin() as conn:
        conn.execute(
            insert(Contact).values(
                id=contact_id,
                tenant_id=tenant_id,
                name=OTHER_CUSTOMER_NAME,
                kind=ContactKind.PROSPECT,
                total_conversations=0,
                total_spent_minor=0,
                created_at=now,
                updated_at=now,
            )
        )
    return contact_id


class GivenBookingError(Exception):
    """A `given.bookings` entry cannot be placed; the message names field and reason."""


def reset_calendar(
    conn: Connection,
    profile: TenantProfile,
    other_customer: uuid.UUID,
    given: Sequence[BookingSpec],
) -> None:
    """Remove every booking, then place the case's given bookings through the booking
    repository (its constraints apply: no overlap)."""
    conn.execute(delete(Booking).where(Booking.tenant_id == profile.info.id))
    policy = BookingPolicy.from_settings(profile.settings)
    repo = BookingRepository(conn, profile.info.id, policy, profile.zone)
    services = {s.name.casefold(): s for s in profile.services}
    for i, spec in enumerate(given):
        field = f"given.bookings[{i}]"
        service = services[spec.service.casefold()]
        start = spec.start.replace(tzinfo=profile.zone)
        end = start + timedelta(minutes=service.duration_minutes)
        where = f"{service.name} at {spec.start:%Y-%m-%dT%H:%M}"
        if not _within_opening_hours(profile, start, end):
            raise GivenBookingError(
                f"{field}: {where} is outside opening hours {_hours(profile, start)}"
            )
        if repo.book(other_customer, service, start) is None:
            raise GivenBookingError(f"{field}: {where} overlaps an earlier given booking")


def _within_opening_hours(profile: TenantProfile, start: datetime, end: datetime) -> bool:
    if end.date() != start.date():
        return False
    return any(
        opens <= start.time() and end.time() <= closes
        for opens, closes in profile.opening_hours(start.date())
    )


def _hours(profile: TenantProfile, start: datetime) -> str:
    day = start.date()
    holiday = profile.holiday(day)
    if holiday:
        return f"(closed on {day:%A}, holiday: {holiday})"
    intervals = profile.opening_hours(day)
    if not intervals:
        return f"(closed on {day:%A})"
    shown = ", ".join(f"{o:%H:%M}-{c:%H:%M}" for o, c in intervals)
    return f"({day:%A}: {shown})"
