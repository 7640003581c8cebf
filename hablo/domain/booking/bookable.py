"""The one "is this slot bookable" rule. The bot offers only starts that pass it (via
`availability.free_slots`), the API refuses the others with the reason, and a plugin
asks the same question through `BookingRepository.why_not`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from hablo.domain.booking import availability
from hablo.domain.booking.availability import BusyRange, OpeningIntervals
from hablo.domain.booking.policy import BookingPolicy


class Unbookable(StrEnum):
    CLOSED = "closed"  # no opening hours that local day (a holiday included)
    TOO_SOON = "too_soon"  # sooner than min_notice_minutes from now
    TOO_FAR_AHEAD = "too_far_ahead"  # past today + max_days_ahead
    OUTSIDE_HOURS = "outside_hours"  # not on the slot grid inside the opening hours
    TAKEN = "taken"  # a start the bot would offer, but no resource is free


def why_not(
    start: datetime,
    duration_minutes: int,
    policy: BookingPolicy,
    opening_intervals: OpeningIntervals,
    busy: Sequence[BusyRange],
    now: datetime,
    zone: ZoneInfo,
) -> Unbookable | None:
    """None when `start` is one of the free starts the bot would offer; else the first
    rule it breaks, in the order a customer understands them. `opening_intervals` are the
    local opening hours of `start`'s local day; `busy` must cover that day's window."""
    day = start.astimezone(zone).date()
    if not opening_intervals:
        return Unbookable.CLOSED
    if start < now + timedelta(minutes=policy.min_notice_minutes):
        return Unbookable.TOO_SOON
    if day > availability.last_bookable_day(now, policy, zone):
        return Unbookable.TOO_FAR_AHEAD
    grid = availability.free_slots(day, duration_minutes, policy, opening_intervals, [], now, zone)
    if start not in grid:
        return Unbookable.OUTSIDE_HOURS
    if not availability.is_free(start, duration_minutes, policy, busy):
        return Unbookable.TAKEN
    return None
