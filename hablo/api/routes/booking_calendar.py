"""The month view of bookings: each local day of the tenant with its bookings and counts,
closed days and holidays marked."""

from __future__ import annotations

import calendar as month_calendar
import uuid
from datetime import date, datetime, timedelta

from pydantic import BaseModel, Field, model_validator

from hablo.api.endpoints import ApiRoutes, Call, RequestModel
from hablo.api.routes.bookings import booking_rows, local_midnight
from hablo.api.routes.hours import FIRST_YEAR, LAST_YEAR, IntervalOut, clock_text
from hablo.api.scope import TenantScope
from hablo.db.enums import BookingStatus
from hablo.db.models import Booking
from hablo.engine.tenant_profile import load_profile

routes = ApiRoutes("bookings")


class CalendarQuery(RequestModel):
    month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", examples=["2026-12"])

    @model_validator(mode="after")
    def _year(self) -> CalendarQuery:
        if not FIRST_YEAR <= int(self.month[:4]) <= LAST_YEAR:
            raise ValueError(f"year must be between {FIRST_YEAR} and {LAST_YEAR}")
        return self


class StatusCounts(BaseModel):
    total: int = 0
    pending: int = 0
    confirmed: int = 0
    cancelled: int = 0
    completed: int = 0
    no_show: int = 0

    def add(self, status: BookingStatus) -> None:
        self.total += 1
        setattr(self, status.value, getattr(self, status.value) + 1)


class CalendarBooking(BaseModel):
    id: uuid.UUID
    time: str = Field(description="Local HH:MM")
    starts_at: datetime
    ends_at: datetime
    service_id: uuid.UUID
    service_name: str
    contact_id: uuid.UUID
    contact_name: str
    status: BookingStatus


class CalendarDay(BaseModel):
    date: date
    weekday: int = Field(description="0 = Monday ... 6 = Sunday")
    open: bool = Field(description="False on closed weekdays and holidays")
    holiday: str | None
    opening_hours: list[IntervalOut]
    counts: StatusCounts
    bookings: list[CalendarBooking]


class CalendarMonth(BaseModel):
    month: str
    timezone: str
    counts: StatusCounts
    days: list[CalendarDay]


@routes.get(
    "/api/bookings/calendar",
    "bookings:read",
    query=CalendarQuery,
    response=CalendarMonth,
    summary="A month's bookings grouped by the tenant's local date, with closed days marked",
)
async def booking_calendar(call: Call[CalendarQuery, None]) -> CalendarMonth:
    year, month = (int(part) for part in call.query.month.split("-"))

    def work(scope: TenantScope) -> CalendarMonth:
        profile = load_profile(scope.session, scope.tenant_id)
        zone = profile.zone
        first = date(year, month, 1)
        days_in_month = month_calendar.monthrange(year, month)[1]
        after = first + timedelta(days=days_in_month)
        rows = scope.session.execute(
            booking_rows(scope)
            .where(
                Booking.starts_at >= local_midnight(first, zone),
                Booking.starts_at < local_midnight(after, zone),
            )
            .order_by(Booking.starts_at, Booking.resource, Booking.id)
        )
        by_day: dict[date, list[CalendarBooking]] = {}
        for booking, service_name, contact_name in rows:
            local = booking.starts_at.astimezone(zone)
            by_day.setdefault(local.date(), []).append(
                CalendarBooking(
                    id=booking.id,
                    time=clock_text(local.time()),
                    starts_at=local,
                    ends_at=booking.ends_at.astimezone(zone),
                    service_id=booking.service_id,
                    service_name=service_name,
                    contact_id=booking.contact_id,
                    contact_name=contact_name,
                    status=booking.status,
                )
            )
        month_counts = StatusCounts()
        days = []
        for offset in range(days_in_month):
            day = first + timedelta(days=offset)
            bookings = by_day.get(day, [])
            counts = StatusCounts()
            for item in bookings:
                counts.add(item.status)
                month_counts.add(item.status)
            hours = profile.opening_hours(day)
            days.append(
                CalendarDay(
                    date=day,
                    weekday=day.weekday(),
                    open=bool(hours),
                    holiday=profile.holiday(day),
                    opening_hours=[IntervalOut.of(i) for i in hours],
                    counts=counts,
                    bookings=bookings,
                )
            )
        return CalendarMonth(
            month=call.query.month, timezone=zone.key, counts=month_counts, days=days
        )

    return await call.db(work)
