"""Which start times are free: pure functions, no database.

Times are computed in absolute time (UTC) so that daylight-saving changes never create
or lose minutes: an opening interval is turned into two instants in the tenant's zone,
the step grid runs between them in UTC, and results are UTC-aware datetimes (convert
with `.astimezone(zone)` to show them).

The rule mirrors the database constraint exactly: a booking on resource r blocks
[starts_at, blocked_until) where blocked_until = ends_at + buffer, and two active
bookings of one tenant on one resource may not overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from hablo.domain.booking.policy import BookingPolicy

OpeningIntervals = Sequence[tuple[time, time]]


class BusyRange(NamedTuple):
    """An active booking as availability sees it."""

    start: datetime
    end: datetime  # when the service ends
    # end + buffer as stored with the booking; None: end + the policy's buffer.
    blocked_until: datetime | None = None
    # The chair/staff slot it occupies (1..capacity); None: any one of them.
    resource: int | None = None

    def blocked_end(self, policy: BookingPolicy) -> datetime:
        if self.blocked_until is not None:
            return self.blocked_until
        return self.end + timedelta(minutes=policy.buffer_minutes)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


def _utc_bounds(
    day: date, intervals: OpeningIntervals, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """Opening intervals of a local date as UTC instants (skipping empty ones).

    A local time that does not exist (inside a spring-forward gap) resolves the way
    zoneinfo does with fold=0: with the offset in force before the change.
    """
    bounds = []
    for opens, closes in intervals:
        start = datetime.combine(day, opens, zone).astimezone(UTC)
        end = datetime.combine(day, closes, zone).astimezone(UTC)
        if start < end:
            bounds.append((start, end))
    return bounds


def day_window(
    day: date, policy: BookingPolicy, opening_intervals: OpeningIntervals, zone: ZoneInfo
) -> tuple[datetime, datetime] | None:
    """The UTC span whose busy ranges can affect `day`'s slots (None: closed that day)."""
    bounds = _utc_bounds(day, opening_intervals, zone)
    if not bounds:
        return None
    start = min(b[0] for b in bounds)
    end = max(b[1] for b in bounds) + timedelta(minutes=policy.buffer_minutes)
    return start, end


def last_bookable_day(now: datetime, policy: BookingPolicy, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date() + timedelta(days=policy.max_days_ahead)


def is_free(
    start: datetime,
    duration_minutes: int,
    policy: BookingPolicy,
    busy: Sequence[BusyRange],
) -> bool:
    """Whether a booking [start, start + duration + buffer) finds a free resource.

    Busy ranges with a resource block that resource (resources outside 1..capacity are
    ignored, as the database only compares bookings on the same resource); ranges without
    one each take away one resource.
    """
    end = start + timedelta(minutes=duration_minutes + policy.buffer_minutes)
    taken: set[int] = set()
    unassigned = 0
    for busy_range in busy:
        if busy_range.start < end and start < busy_range.blocked_end(policy):
            if busy_range.resource is None:
                unassigned += 1
            elif 1 <= busy_range.resource <= policy.capacity:
                taken.add(busy_range.resource)
    return policy.capacity - len(taken) - unassigned > 0


def free_slots(
    day: date,
    duration_minutes: int,
    policy: BookingPolicy,
    opening_intervals: OpeningIntervals,
    busy: Sequence[BusyRange],
    now: datetime,
    zone: ZoneInfo,
) -> list[datetime]:
    """Free start times on local date `day`, ascending, as UTC-aware datetimes.

    A slot lies on a grid of `slot_step_minutes` from its interval's opening time, ends
    by the interval's closing time (the buffer may run past it), starts at least
    `min_notice_minutes` after `now`, on or before today + `max_days_ahead` (local dates),
    and has a resource free for [start, end + buffer).
    `opening_intervals` are local (opens, closes) times; pass none for a closed day.
    """
    if duration_minutes <= 0:
        raise ValueError(f"duration_minutes must be positive, got {duration_minutes}")
    _require_aware(now, "now")
    if day > last_bookable_day(now, policy, zone):
        return []
    earliest = now.astimezone(UTC) + timedelta(minutes=policy.min_notice_minutes)
    duration = timedelta(minutes=duration_minutes)
    step = timedelta(minutes=policy.slot_step_minutes)
    slots: set[datetime] = set()
    for opens, closes in _utc_bounds(day, opening_intervals, zone):
        candidate = opens
        if candidate < earliest:  # jump to the first grid point not before `earliest`
            steps = -((opens - earliest) // step)
            candidate = opens + steps * step
        while candidate + duration <= closes:
            if is_free(candidate, duration_minutes, policy, busy):
                slots.add(candidate)
            candidate += step
    return sorted(slots)


# Free times within this of the wanted one fill the list from the wanted day alone; when
# the day's nearest is further ("a las 15" on a Saturday that closes at 13), one from that
# day and the same time on the nearest other days serve the customer better.
NEAR_ENOUGH = timedelta(minutes=90)


def nearest_free(
    wanted: datetime,
    duration_minutes: int,
    policy: BookingPolicy,
    opening_hours: Callable[[date], OpeningIntervals],
    busy_between: Callable[[datetime, datetime], Sequence[BusyRange]],
    now: datetime,
    zone: ZoneInfo,
    limit: int = 3,
) -> list[datetime]:
    """Up to `limit` free starts closest to `wanted`, in chronological order (UTC-aware).

    The wanted local day is searched first (closest to the wanted instant first). If it
    does not have `limit` free slots, the nearest other days fill the list, before or
    after it (never before today, never past today + max_days_ahead), one slot each, the
    one closest to the wanted time of day: "the 1st is a holiday" offers the 30th and the
    3rd at the hour asked for, not three neighbouring minutes of one day.
    `busy_between(start, end)` must return the busy ranges overlapping [start, end).
    """
    _require_aware(wanted, "wanted")
    if limit <= 0:
        return []
    local_wanted = wanted.astimezone(zone)
    today = now.astimezone(zone).date()
    if local_wanted.date() < today:  # a past day: search from today, at the same time
        local_wanted = datetime.combine(today, local_wanted.time(), zone)
    last_day = last_bookable_day(now, policy, zone)
    chosen: list[datetime] = []
    distance = 0
    while len(chosen) < limit:
        around = dict.fromkeys((distance, -distance))
        days = [local_wanted.date() + timedelta(days=d) for d in around]
        days = [d for d in days if today <= d <= last_day]
        if not days and (local_wanted.date() + timedelta(days=distance) > last_day):
            break
        for day in days:
            intervals = opening_hours(day)
            window = day_window(day, policy, intervals, zone)
            if window is None:
                continue
            busy = busy_between(*window)
            slots = free_slots(day, duration_minutes, policy, intervals, busy, now, zone)
            target = datetime.combine(day, local_wanted.time(), zone).astimezone(UTC)
            slots.sort(key=lambda s: (abs(s - target), s))
            take = min(1, limit - len(chosen))
            if distance == 0 and slots and abs(slots[0] - target) <= NEAR_ENOUGH:
                take = limit  # the day has times close to the one asked for
            take = min(take, limit - len(chosen))
            chosen.extend(slots[:take])
        distance += 1
    return sorted(chosen)
