"""One tenant's bookings, inside the caller's transaction.

The repository never commits: the engine passes the turn's connection, so a booking
commits with the reply that announces it, or not at all. Every query filters on the
tenant it was built for.

No double booking is the database's job (migration 0002: an exclusion constraint on
PostgreSQL, triggers on SQLite). `book` and `reschedule` look for a free resource first
(cheap, and usually right), then write inside a SAVEPOINT; when a concurrent transaction
took the slot in between, the write violates the constraint, only the savepoint is rolled
back, and the next resource is tried. None means every resource was taken.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Executable, case, exists, insert, select, update
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.exc import IntegrityError, OperationalError

from hablo.db.base import new_id
from hablo.db.enums import BookingStatus
from hablo.db.models import Booking, Contact, Conversation, Service
from hablo.domain.booking import availability, bookable
from hablo.domain.booking.availability import BusyRange, OpeningIntervals
from hablo.domain.booking.bookable import Unbookable
from hablo.domain.booking.policy import BookingPolicy
from hablo.domain.catalog import ServiceInfo

ACTIVE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)
# How each backend reports an overlap (see migration 0002).
PG_EXCLUSION_VIOLATION = "23P01"
EXCLUSION_CONSTRAINT = "ex_bookings_no_overlap"
SQLITE_OVERLAP_MESSAGE = "booking overlaps"


@dataclass(frozen=True)
class BookingInfo:
    id: uuid.UUID
    contact_id: uuid.UUID
    service_id: uuid.UUID
    service_name: str
    starts_at: datetime  # UTC-aware
    ends_at: datetime  # UTC-aware; the buffer is not included
    status: BookingStatus
    resource: int
    conversation_id: uuid.UUID | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def local_start(self, zone: ZoneInfo) -> datetime:
        return self.starts_at.astimezone(zone)

    def local_end(self, zone: ZoneInfo) -> datetime:
        return self.ends_at.astimezone(zone)


PG_DEADLOCK = "40P01"


def is_overlap_violation(exc: IntegrityError) -> bool:
    """Whether an IntegrityError is the no-double-booking constraint (and not, say, a FK)."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == PG_EXCLUSION_VIOLATION:
        diag = getattr(orig, "diag", None)
        name = getattr(diag, "constraint_name", None)
        return name in (None, EXCLUSION_CONSTRAINT)
    return SQLITE_OVERLAP_MESSAGE in str(orig)


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


