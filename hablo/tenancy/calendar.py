"""Public holidays of a country (the `holidays` package), applied to a tenant's closed
days with its own exceptions: days it works although they are holidays."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import holidays as holiday_calendars
from sqlalchemy import select
from sqlalchemy.orm import Session

from hablo.db.models import Holiday, Tenant

# Keys of `tenants.settings`: where the public holidays come from, and the holidays the
# business works (ISO dates), which imports of the country's calendar skip.
COUNTRY_KEY = "country"
OPEN_DAYS_KEY = "holidays_open"


@functools.cache
def _countries() -> frozenset[str]:
    return frozenset(holiday_calendars.list_supported_countries())


def known_country(code: str) -> bool:
    return code in _countries()


def _language(country: str, locale: str) -> str | None:
    """The holiday names in the tenant's language when the package has them."""
    supported = holiday_calendars.country_holidays(country).supported_languages
    for candidate in (locale.replace("-", "_"), locale.split("-")[0]):
        if candidate in supported:
            return candidate
    return None


def country_calendar(country: str | None, years: Iterable[int], locale: str) -> dict[date, str]:
    if not country:
        return {}
    calendar = holiday_calendars.country_holidays(
        country, years=tuple(years), language=_language(country, locale)
    )
    return {day: str(name) for day, name in sorted(calendar.items())}


def open_days(settings: Mapping[str, Any] | None) -> frozenset[date]:
    found = set()
    for value in (settings or {}).get(OPEN_DAYS_KEY) or ():
        try:
            found.add(date.fromisoformat(str(value)))
        except ValueError:
            continue
    return frozenset(found)


def add_public_holidays(
    session: Session,
    tenant_id: uuid.UUID,
    country: str,
    years: Iterable[int],
    locale: str,
    skip: Iterable[date] = (),
) -> list[Holiday]:
    """Add the country's holidays of those years the tenant lacks (idempotent); days in
    `skip` (the tenant works them) and days it already has are left alone."""
    calendar = country_calendar(country, years, locale)
    have = set(session.scalars(select(Holiday.day).where(Holiday.tenant_id == tenant_id)))
    have.update(skip)
    added = [
        Holiday(tenant_id=tenant_id, day=day, name=name[:200])
        for day, name in calendar.items()
        if day not in have
    ]
    session.add_all(added)
    session.flush()
    return added


def sync_public_holidays(
    session: Session,
    tenant: Tenant,
    years: Iterable[int],
    since: date,
    closed: Mapping[date, str],
) -> None:
    """Make the tenant's holidays from `since` on exactly: the country's of `years` (from
    its settings), minus the days it works, plus `closed`. Unchanged rows stay as they are;
    older holidays are history and stay too."""
    settings = tenant.settings or {}
    working = open_days(settings)
    wanted = {
        day: name
        for day, name in country_calendar(settings.get(COUNTRY_KEY), years, tenant.locale).items()
        if day not in working
    }
    wanted.update(closed)
    rows = {
        h.day: h for h in session.scalars(select(Holiday).where(Holiday.tenant_id == tenant.id))
    }
    for day, row in rows.items():
        if day >= since and day not in wanted:
            session.delete(row)
    for day, name in wanted.items():
        found = rows.get(day)
        if found is None:
            session.add(Holiday(tenant_id=tenant.id, day=day, name=name[:200]))
        elif found.name != name[:200]:
            found.name = name[:200]
    session.flush()
