"""Opening hours per weekday and the holidays the business is closed on.

Changes reach the running engine at once: after the transaction commits, the tenant's
actor is told to reload its profile (hours and holidays are cached there, so a turn
never queries the calendar).
"""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError

from hablo.api.app_keys import RUNTIME
from hablo.api.endpoints import ApiRoutes, Call, Page, PageQuery, RequestModel
from hablo.api.problems import conflict, not_found
from hablo.api.scope import TenantScope
from hablo.db.models import BusinessHours, Holiday, Tenant

routes = ApiRoutes("hours")

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_INTERVALS_PER_DAY = 6
# How far ahead GET /api/hours lists holidays.
UPCOMING_HOLIDAY_DAYS = 366
# Calendar dates the API accepts: wide enough for any business, narrow enough that date
# arithmetic (a day after, a month after) can never overflow.
FIRST_YEAR, LAST_YEAR = 1970, 2200
CLOCK_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _sane_year(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return value


def _iso_date(value: object) -> object:
    """Only YYYY-MM-DD: a lax query parser would read "0" as 1970-01-01."""
    if isinstance(value, str):
        if not ISO_DATE.match(value):
            raise ValueError("give a date as YYYY-MM-DD")
        return date.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("give a date as YYYY-MM-DD")


# A local calendar date, in a query string or a JSON body (parsed here, so strict JSON
# validation downstream sees a date).
CalendarDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_sane_year)]


def clock_text(value: time) -> str:
    return value.strftime("%H:%M")


# -- models --------------------------------------------------------------------------------


class IntervalIn(RequestModel):
    opens_at: str = Field(pattern=CLOCK_TIME, examples=["09:00"], description="Local HH:MM")
    closes_at: str = Field(pattern=CLOCK_TIME, examples=["13:00"], description="Local HH:MM")

    @model_validator(mode="after")
    def _opens_before_closes(self) -> IntervalIn:
        if self.opens_at >= self.closes_at:  # zero-padded HH:MM sorts like the time
            raise ValueError(f"opens_at {self.opens_at} must be before closes_at {self.closes_at}")
        return self

    def as_times(self) -> tuple[time, time]:
        return time.fromisoformat(self.opens_at), time.fromisoformat(self.closes_at)


class DayHoursIn(RequestModel):
    intervals: list[IntervalIn] = Field(
        max_length=MAX_INTERVALS_PER_DAY,
        description="Opening intervals of the weekday; an empty list means closed",
    )

    @field_validator("intervals")
    @classmethod
    def _no_overlaps(cls, intervals: list[IntervalIn]) -> list[IntervalIn]:
        ordered = sorted(intervals, key=lambda i: i.opens_at)
        for before, after in itertools.pairwise(ordered):
            if after.opens_at < before.closes_at:
                raise ValueError(
                    f"intervals {before.opens_at}-{before.closes_at} and "
                    f"{after.opens_at}-{after.closes_at} overlap"
                )
        return ordered


class IntervalOut(BaseModel):
    opens_at: str
    closes_at: str

    @classmethod
    def of(cls, interval: tuple[time, time]) -> IntervalOut:
        return cls(opens_at=clock_text(interval[0]), closes_at=clock_text(interval[1]))


class DayHoursOut(BaseModel):
    weekday: int = Field(description="0 = Monday ... 6 = Sunday")
    day_name: str
    open: bool
    intervals: list[IntervalOut]


class HolidayOut(BaseModel):
    id: uuid.UUID
    day: date
    name: str

    @classmethod
    def of(cls, h: Holiday) -> HolidayOut:
        return cls(id=h.id, day=h.day, name=h.name)


class WeekOut(BaseModel):
    timezone: str
    days: list[DayHoursOut]
    upcoming_holidays: list[HolidayOut] = Field(description="Holidays of the next 12 months")


class HolidayQuery(PageQuery):
    from_: CalendarDate | None = Field(default=None, alias="from", description="First day")
    to: CalendarDate | None = Field(default=None, description="Last day (inclusive)")

    @model_validator(mode="after")
    def _ordered(self) -> HolidayQuery:
        if self.from_ and self.to and self.from_ > self.to:
            raise ValueError("'from' must not be after 'to'")
        return self


class HolidayIn(RequestModel):
    day: CalendarDate
    name: str = Field(min_length=1, max_length=200)


# -- shared with the bookings routes --------------------------------------------------------


def tenant_zone(scope: TenantScope) -> ZoneInfo:
    tenant = scope.session.get(Tenant, scope.tenant_id)
    if tenant is None:
        raise not_found("tenant")
    return ZoneInfo(tenant.timezone)


def engine_now(call: Call[Any, Any]) -> datetime:
    """The engine's clock (fixed in some tests), UTC-aware."""
    return call.request.app[RUNTIME].engine.clock()


def _week(scope: TenantScope) -> list[DayHoursOut]:
    rows = scope.session.scalars(
        scope.select(BusinessHours).order_by(BusinessHours.weekday, BusinessHours.opens_at)
    )
    by_day: dict[int, list[IntervalOut]] = {d: [] for d in range(7)}
    for row in rows:
        by_day[row.weekday].append(IntervalOut.of((row.opens_at, row.closes_at)))
    return [
        DayHoursOut(weekday=d, day_name=WEEKDAY_NAMES[d], open=bool(i), intervals=i)
        for d, i in by_day.items()
    ]


