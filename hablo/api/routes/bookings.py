"""Bookings from the back office: list, book, move, confirm, cancel, and the month view.

Writes go through the booking skill's repository, so the API and the chat share one
rule set: a new or moved booking must be one of the start times the bot would offer
(open day, not a holiday, inside opening hours on the slot grid, after the minimum
notice, within max_days_ahead). A manager may pass `force: true` to book outside those
rules (a walk-in after hours, a favour on a holiday); nobody can double-book: the
database refuses overlaps on every path (409 `slot_taken`).

Times are ISO 8601 with the tenant's UTC offset; date filters and the calendar use the
tenant's local dates.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, cast
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, Field, model_validator
from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError

from hablo.api.endpoints import ApiRoutes, Call, Page, PageQuery, RequestModel
from hablo.api.permissions import is_allowed
from hablo.api.problems import ApiError, forbidden
from hablo.api.routes.hours import (
    FIRST_YEAR,
    LAST_YEAR,
    CalendarDate,
    clock_text,
    engine_now,
    tenant_zone,
)
from hablo.api.scope import TenantScope, check_if_match, etag_of, sort_order
from hablo.db.enums import BookingStatus
from hablo.db.models import Booking, Contact, Service, User
from hablo.domain.booking.bookable import Unbookable
from hablo.domain.booking.policy import BookingPolicy
from hablo.domain.booking.repository import ACTIVE_STATUSES, BookingRepository
from hablo.engine.tenant_profile import TenantProfile, load_profile
from hablo.plugins.sdk import ServiceInfo

routes = ApiRoutes("bookings")

FORCE_PERMISSION = "bookings:override"


def _sane_instant(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return value


# Bodies are validated as strict JSON: only ISO 8601 text with an offset is a date-time.
Instant = AwareDatetime


# -- models --------------------------------------------------------------------------------


class BookingOut(BaseModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    contact_name: str
    service_id: uuid.UUID
    service_name: str
    starts_at: datetime = Field(description="In the tenant's UTC offset")
    ends_at: datetime
    duration_minutes: int
    status: BookingStatus
    resource: int = Field(description="Which chair/staff slot (1..capacity) it occupies")
    assigned_agent_id: uuid.UUID | None
    conversation_id: uuid.UUID | None
    notes: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, b: Booking, service_name: str, contact_name: str, zone: ZoneInfo) -> BookingOut:
        return cls(
            id=b.id,
            contact_id=b.contact_id,
            contact_name=contact_name,
            service_id=b.service_id,
            service_name=service_name,
            starts_at=b.starts_at.astimezone(zone),
            ends_at=b.ends_at.astimezone(zone),
            duration_minutes=b.duration_minutes,
            status=b.status,
            resource=b.resource,
            assigned_agent_id=b.assigned_agent_id,
            conversation_id=b.conversation_id,
            notes=b.notes,
            created_at=b.created_at,
            updated_at=b.updated_at,
        )


class BookingQuery(PageQuery):
    status: list[BookingStatus] = Field(default_factory=list, max_length=10)
    from_: CalendarDate | None = Field(
        default=None, alias="from", description="First local date (inclusive)"
    )
    to: CalendarDate | None = Field(default=None, description="Last local date (inclusive)")
    contact_id: uuid.UUID | None = None
    service_id: uuid.UUID | None = None
    assigned_agent_id: uuid.UUID | None = None
    sort: Literal["starts_at", "-starts_at", "created_at", "-created_at"] = "starts_at"

    @model_validator(mode="after")
    def _ordered(self) -> BookingQuery:
        if self.from_ and self.to and self.from_ > self.to:
            raise ValueError("'from' must not be after 'to'")
        return self


class BookingIn(RequestModel):
    contact_id: uuid.UUID
    service_id: uuid.UUID
    starts_at: Annotated[Instant, Field(examples=["2026-12-01T10:00:00-03:00"])]
    notes: str = Field(default="", max_length=2000)
    status: Literal["pending", "confirmed"] = "confirmed"
    assigned_agent_id: uuid.UUID | None = None
    force: bool = Field(default=False, description="Managers only: skip the opening-hours rules")

    @model_validator(mode="after")
    def _year(self) -> BookingIn:
        _sane_instant(self.starts_at)
        return self


class BookingPatch(RequestModel):
    starts_at: Instant | None = None
    service_id: uuid.UUID | None = None
    notes: str | None = Field(default=None, max_length=2000)
    assigned_agent_id: uuid.UUID | None = Field(default=None, description="null unassigns")
    force: bool = Field(default=False, description="Managers only: skip the opening-hours rules")

    @model_validator(mode="after")
    def _year(self) -> BookingPatch:
        if self.starts_at is not None:
            _sane_instant(self.starts_at)
        return self


# -- helpers -------------------------------------------------------------------------------


def booking_rows(scope: TenantScope) -> Select[Booking, str, str]:
    """Bookings with their service and contact names; fresh from the database (the
    repository writes with Core statements the session's identity map did not see)."""
    return (
        select(Booking, Service.name, Contact.name)
        .join(Service, Service.id == Booking.service_id)
        .join(Contact, Contact.id == Booking.contact_id)
        .where(Booking.tenant_id == scope.tenant_id)
        .execution_options(populate_existing=True)
    )


def _read(scope: TenantScope, booking_id: uuid.UUID, zone: ZoneInfo) -> BookingOut:
    row = scope.session.execute(booking_rows(scope).where(Booking.id == booking_id)).one()
    return BookingOut.of(row[0], row[1], row[2], zone)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _unknown(field: str) -> ApiError:
    return ApiError(
        422, "unknown_reference", f"{field} does not name one of your records", {"field": field}
    )


def _service(scope: TenantScope, service_id: uuid.UUID, force: bool) -> ServiceInfo:
    service = scope.session.scalars(scope.select(Service).where(Service.id == service_id)).first()
    if service is None:
        raise _unknown("service_id")
    if not service.active and not force:
        raise ApiError(
            422, "service_inactive", f"{service.name!r} is switched off", {"field": "service_id"}
        )
    return ServiceInfo(
        id=service.id,
        name=service.name,
        description=service.description,
        price_minor=service.price_minor,
        duration_minutes=service.duration_minutes,
    )


def _check_agent(scope: TenantScope, user_id: uuid.UUID | None) -> None:
    if user_id is None:
        return
    if scope.session.scalars(scope.select(User).where(User.id == user_id)).first() is None:
        raise _unknown("assigned_agent_id")


def _repository(scope: TenantScope) -> tuple[BookingRepository, TenantProfile]:
    """The skill's repository on this transaction, with the tenant's current (not cached)
    hours, holidays and booking policy."""
    profile = load_profile(scope.session, scope.tenant_id)
    try:
        policy = BookingPolicy.from_settings(profile.settings)
    except ValueError as exc:
        raise ApiError(409, "invalid_booking_settings", str(exc)) from exc
    repo = BookingRepository(scope.session.connection(), scope.tenant_id, policy, profile.zone)
    return repo, profile


def _slot_taken() -> ApiError:
    return ApiError(409, "slot_taken", "that time is already booked; pick another one")


def _require_bookable(
    repo: BookingRepository,
    profile: TenantProfile,
    service: ServiceInfo,
    start: datetime,
    now: datetime,
    moving: uuid.UUID | None = None,
) -> None:
    """422 unless `start` is one of the start times the bot would offer for `service`
    (409 when it would be, but an active booking holds it)."""
    policy, zone = repo.policy, repo.zone
    day = start.astimezone(zone).date()
    intervals = profile.opening_hours(day)
    details: dict[str, Any] = {
        "day": day.isoformat(),
        "opening_hours": [f"{clock_text(a)}-{clock_text(b)}" for a, b in intervals],
        "slot_step_minutes": policy.slot_step_minutes,
    }

    def refuse(reason: str, message: str) -> ApiError:
        return ApiError(422, "slot_not_bookable", message, {"reason": reason, **details})

    reason = repo.why_not(start, service, intervals, now, exclude=moving)
    if reason is None:
        return
    if reason is Unbookable.TAKEN:
        raise _slot_taken()
    holiday = profile.holiday(day) if reason is Unbookable.CLOSED else None
    messages = {
        Unbookable.CLOSED: f"the business is closed on {day.isoformat()}",
        Unbookable.TOO_SOON: f"bookings start at least {policy.min_notice_minutes} minutes "
        "from now",
        Unbookable.TOO_FAR_AHEAD: f"bookings are taken up to {policy.max_days_ahead} days ahead",
        Unbookable.OUTSIDE_HOURS: "not an offered start time: it must fit in the opening "
        f"hours, every {policy.slot_step_minutes} minutes from opening",
    }
    if holiday:
        raise refuse("holiday", f"{day.isoformat()} is a holiday ({holiday})")
    raise refuse(reason.value, messages[reason])


def _may_force(call: Call[Any, Any], force: bool) -> bool:
    if force and not is_allowed(call.user.role, FORCE_PERMISSION):
        raise forbidden("only owners and admins may book outside the opening-hours rules")
    return force


def _not_active(booking: Booking) -> ApiError:
    return ApiError(
        409,
        "booking_not_active",
        f"the booking is {booking.status.value}; only pending or confirmed bookings change",
        {"status": booking.status.value},
    )


# -- operations ----------------------------------------------------------------------------

_SORTS = {"starts_at": Booking.starts_at, "created_at": Booking.created_at}


@routes.get(
    "/api/bookings",
    "bookings:read",
    query=BookingQuery,
    response=Page[BookingOut],
    summary="List bookings (filters: status, local date range, contact, service, agent)",
)
async def list_bookings(call: Call[BookingQuery, None]) -> Page[BookingOut]:
    q = call.query

    def work(scope: TenantScope) -> Page[BookingOut]:
        zone = tenant_zone(scope)
        query = booking_rows(scope)
        if q.status:
            query = query.where(Booking.status.in_(q.status))
        if q.from_ is not None:
            query = query.where(Booking.starts_at >= local_midnight(q.from_, zone))
        if q.to is not None:
            query = query.where(Booking.starts_at < local_midnight(q.to + timedelta(days=1), zone))
        for column, value in (
            (Booking.contact_id, q.contact_id),
            (Booking.service_id, q.service_id),
            (Booking.assigned_agent_id, q.assigned_agent_id),
        ):
            if value is not None:
                query = query.where(column == value)
        total = scope.count(cast(Select[Any], query))
        rows = scope.session.execute(
            query.order_by(sort_order(q.sort, _SORTS), Booking.id)
            .offset(q.offset)
            .limit(q.per_page)
        )
        return Page(
            items=[BookingOut.of(b, s, c, zone) for b, s, c in rows],
            page=q.page,
            per_page=q.per_page,
            total=total,
        )

    return await call.db(work)


@routes.get(
    "/api/bookings/{booking_id}", "bookings:read", response=BookingOut, summary="Get a booking"
)
async def get_booking(call: Call[None, None]) -> BookingOut:
    def work(scope: TenantScope) -> BookingOut:
        booking = scope.get(Booking, call.path["booking_id"], what="booking")
        call.response_headers["ETag"] = etag_of(booking)
        return _read(scope, booking.id, tenant_zone(scope))

    return await call.db(work)


@routes.post(
    "/api/bookings",
    "bookings:write",
    body=BookingIn,
    response=BookingOut,
    status=201,
    errors=(409,),
    summary="Book a service for a contact (409 slot_taken when the time is not free)",
)
async def create_booking(call: Call[None, BookingIn]) -> BookingOut:
    data = call.body
    force = _may_force(call, data.force)
    now = engine_now(call)

    def work(scope: TenantScope) -> BookingOut:
        contact = scope.session.scalars(
            scope.select(Contact).where(Contact.id == data.contact_id)
        ).first()
        if contact is None:
            raise _unknown("contact_id")
        service = _service(scope, data.service_id, force)
        _check_agent(scope, data.assigned_agent_id)
        repo, profile = _repository(scope)
        if not force:
            _require_bookable(repo, profile, service, data.starts_at, now)
        try:
            booked = repo.book(contact.id, service, data.starts_at, status=data.status)
        except IntegrityError as exc:  # e.g. the contact was erased meanwhile
            raise ApiError(409, "conflict", "the booking could not be stored; retry") from exc
        if booked is None:
            raise _slot_taken()
        if data.notes or data.assigned_agent_id:
            scope.session.execute(
                update(Booking)
                .where(Booking.id == booked.id, Booking.tenant_id == scope.tenant_id)
                .values(notes=data.notes, assigned_agent_id=data.assigned_agent_id)
            )
        scope.audit(
            "create",
            "booking",
            booked.id,
            {
                "contact_id": str(contact.id),
                "service": service.name,
                "starts_at": booked.starts_at.isoformat(),
                "status": data.status,
                "forced": force,
            },
        )
        out = _read(scope, booked.id, repo.zone)
        call.response_headers["ETag"] = etag_of(out)
        return out

    return await call.db(work)


@routes.put(
    "/api/bookings/{booking_id}",
    "bookings:write",
    body=BookingPatch,
    response=BookingOut,
    errors=(409, 412),
    summary="Move a booking, change its service, notes or agent (only the fields sent)",
)
async def update_booking(call: Call[None, BookingPatch]) -> BookingOut:
    changes = call.body.model_dump(exclude_unset=True, exclude={"force"})
    force = _may_force(call, call.body.force)
    now = engine_now(call)

    def work(scope: TenantScope) -> BookingOut:
        booking = scope.get(Booking, call.path["booking_id"], what="booking", for_update=True)
        check_if_match(call.if_match(), booking)
        new_start = changes.get("starts_at")
        new_service_id = changes.get("service_id")
        moves = (new_start is not None and new_start != booking.starts_at) or (
            new_service_id is not None and new_service_id != booking.service_id
        )
        if moves:
            if booking.status not in ACTIVE_STATUSES:
                raise _not_active(booking)
            # An existing booking of a since switched-off service may still be moved.
            keeps_service = new_service_id in (None, booking.service_id)
            service = _service(scope, new_service_id or booking.service_id, force or keeps_service)
            start = new_start or booking.starts_at
            repo, profile = _repository(scope)
            if not force:
                _require_bookable(repo, profile, service, start, now, moving=booking.id)
            new_service = service if service.id != booking.service_id else None
            if repo.reschedule(booking.id, None, start, new_service) is None:
                raise _slot_taken()
        plain = {k: changes[k] for k in ("notes", "assigned_agent_id") if k in changes}
        if "notes" in plain and plain["notes"] is None:
            plain["notes"] = ""
        if "assigned_agent_id" in plain:
            _check_agent(scope, plain["assigned_agent_id"])
        if plain:
            scope.session.execute(
                update(Booking)
                .where(Booking.id == booking.id, Booking.tenant_id == scope.tenant_id)
                .values(**plain)
            )
        if moves or plain:
            scope.audit("update", "booking", booking.id, {**changes, "forced": force})
        out = _read(scope, booking.id, tenant_zone(scope))
        call.response_headers["ETag"] = etag_of(out)
        return out

    return await call.db(work)


@routes.delete(
    "/api/bookings/{booking_id}",
    "bookings:write",
    errors=(409, 412),
    summary="Cancel a booking (kept for history; cancelling twice is fine)",
)
async def cancel_booking(call: Call[None, None]) -> None:
    def work(scope: TenantScope) -> None:
        booking = scope.get(Booking, call.path["booking_id"], what="booking", for_update=True)
        check_if_match(call.if_match(), booking)
        if booking.status == BookingStatus.CANCELLED:
            return
        if booking.status not in ACTIVE_STATUSES:
            raise _not_active(booking)
        repo, _ = _repository(scope)
        repo.cancel(booking.id, None)
        scope.audit("cancel", "booking", booking.id, {"status": BookingStatus.CANCELLED.value})

    await call.db(work)


@routes.post(
    "/api/bookings/{booking_id}/confirm",
    "bookings:write",
    response=BookingOut,
    errors=(409,),
    summary="Confirm a pending booking (confirming twice is fine; cancelled: 409)",
)
async def confirm_booking(call: Call[None, None]) -> BookingOut:
    def work(scope: TenantScope) -> BookingOut:
        booking = scope.get(Booking, call.path["booking_id"], what="booking", for_update=True)
        if booking.status not in ACTIVE_STATUSES:
            raise _not_active(booking)
        if booking.status == BookingStatus.PENDING:
            repo, _ = _repository(scope)
            repo.confirm(booking.id, None)
            scope.audit("confirm", "booking", booking.id, {"status": "confirmed"})
        out = _read(scope, booking.id, tenant_zone(scope))
        call.response_headers["ETag"] = etag_of(out)
        return out

    return await call.db(work)
