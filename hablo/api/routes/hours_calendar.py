"""The calendar in bulk: the whole week in one call, a country's public holidays, the
holidays the business works anyway, and dates with special hours. The same data as a
tenant file (hablo/tenancy/tenant_file.py), so the API and `hablo tenant import` agree.

Like hours.py, every change tells the tenant's actor to reload its profile.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError

from hablo.api.endpoints import ApiRoutes, Call, RequestModel
from hablo.api.problems import conflict, not_found
from hablo.api.routes.hours import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_INTERVALS_PER_DAY,
    WEEKDAY_NAMES,
    CalendarDate,
    DayHoursIn,
    HolidayOut,
    IntervalIn,
    IntervalOut,
    WeekOut,
    get_hours,
    serialize_hours_writers,
)
from hablo.api.scope import TenantScope
from hablo.db.models import Holiday, SpecialHours, Tenant
from hablo.tenancy.calendar import COUNTRY_KEY, OPEN_DAYS_KEY, add_public_holidays, known_country
from hablo.tenancy.calendar import open_days as stored_open_days
from hablo.tenancy.tenant_file import replace_special_hours, replace_week

routes = ApiRoutes("hours")

MAX_YEARS = 5
MAX_SPECIAL_DAYS = 400
MAX_OPEN_DAYS = 100


# -- models --------------------------------------------------------------------------------


class WeekIn(RequestModel):
    """Every weekday's intervals ([] = closed); all seven are required so a forgotten day
    is an error, not a closed day."""

    monday: DayHoursIn
    tuesday: DayHoursIn
    wednesday: DayHoursIn
    thursday: DayHoursIn
    friday: DayHoursIn
    saturday: DayHoursIn
    sunday: DayHoursIn


Year = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]


class HolidayImportIn(RequestModel):
    country: str = Field(pattern=r"^[A-Z]{2}$", examples=["MX"], description="ISO 3166 code")
    years: list[Year] = Field(min_length=1, max_length=MAX_YEARS, examples=[[2027]])

    @field_validator("country")
    @classmethod
    def _known(cls, value: str) -> str:
        if not known_country(value):
            raise ValueError("no public holidays known for this country")
        return value


class HolidayImportOut(BaseModel):
    country: str
    added: list[HolidayOut] = Field(description="Holidays added now (the rest were there)")
    skipped_open_days: list[dt.date] = Field(
        description="Public holidays the business works (PUT /api/hours/holidays/open)"
    )


class OpenDaysIn(RequestModel):
    days: list[CalendarDate] = Field(max_length=MAX_OPEN_DAYS)


class OpenDaysOut(BaseModel):
    days: list[dt.date] = Field(
        description="Public holidays the business works: imports of the country's holidays "
        "skip them"
    )


class SpecialDayIn(RequestModel):
    day: CalendarDate
    intervals: list[IntervalIn] = Field(min_length=1, max_length=MAX_INTERVALS_PER_DAY)

    @field_validator("intervals")
    @classmethod
    def _no_overlaps(cls, intervals: list[IntervalIn]) -> list[IntervalIn]:
        return DayHoursIn(intervals=intervals).intervals


class SpecialHoursIn(RequestModel):
    days: list[SpecialDayIn] = Field(max_length=MAX_SPECIAL_DAYS)

    @model_validator(mode="after")
    def _each_day_once(self) -> SpecialHoursIn:
        seen: set[dt.date] = set()
        for entry in self.days:
            if entry.day in seen:
                raise ValueError(f"{entry.day.isoformat()} is listed twice")
            seen.add(entry.day)
        return self


class SpecialDayOut(BaseModel):
    day: dt.date
    intervals: list[IntervalOut]


class SpecialHoursOut(BaseModel):
    days: list[SpecialDayOut] = Field(
        description="Dates with other hours than their weekday's (a holiday still closes)"
    )


# -- operations ----------------------------------------------------------------------------


@routes.put(
    "/api/hours",
    "hours:write",
    body=WeekIn,
    response=WeekOut,
    summary="Replace the opening hours of the whole week in one call",
)
async def put_week(call: Call[None, WeekIn]) -> WeekOut:
    week = {
        weekday: [i.as_times() for i in getattr(call.body, name).intervals]
        for weekday, name in enumerate(WEEKDAY_NAMES)
    }

    def work(scope: TenantScope) -> None:
        for weekday in week:  # in order, like PUT /api/hours/{weekday}'s one lock
            serialize_hours_writers(scope, weekday)
        replace_week(scope.session, scope.tenant_id, week)
        scope.audit(
            "update",
            "business_hours",
            "week",
            {
                WEEKDAY_NAMES[d]: ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in intervals)
                for d, intervals in week.items()
            },
        )

    await call.db(work)
    call.tenant_changed()
    return await get_hours(call)


@routes.post(
    "/api/hours/holidays/import",
    "hours:write",
    body=HolidayImportIn,
    response=HolidayImportOut,
    errors=(409,),
    summary="Add a country's public holidays for some years (again: nothing changes)",
)
async def import_holidays(call: Call[None, HolidayImportIn]) -> HolidayImportOut:
    data = call.body

    def work(scope: TenantScope) -> HolidayImportOut:
        tenant = _tenant(scope)
        _lock(scope, "holidays")
        working = stored_open_days(tenant.settings)
        try:  # POST /api/hours/holidays may add one of these days meanwhile
            with scope.session.begin_nested():
                added = add_public_holidays(
                    scope.session, scope.tenant_id, data.country, data.years, tenant.locale, working
                )
        except IntegrityError as exc:
            raise conflict("a holiday was added meanwhile; import again") from exc
        # The country a tenant file export names, and its `hablo tenant import` uses.
        if (tenant.settings or {}).get(COUNTRY_KEY) != data.country:
            tenant.settings = {**(tenant.settings or {}), COUNTRY_KEY: data.country}
        scope.session.flush()
        scope.audit(
            "create",
            "holiday",
            "import",
            {"country": data.country, "years": data.years, "added": len(added)},
        )
        years = set(data.years)
        return HolidayImportOut(
            country=data.country,
            added=[HolidayOut.of(h) for h in sorted(added, key=lambda h: h.day)],
            skipped_open_days=sorted(d for d in working if d.year in years),
        )

    result = await call.db(work)
    call.tenant_changed()
    return result


@routes.get(
    "/api/hours/holidays/open",
    "hours:read",
    response=OpenDaysOut,
    summary="Public holidays the business works",
)
async def get_open_days(call: Call[None, None]) -> OpenDaysOut:
    def work(scope: TenantScope) -> OpenDaysOut:
        return OpenDaysOut(days=sorted(stored_open_days(_tenant(scope).settings)))

    return await call.db(work)


@routes.put(
    "/api/hours/holidays/open",
    "hours:write",
    body=OpenDaysIn,
    response=OpenDaysOut,
    summary="Replace the holidays the business works: those days stop being holidays, and "
    "holiday imports skip them",
)
async def put_open_days(call: Call[None, OpenDaysIn]) -> OpenDaysOut:
    days = sorted(set(call.body.days))

    def work(scope: TenantScope) -> OpenDaysOut:
        tenant = _tenant(scope)
        stored = dict(tenant.settings or {})
        if days:
            stored[OPEN_DAYS_KEY] = [d.isoformat() for d in days]
        else:
            stored.pop(OPEN_DAYS_KEY, None)
        tenant.settings = stored
        if days:
            scope.session.execute(
                delete(Holiday).where(Holiday.tenant_id == scope.tenant_id, Holiday.day.in_(days))
            )
        scope.session.flush()
        scope.audit("update", "holiday", "open", {"days": [d.isoformat() for d in days]})
        return OpenDaysOut(days=days)

    result = await call.db(work)
    call.tenant_changed()
    return result


@routes.get(
    "/api/hours/special",
    "hours:read",
    response=SpecialHoursOut,
    summary="Dates with special hours",
)
async def get_special_hours(call: Call[None, None]) -> SpecialHoursOut:
    return await call.db(_special_out)


@routes.put(
    "/api/hours/special",
    "hours:write",
    body=SpecialHoursIn,
    response=SpecialHoursOut,
    summary="Replace the dates with special hours (they replace the weekday's hours; a "
    "holiday still closes the day)",
)
async def put_special_hours(call: Call[None, SpecialHoursIn]) -> SpecialHoursOut:
    days = {entry.day: [i.as_times() for i in entry.intervals] for entry in call.body.days}

    def work(scope: TenantScope) -> SpecialHoursOut:
        _lock(scope, "special_hours")
        if replace_special_hours(scope.session, scope.tenant_id, days):
            scope.audit(
                "update",
                "special_hours",
                "all",
                {
                    d.isoformat(): ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in intervals)
                    for d, intervals in sorted(days.items())
                },
            )
        return _special_out(scope)

    result = await call.db(work)
    call.tenant_changed()
    return result


# -- helpers -------------------------------------------------------------------------------


def _special_out(scope: TenantScope) -> SpecialHoursOut:
    by_day: dict[dt.date, list[IntervalOut]] = {}
    for row in scope.session.scalars(
        select(SpecialHours)
        .where(SpecialHours.tenant_id == scope.tenant_id)
        .order_by(SpecialHours.day, SpecialHours.opens_at)
    ):
        by_day.setdefault(row.day, []).append(IntervalOut.of((row.opens_at, row.closes_at)))
    return SpecialHoursOut(
        days=[SpecialDayOut(day=d, intervals=i) for d, i in sorted(by_day.items())]
    )


def _tenant(scope: TenantScope) -> Tenant:
    tenant = scope.session.get(Tenant, scope.tenant_id, with_for_update=True)
    if tenant is None:
        raise not_found("tenant")
    return tenant


def _lock(scope: TenantScope, what: str) -> None:
    """Two concurrent replacements must not both delete-then-insert (the result would be
    the union). PostgreSQL: an advisory lock per tenant; SQLite serialises writers."""
    if scope.session.get_bind().dialect.name == "postgresql":
        scope.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"hablo:{what}:{scope.tenant_id}"},
        )