class BookingRepository:
    """Bookings of one tenant, bound to the caller's connection and transaction."""

    def __init__(
        self, conn: Connection, tenant_id: uuid.UUID, policy: BookingPolicy, zone: ZoneInfo
    ) -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self.policy = policy
        self.zone = zone

    # -- availability ----------------------------------------------------------------------

    def busy_between(
        self, start: datetime, end: datetime, exclude: uuid.UUID | None = None
    ) -> list[BusyRange]:
        """Active bookings whose blocked range [starts_at, blocked_until) meets [start, end)
        (but `exclude`: a booking being moved does not block its own new slot)."""
        query = (
            select(Booking.starts_at, Booking.ends_at, Booking.blocked_until, Booking.resource)
            .where(
                Booking.tenant_id == self.tenant_id,
                Booking.status.in_(ACTIVE_STATUSES),
                Booking.starts_at < _utc(end, "end"),
                Booking.blocked_until > _utc(start, "start"),
            )
            .order_by(Booking.starts_at)
        )
        if exclude is not None:
            query = query.where(Booking.id != exclude)
        rows = self.conn.execute(query)
        return [BusyRange(r.starts_at, r.ends_at, r.blocked_until, r.resource) for r in rows]

    def free_slots(
        self,
        day: date,
        service: ServiceInfo,
        opening_intervals: OpeningIntervals,
        now: datetime,
        planned: Sequence[BusyRange] = (),
    ) -> list[datetime]:
        """Free starts (UTC-aware, ascending) for `service` on local date `day`; `planned`:
        bookings about to be made with it (the services before it in one request)."""
        if day > availability.last_bookable_day(now, self.policy, self.zone):
            return []
        window = availability.day_window(day, self.policy, opening_intervals, self.zone)
        if window is None:
            return []
        return availability.free_slots(
            day,
            service.duration_minutes,
            self.policy,
            opening_intervals,
            [*self.busy_between(*window), *planned],
            now,
            self.zone,
        )

    def why_not(
        self,
        start: datetime,
        service: ServiceInfo,
        opening_intervals: OpeningIntervals,
        now: datetime,
        exclude: uuid.UUID | None = None,
    ) -> Unbookable | None:
        """None when `service` can be booked at `start` (see `bookable.why_not`); a booking
        being moved (`exclude`) does not block its own new slot."""
        day = start.astimezone(self.zone).date()
        window = availability.day_window(day, self.policy, opening_intervals, self.zone)
        busy = self.busy_between(*window, exclude=exclude) if window else []
        return bookable.why_not(
            start, service.duration_minutes, self.policy, opening_intervals, busy, now, self.zone
        )

    # -- writes ----------------------------------------------------------------------------

    def book(
        self,
        contact_id: uuid.UUID,
        service: ServiceInfo,
        start: datetime,
        conversation_id: uuid.UUID | None = None,
        status: BookingStatus | str = BookingStatus.CONFIRMED,
    ) -> BookingInfo | None:
        """Book `service` at `start` on the first free resource; None: the slot is taken.

        The caller picks `start` from `free_slots` (opening hours and notice are not
        re-checked here); the database guarantees no overlap. Raises LookupError when the
        contact, service or conversation is not this tenant's.
        """
        status = BookingStatus(status)
        if status not in ACTIVE_STATUSES:
            raise ValueError(f"a new booking is pending or confirmed, not {status.value}")
        starts_at = _utc(start, "start")
        ends_at = starts_at + timedelta(minutes=service.duration_minutes)
        blocked_until = ends_at + timedelta(minutes=self.policy.buffer_minutes)
        self._check_owned(contact_id, service.id, conversation_id)
        for resource in self._free_resources(starts_at, blocked_until):
            booking_id = new_id()
            statement = insert(Booking).values(
                id=booking_id,
                tenant_id=self.tenant_id,
                contact_id=contact_id,
                service_id=service.id,
                conversation_id=conversation_id,
                starts_at=starts_at,
                ends_at=ends_at,
                blocked_until=blocked_until,
                duration_minutes=service.duration_minutes,
                resource=resource,
                status=status,
                notes="",
            )
            if self._write(statement) is not None:
                return BookingInfo(
                    id=booking_id,
                    contact_id=contact_id,
                    service_id=service.id,
                    service_name=service.name,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    status=status,
                    resource=resource,
                    conversation_id=conversation_id,
                )
        return None

    def cancel(self, booking_id: uuid.UUID, contact_id: uuid.UUID | None) -> bool:
        """Cancel an active booking (of this contact; None: of any contact). Frees its slot."""
        statement = (
            update(Booking)
            .where(*self._owned(booking_id, contact_id), Booking.status.in_(ACTIVE_STATUSES))
            .values(status=BookingStatus.CANCELLED)
        )
        result: CursorResult[Any] = self.conn.execute(statement)
        return result.rowcount == 1

    def confirm(self, booking_id: uuid.UUID, contact_id: uuid.UUID | None) -> bool:
        """Mark an active booking confirmed (e.g. the customer answered a reminder).
        True when it is confirmed now (also if it already was); False: no such active
        booking of this contact. The slot is the same, so this never conflicts."""
        statement = (
            update(Booking)
            .where(*self._owned(booking_id, contact_id), Booking.status.in_(ACTIVE_STATUSES))
            .values(status=BookingStatus.CONFIRMED)
        )
        result: CursorResult[Any] = self.conn.execute(statement)
        return result.rowcount == 1

    def add_note(self, booking_id: uuid.UUID, contact_id: uuid.UUID | None, note: str) -> bool:
        """Append a line to an active booking's notes (of this contact; None: of any).
        False: no such active booking."""
        statement = (
            update(Booking)
            .where(*self._owned(booking_id, contact_id), Booking.status.in_(ACTIVE_STATUSES))
            .values(
                notes=case((Booking.notes == "", note), else_=Booking.notes + "\n" + note)
            )
        )
        result: CursorResult[Any] = self.conn.execute(statement)
        return result.rowcount == 1

    def reschedule(
        self,
        booking_id: uuid.UUID,
        contact_id: uuid.UUID | None,
        new_start: datetime,
        service: ServiceInfo | None = None,
    ) -> BookingInfo | None:
        """Move an active booking to `new_start` (same service and length, unless a new
        `service` of this tenant is given: then its service and length), keeping its id.

        One UPDATE per resource tried, so the old slot is released only in the statement
        that takes the new one. None: not moved (every resource is taken at `new_start`,
        or there is no such active booking of this contact); the booking is unchanged.
        The reminder is re-armed (reminder_sent_at cleared).
        """
        current = self.get(booking_id, contact_id)
        if current is None or not current.active:
            return None
        starts_at = _utc(new_start, "new_start")
        changed_service: dict[str, Any] = {}
        if service is None:
            ends_at = starts_at + (current.ends_at - current.starts_at)
        else:
            ends_at = starts_at + timedelta(minutes=service.duration_minutes)
            changed_service = {
                "service_id": service.id,
                "duration_minutes": service.duration_minutes,
            }
        blocked_until = ends_at + timedelta(minutes=self.policy.buffer_minutes)
        resources = self._free_resources(
            starts_at, blocked_until, exclude=booking_id, prefer=current.resource
        )
        for resource in resources:
            statement = (
                update(Booking)
                .where(*self._owned(booking_id, contact_id), Booking.status.in_(ACTIVE_STATUSES))
                .values(
                    starts_at=starts_at,
                    ends_at=ends_at,
                    blocked_until=blocked_until,
                    resource=resource,
                    reminder_sent_at=None,
                    **changed_service,
                )
            )
            result = self._write(statement)
            if result is None:
                continue
            if result.rowcount != 1:
                return None  # cancelled or moved by someone else meanwhile
            return BookingInfo(
                id=current.id,
                contact_id=current.contact_id,
                service_id=service.id if service else current.service_id,
                service_name=service.name if service else current.service_name,
                starts_at=starts_at,
                ends_at=ends_at,
                status=current.status,
                resource=resource,
                conversation_id=current.conversation_id,
            )
        return None

    # -- reads -----------------------------------------------------------------------------

    def get(self, booking_id: uuid.UUID, contact_id: uuid.UUID | None = None) -> BookingInfo | None:
        """A booking of this tenant (and of `contact_id` when given), in any status."""
        found = self._fetch(*self._owned(booking_id, contact_id))
        return found[0] if found else None

    def upcoming_for_contact(self, contact_id: uuid.UUID, now: datetime) -> list[BookingInfo]:
        """The contact's active bookings starting at or after `now`, soonest first."""
        return self._fetch(
            Booking.contact_id == contact_id,
            Booking.status.in_(ACTIVE_STATUSES),
            Booking.starts_at >= _utc(now, "now"),
        )

    def list_all(self, status: BookingStatus | str | None = None) -> list[BookingInfo]:
        """Every booking of the tenant (optionally of one status), by start time."""
        if status is None:
            return self._fetch()
        return self._fetch(Booking.status == BookingStatus(status))

    # -- internals -------------------------------------------------------------------------

    def _fetch(self, *conditions: Any) -> list[BookingInfo]:
        """This tenant's bookings matching `conditions`, by start time."""
        rows = self.conn.execute(
            select(
                Booking.id,
                Booking.contact_id,
                Booking.service_id,
                Service.name.label("service_name"),
                Booking.starts_at,
                Booking.ends_at,
                Booking.status,
                Booking.resource,
                Booking.conversation_id,
            )
            .join(Service, Service.id == Booking.service_id)
            .where(Booking.tenant_id == self.tenant_id, *conditions)
            .order_by(Booking.starts_at, Booking.resource, Booking.id)
        )
        return [_info(r) for r in rows]

    def _owned(self, booking_id: uuid.UUID, contact_id: uuid.UUID | None) -> list[Any]:
        conditions: list[Any] = [Booking.tenant_id == self.tenant_id, Booking.id == booking_id]
        if contact_id is not None:
            conditions.append(Booking.contact_id == contact_id)
        return conditions

    def _check_owned(
        self,
        contact_id: uuid.UUID,
        service_id: uuid.UUID,
        conversation_id: uuid.UUID | None,
    ) -> None:
        checks = [
            exists().where(Contact.id == contact_id, Contact.tenant_id == self.tenant_id),
            exists().where(Service.id == service_id, Service.tenant_id == self.tenant_id),
        ]
        if conversation_id is not None:
            checks.append(
                exists().where(
                    Conversation.id == conversation_id,
                    Conversation.tenant_id == self.tenant_id,
                )
            )
        found = self.conn.execute(select(*checks)).one()
        for ok, what, value in zip(
            found,
            ("contact", "service", "conversation"),
            (contact_id, service_id, conversation_id),
            strict=False,
        ):
            if not ok:
                raise LookupError(f"{what} {value} does not belong to tenant {self.tenant_id}")

    def _free_resources(
        self,
        starts_at: datetime,
        blocked_until: datetime,
        exclude: uuid.UUID | None = None,
        prefer: int | None = None,
    ) -> Sequence[int]:
        """Resources 1..capacity with no committed active booking overlapping the range,
        `prefer` first. A concurrent writer may still win one: the constraint decides."""
        query = select(Booking.resource).where(
            Booking.tenant_id == self.tenant_id,
            Booking.status.in_(ACTIVE_STATUSES),
            Booking.starts_at < blocked_until,
            Booking.blocked_until > starts_at,
        )
        if exclude is not None:
            query = query.where(Booking.id != exclude)
        taken = set(self.conn.scalars(query.distinct()))
        free = [r for r in range(1, self.policy.capacity + 1) if r not in taken]
        if prefer in free:
            free.remove(prefer)
            free.insert(0, prefer)
        return free

    def _write(self, statement: Executable) -> CursorResult[Any] | None:
        """Run one write in a SAVEPOINT; None when it would double-book (savepoint undone)."""
        try:
            with self.conn.begin_nested():
                result: CursorResult[Any] = self.conn.execute(statement)
                return result
        except IntegrityError as exc:
            if is_overlap_violation(exc):
                return None
            raise
        except OperationalError as exc:
            # Two customers racing for the same slots on several resources can deadlock
            # inside the exclusion check; PostgreSQL aborts one of them. Only this
            # savepoint is lost: for that customer the slot counts as taken.
            if getattr(exc.orig, "sqlstate", None) == PG_DEADLOCK:
                return None
            raise


def _info(row: Any) -> BookingInfo:
    return BookingInfo(
        id=row.id,
        contact_id=row.contact_id,
        service_id=row.service_id,
        service_name=row.service_name,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        status=BookingStatus(row.status),
        resource=row.resource,
        conversation_id=row.conversation_id,
    )