# -- operations ----------------------------------------------------------------------------


@routes.get("/api/hours", "hours:read", response=WeekOut, summary="Opening hours of the week")
async def get_hours(call: Call[None, None]) -> WeekOut:
    now = engine_now(call)

    def work(scope: TenantScope) -> WeekOut:
        zone = tenant_zone(scope)
        today = now.astimezone(zone).date()
        holidays = scope.session.scalars(
            scope.select(Holiday)
            .where(Holiday.day >= today, Holiday.day < today + timedelta(UPCOMING_HOLIDAY_DAYS))
            .order_by(Holiday.day)
        )
        return WeekOut(
            timezone=zone.key,
            days=_week(scope),
            upcoming_holidays=[HolidayOut.of(h) for h in holidays],
        )

    return await call.db(work)


@routes.put(
    "/api/hours/{weekday}",
    "hours:write",
    body=DayHoursIn,
    response=DayHoursOut,
    path_types={"weekday": int},
    summary="Replace the opening intervals of one weekday (0 = Monday; [] = closed)",
)
async def put_day_hours(call: Call[None, DayHoursIn]) -> DayHoursOut:
    weekday: int = call.path["weekday"]
    if not 0 <= weekday <= 6:
        raise not_found("weekday")
    intervals = [i.as_times() for i in call.body.intervals]

    def work(scope: TenantScope) -> DayHoursOut:
        serialize_hours_writers(scope, weekday)
        scope.session.execute(
            delete(BusinessHours).where(
                BusinessHours.tenant_id == scope.tenant_id, BusinessHours.weekday == weekday
            )
        )
        for opens, closes in intervals:
            scope.add(BusinessHours(weekday=weekday, opens_at=opens, closes_at=closes))
        scope.session.flush()
        described = ", ".join(f"{clock_text(a)}-{clock_text(b)}" for a, b in intervals)
        scope.audit(
            "update", "business_hours", weekday, {"weekday": weekday, "intervals": described}
        )
        return DayHoursOut(
            weekday=weekday,
            day_name=WEEKDAY_NAMES[weekday],
            open=bool(intervals),
            intervals=[IntervalOut.of(i) for i in intervals],
        )

    result = await call.db(work)
    call.tenant_changed()
    return result


def serialize_hours_writers(scope: TenantScope, weekday: int) -> None:
    """Two concurrent PUTs of one weekday must not both delete-then-insert (the result
    would be the union of both lists). PostgreSQL: a transaction-scoped advisory lock per
    tenant and weekday; SQLite already serialises writers (BEGIN IMMEDIATE)."""
    if scope.session.get_bind().dialect.name == "postgresql":
        scope.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"hablo:business_hours:{scope.tenant_id}:{weekday}"},
        )


@routes.get(
    "/api/hours/holidays",
    "hours:read",
    query=HolidayQuery,
    response=Page[HolidayOut],
    summary="List holidays (closed days), optionally within a date range",
)
async def list_holidays(call: Call[HolidayQuery, None]) -> Page[HolidayOut]:
    q = call.query

    def work(scope: TenantScope) -> Page[HolidayOut]:
        query = scope.select(Holiday)
        if q.from_ is not None:
            query = query.where(Holiday.day >= q.from_)
        if q.to is not None:
            query = query.where(Holiday.day <= q.to)
        total = scope.count(query)
        rows = scope.session.scalars(query.order_by(Holiday.day).offset(q.offset).limit(q.per_page))
        return Page(
            items=[HolidayOut.of(h) for h in rows], page=q.page, per_page=q.per_page, total=total
        )

    return await call.db(work)


@routes.post(
    "/api/hours/holidays",
    "hours:write",
    body=HolidayIn,
    response=HolidayOut,
    status=201,
    errors=(409,),
    summary="Add a holiday (the business is closed that day)",
)
async def create_holiday(call: Call[None, HolidayIn]) -> HolidayOut:
    data = call.body

    def work(scope: TenantScope) -> HolidayOut:
        duplicate = conflict(f"{data.day.isoformat()} is already a holiday", {"field": "day"})
        taken = scope.session.scalar(
            select(func.count()).where(
                Holiday.tenant_id == scope.tenant_id, Holiday.day == data.day
            )
        )
        if taken:
            raise duplicate
        holiday = scope.add(Holiday(day=data.day, name=data.name))
        try:  # a concurrent writer may add the same day between our check and our insert
            with scope.session.begin_nested():
                scope.session.flush()
        except IntegrityError as exc:
            raise duplicate from exc
        scope.audit(
            "create", "holiday", holiday.id, {"day": data.day.isoformat(), "name": data.name}
        )
        return HolidayOut.of(holiday)

    result = await call.db(work)
    call.tenant_changed()
    return result


@routes.delete(
    "/api/hours/holidays/{holiday_id}",
    "hours:write",
    summary="Remove a holiday (the weekday's usual hours apply again)",
)
async def delete_holiday(call: Call[None, None]) -> None:
    def work(scope: TenantScope) -> None:
        holiday = scope.get(Holiday, call.path["holiday_id"], what="holiday", for_update=True)
        scope.session.delete(holiday)
        scope.audit("delete", "holiday", holiday.id, {"day": holiday.day.isoformat()})

    await call.db(work)
    call.tenant_changed()
