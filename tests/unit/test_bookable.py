"""The one "is this slot bookable" rule (hablo.domain.booking.bookable): each reason, and
agreement with the slots the bot offers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from hablo.domain.booking.availability import BusyRange, OpeningIntervals, free_slots
from hablo.domain.booking.bookable import Unbookable, why_not
from hablo.domain.booking.policy import BookingPolicy

BA = ZoneInfo("America/Argentina/Buenos_Aires")
MONDAY = date(2030, 1, 7)
NOW = datetime(2030, 1, 6, 12, 0, tzinfo=BA)
DAY = ((time(9), time(19)),)
POLICY = BookingPolicy(max_days_ahead=30)


def at(day: date, hh_mm: str) -> datetime:
    hour, minute = (int(x) for x in hh_mm.split(":"))
    return datetime.combine(day, time(hour, minute), BA).astimezone(UTC)


def test_a_free_start_on_the_grid_is_bookable() -> None:
    assert why_not(at(MONDAY, "10:15"), 30, POLICY, DAY, [], NOW, BA) is None


def test_each_reason() -> None:
    def reason(
        start: datetime, intervals: OpeningIntervals = DAY, busy: Sequence[BusyRange] = ()
    ) -> Unbookable | None:
        return why_not(start, 30, POLICY, intervals, busy, NOW, BA)

    assert reason(at(MONDAY, "10:00"), intervals=()) is Unbookable.CLOSED
    assert reason(NOW + timedelta(minutes=30)) is Unbookable.TOO_SOON
    assert reason(at(MONDAY + timedelta(days=40), "10:00")) is Unbookable.TOO_FAR_AHEAD
    assert reason(at(MONDAY, "10:07")) is Unbookable.OUTSIDE_HOURS  # off the 15-minute grid
    assert reason(at(MONDAY, "18:45")) is Unbookable.OUTSIDE_HOURS  # ends after closing
    taken = [BusyRange(at(MONDAY, "10:00"), at(MONDAY, "11:00"))]
    assert reason(at(MONDAY, "10:30"), busy=taken) is Unbookable.TAKEN
    assert reason(at(MONDAY, "11:00"), busy=taken) is None


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.integers(min_value=0, max_value=24 * 60 - 1),
    busy_start=st.integers(min_value=9 * 4, max_value=18 * 4),
)
def test_bookable_exactly_when_the_bot_would_offer_it(minutes: int, busy_start: int) -> None:
    """The rule and `free_slots` (what the bot offers) never disagree."""
    start = datetime.combine(MONDAY, time(), BA).astimezone(UTC) + timedelta(minutes=minutes)
    held = at(MONDAY, f"{busy_start // 4:02d}:{busy_start % 4 * 15:02d}")
    busy = [BusyRange(held, held + timedelta(minutes=45))]
    offered = free_slots(MONDAY, 30, POLICY, DAY, busy, NOW, BA)
    assert (why_not(start, 30, POLICY, DAY, busy, NOW, BA) is None) == (start in offered)
