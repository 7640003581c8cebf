"""Booking policy and availability: pure functions, no database."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hablo.domain.booking.availability import (
    BusyRange,
    OpeningIntervals,
    free_slots,
    is_free,
    nearest_free,
)
from hablo.domain.booking.policy import BookingPolicy

BA = ZoneInfo("America/Argentina/Buenos_Aires")  # UTC-3 all year
MADRID = ZoneInfo("Europe/Madrid")  # CET -> CEST on 2027-03-28 at 02:00, back 2027-10-31
MONDAY = date(2030, 1, 7)
NOW = datetime(2030, 1, 6, 12, 0, tzinfo=BA)  # the Sunday before, noon
DAY = ((time(9), time(19)),)
POLICY = BookingPolicy()


def at(day: date, hh_mm: str, zone: ZoneInfo = BA) -> datetime:
    """A local wall time as a UTC instant."""
    hour, minute = (int(x) for x in hh_mm.split(":"))
    return datetime.combine(day, time(hour, minute), zone).astimezone(UTC)


def local(slots: Sequence[datetime], zone: ZoneInfo = BA) -> list[str]:
    return [f"{s.astimezone(zone):%H:%M}" for s in slots]


def busy(day: date, start: str, end: str, resource: int | None = None) -> BusyRange:
    return BusyRange(at(day, start), at(day, end), resource=resource)


# -- policy ------------------------------------------------------------------------------


def test_policy_defaults() -> None:
    policy = BookingPolicy.from_settings({})
    assert policy == BookingPolicy(
        buffer_minutes=0,
        min_notice_minutes=60,
        max_days_ahead=60,
        capacity=1,
        slot_step_minutes=15,
        reminder_hours_before=24,
    )
    assert BookingPolicy.from_settings({"booking": None}) == policy
    assert BookingPolicy.from_settings(None) == policy


def test_policy_reads_booking_settings() -> None:
    policy = BookingPolicy.from_settings(
        {"booking": {"capacity": 3, "buffer_minutes": 10}, "other": {"x": 1}}
    )
    assert (policy.capacity, policy.buffer_minutes, policy.slot_step_minutes) == (3, 10, 15)


@pytest.mark.parametrize(
    ("booking", "field"),
    [
        ({"capacity": 0}, "booking.capacity"),
        ({"capacity": "2"}, "booking.capacity"),
        ({"capacity": True}, "booking.capacity"),
        ({"slot_step_minutes": 0}, "booking.slot_step_minutes"),
        ({"buffer_minutes": -5}, "booking.buffer_minutes"),
        ({"max_days": 30}, "booking.max_days"),  # typo: extra keys are refused
        ([1, 2], "booking must be an object"),
    ],
)
def test_policy_bad_config_is_a_clear_value_error(booking: object, field: str) -> None:
    with pytest.raises(ValueError, match="invalid booking settings") as info:
        BookingPolicy.from_settings({"booking": booking})
    assert field in str(info.value)


def test_policy_is_frozen() -> None:
    with pytest.raises(ValueError):
        POLICY.capacity = 2  # type: ignore[misc]


# -- free_slots ----------------------------------------------------------------------------


def test_slots_fill_the_opening_hours_on_the_step_grid() -> None:
    split = ((time(9), time(13)), (time(14), time(18)))
    policy = BookingPolicy(slot_step_minutes=30)
    slots = free_slots(MONDAY, 60, policy, split, [], NOW, BA)
    assert local(slots) == [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00",
        "14:00", "14:30", "15:00", "15:30", "16:00", "16:30", "17:00",
    ]  # fmt: skip
    assert all(s.tzinfo is UTC for s in slots)
    assert slots[0] == datetime(2030, 1, 7, 12, 0, tzinfo=UTC)


def test_grid_is_aligned_to_each_opening_time() -> None:
    policy = BookingPolicy(slot_step_minutes=45)
    intervals = ((time(9, 10), time(12)),)
    assert local(free_slots(MONDAY, 30, policy, intervals, [], NOW, BA)) == [
        "09:10", "09:55", "10:40", "11:25",
    ]  # fmt: skip


def test_closed_day_or_holiday_has_no_slots() -> None:
    assert free_slots(MONDAY, 30, POLICY, (), [], NOW, BA) == []


def test_service_longer_than_the_interval_has_no_slots() -> None:
    assert free_slots(MONDAY, 90, POLICY, ((time(9), time(10)),), [], NOW, BA) == []


def test_busy_ranges_block_overlapping_slots_only() -> None:
    taken = [busy(MONDAY, "10:00", "11:00")]
    slots = local(free_slots(MONDAY, 30, POLICY, ((time(9), time(12)),), taken, NOW, BA))
    assert slots == ["09:00", "09:15", "09:30", "11:00", "11:15", "11:30"]


def test_buffer_follows_existing_and_new_bookings() -> None:
    policy = BookingPolicy(buffer_minutes=15)
    taken = [busy(MONDAY, "10:00", "11:00")]
    slots = local(free_slots(MONDAY, 30, policy, ((time(9), time(12)),), taken, NOW, BA))
    # 09:30 would end 10:00 + 15 min buffer > 10:00; 11:00 is inside the 11:00-11:15 buffer.
    assert slots == ["09:00", "09:15", "11:15", "11:30"]


def test_buffer_may_run_past_closing_time() -> None:
    policy = BookingPolicy(buffer_minutes=30)
    assert local(free_slots(MONDAY, 60, policy, ((time(9), time(10)),), [], NOW, BA)) == ["09:00"]


def test_stored_blocked_until_wins_over_the_policy_buffer() -> None:
    # Booked when the buffer was 30 minutes; the policy now says 0.
    old = BusyRange(at(MONDAY, "10:00"), at(MONDAY, "10:30"), at(MONDAY, "11:00"))
    slots = local(free_slots(MONDAY, 30, POLICY, ((time(10), time(12)),), [old], NOW, BA))
    assert slots[0] == "11:00"


def test_min_notice() -> None:
    now = datetime.combine(MONDAY, time(9, 20), BA)
    slots = local(free_slots(MONDAY, 30, POLICY, DAY, [], now, BA))
    assert slots[0] == "10:30"  # 09:20 + 60 min = 10:20, next grid point
    exact = datetime.combine(MONDAY, time(9, 30), BA)
    assert local(free_slots(MONDAY, 30, POLICY, DAY, [], exact, BA))[0] == "10:30"
    late = datetime.combine(MONDAY, time(18, 10), BA)
    assert free_slots(MONDAY, 30, POLICY, DAY, [], late, BA) == []
    assert free_slots(MONDAY - timedelta(days=1), 30, POLICY, DAY, [], now, BA) == []


def test_max_days_ahead_counts_local_dates() -> None:
    policy = BookingPolicy(max_days_ahead=5)
    now = datetime(2030, 1, 2, 23, 30, tzinfo=BA)  # 02:30 UTC on the 3rd
    assert free_slots(date(2030, 1, 7), 30, policy, DAY, [], now, BA)
    assert free_slots(date(2030, 1, 8), 30, policy, DAY, [], now, BA) == []


def test_capacity_two_allows_two_overlapping_bookings() -> None:
    policy = BookingPolicy(capacity=2)
    window = ((time(10), time(11)),)
    one = [busy(MONDAY, "10:00", "11:00", resource=1)]
    assert local(free_slots(MONDAY, 60, policy, window, one, NOW, BA)) == ["10:00"]
    two = [*one, busy(MONDAY, "10:30", "11:00", resource=2)]
    assert free_slots(MONDAY, 60, policy, window, two, NOW, BA) == []
    # Two bookings on resource 1 leave resource 2 free.
    same = [*one, busy(MONDAY, "10:30", "11:00", resource=1)]
    assert local(free_slots(MONDAY, 60, policy, window, same, NOW, BA)) == ["10:00"]
    # Without resources, each busy range takes one.
    anonymous = [busy(MONDAY, "10:00", "10:30"), busy(MONDAY, "10:30", "11:00")]
    assert free_slots(MONDAY, 60, policy, window, anonymous, NOW, BA) == []
    # 10:15-10:45 meets both (they might be on different resources): taken.
    assert local(free_slots(MONDAY, 30, policy, window, anonymous, NOW, BA)) == ["10:00", "10:30"]


def test_is_free_ignores_resources_beyond_capacity() -> None:
    start = at(MONDAY, "10:00")
    assert is_free(start, 30, POLICY, [busy(MONDAY, "10:00", "10:30", resource=2)])
    assert not is_free(start, 30, POLICY, [busy(MONDAY, "10:00", "10:30", resource=1)])


def test_spring_forward_in_madrid() -> None:
    """2027-03-28: 02:00 CET jumps to 03:00 CEST; the night has one hour less."""
    dst_day = date(2027, 3, 28)
    now = datetime(2027, 3, 20, 12, tzinfo=MADRID)
    policy = BookingPolicy(slot_step_minutes=60)
    night = ((time(1), time(5)),)
    slots = free_slots(dst_day, 60, policy, night, [], now, MADRID)
    assert local(slots, MADRID) == ["01:00", "03:00", "04:00"]
    assert [f"{s:%H:%M}" for s in slots] == ["00:00", "01:00", "02:00"]  # UTC, 1 h apart
    # Daytime hours are in CEST that day (UTC+2), in CET the day before (UTC+1).
    day_slots = free_slots(dst_day, 30, POLICY, DAY, [], now, MADRID)
    assert day_slots[0] == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)
    assert local(day_slots, MADRID)[0] == "09:00" and local(day_slots, MADRID)[-1] == "18:30"
    before = free_slots(date(2027, 3, 27), 30, POLICY, DAY, [], now, MADRID)
    assert before[0] == datetime(2027, 3, 27, 8, 0, tzinfo=UTC)
    # A booking spanning the gap blocks by real time: 01:30 CET + 60 min = 03:30 CEST.
    taken = [BusyRange(at(dst_day, "01:30", MADRID), at(dst_day, "03:30", MADRID))]
    policy30 = BookingPolicy(slot_step_minutes=30)
    slots = free_slots(dst_day, 30, policy30, night, taken, now, MADRID)
    assert local(slots, MADRID) == ["01:00", "03:30", "04:00", "04:30"]


def test_fall_back_in_madrid_keeps_both_two_oclocks() -> None:
    """2027-10-31: 03:00 CEST goes back to 02:00 CET; the night has one hour more."""
    now = datetime(2027, 10, 20, 12, tzinfo=MADRID)
    policy = BookingPolicy(slot_step_minutes=60)
    slots = free_slots(date(2027, 10, 31), 60, policy, ((time(1), time(4)),), [], now, MADRID)
    assert local(slots, MADRID) == ["01:00", "02:00", "02:00", "03:00"]
    assert len(set(slots)) == 4
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(slots))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        free_slots(MONDAY, 30, POLICY, DAY, [], datetime(2030, 1, 6, 12), BA)


# -- nearest_free --------------------------------------------------------------------------


class Calendar:
    """Opening hours and busy ranges for nearest_free, recording the busy queries."""

    def __init__(self, ranges: Sequence[BusyRange], closed: Sequence[date] = ()) -> None:
        self.ranges = list(ranges)
        self.closed = set(closed)
        self.queries: list[tuple[datetime, datetime]] = []

    def hours(self, day: date) -> OpeningIntervals:
        return () if day in self.closed or day.weekday() == 6 else DAY

    def busy_between(self, start: datetime, end: datetime) -> list[BusyRange]:
        self.queries.append((start, end))
        return [r for r in self.ranges if r.start < end and start < r.blocked_end(POLICY)]


def test_nearest_free_picks_the_closest_on_the_same_day() -> None:
    calendar = Calendar([busy(MONDAY, "14:00", "16:00")])
    options = nearest_free(
        at(MONDAY, "15:00"), 30, POLICY, calendar.hours, calendar.busy_between, NOW, BA
    )
    # Closest: 16:00 (60 min away), 16:15 (75), then 13:30 (90, 13:45 would overlap 14:00).
    assert local(options) == ["13:30", "16:00", "16:15"]
    assert all(o.date() == MONDAY for o in options)
    assert len(calendar.queries) == 1


def test_nearest_free_ties_prefer_the_earlier_slot() -> None:
    calendar = Calendar([busy(MONDAY, "10:00", "11:00")])
    wanted = at(MONDAY, "10:15")  # 09:30 (ends 10:00) and 11:00 are both 45 minutes away
    options = nearest_free(
        wanted, 30, POLICY, calendar.hours, calendar.busy_between, NOW, BA, limit=2
    )
    assert local(options) == ["09:30", "11:00"]
    one = nearest_free(wanted, 30, POLICY, calendar.hours, calendar.busy_between, NOW, BA, limit=1)
    assert local(one) == ["09:30"]


def test_nearest_free_moves_to_nearest_days_near_the_same_time() -> None:
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    calendar = Calendar(
        [
            busy(MONDAY, "09:00", "18:30"),  # only 18:30 is left on Monday
            busy(tuesday, "09:00", "19:00"),  # Tuesday is full
        ]
    )
    options = nearest_free(
        at(MONDAY, "11:00"), 30, POLICY, calendar.hours, calendar.busy_between, NOW, BA
    )
    thursday = MONDAY + timedelta(days=3)
    assert [o.astimezone(BA).date() for o in options] == [MONDAY, wednesday, thursday]
    # Same day first, then one slot per nearest day, each the nearest to 11:00.
    assert local(options) == ["18:30", "11:00", "11:00"]


def test_nearest_free_skips_closed_days_and_stops_at_max_days_ahead() -> None:
    policy = BookingPolicy(max_days_ahead=3)  # up to Wednesday 2030-01-09 from Sunday
    tuesday = MONDAY + timedelta(days=1)
    calendar = Calendar(
        [busy(MONDAY, "09:00", "19:00"), busy(MONDAY + timedelta(days=2), "09:00", "18:30")],
        closed=[tuesday],
    )
    options = nearest_free(
        at(MONDAY, "12:00"), 30, policy, calendar.hours, calendar.busy_between, NOW, BA
    )
    assert [f"{o.astimezone(BA):%d %H:%M}" for o in options] == ["09 18:30"]
    queried_days = {s.astimezone(BA).date() for s, _ in calendar.queries}
    assert queried_days == {MONDAY, MONDAY + timedelta(days=2)}  # not the closed Tuesday


def test_nearest_free_from_a_past_day_starts_today() -> None:
    calendar = Calendar([])
    now = datetime.combine(MONDAY, time(9), BA)
    options = nearest_free(
        at(MONDAY - timedelta(days=3), "12:00"),
        30,
        POLICY,
        calendar.hours,
        calendar.busy_between,
        now,
        BA,
    )
    assert local(options) == ["11:45", "12:00", "12:15"]
    assert all(o.astimezone(BA).date() == MONDAY for o in options)


# -- property: free_slots agrees with a brute-force check ------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    bookings=st.lists(
        st.tuples(
            st.integers(0, 40),
            st.integers(1, 12),
            st.one_of(st.none(), st.integers(1, 3)),
        ),
        max_size=8,
    ),
    capacity=st.integers(1, 3),
    buffer=st.sampled_from([0, 5, 15]),
    step=st.sampled_from([5, 15, 20, 30]),
    duration=st.integers(1, 12).map(lambda n: n * 10),
)
def test_free_slots_match_brute_force(
    bookings: list[tuple[int, int, int | None]],
    capacity: int,
    buffer: int,
    step: int,
    duration: int,
) -> None:
    policy = BookingPolicy(
        capacity=capacity, buffer_minutes=buffer, slot_step_minutes=step, min_notice_minutes=0
    )
    opens = at(MONDAY, "09:00")
    ranges = [
        BusyRange(
            opens + timedelta(minutes=15 * s),
            opens + timedelta(minutes=15 * s + 10 * n),
            resource=r,
        )
        for s, n, r in bookings
    ]
    slots = free_slots(MONDAY, duration, policy, DAY, ranges, NOW, BA)
    closes = at(MONDAY, "19:00")
    expected = []
    candidate = opens
    while candidate + timedelta(minutes=duration) <= closes:
        end = candidate + timedelta(minutes=duration + buffer)
        overlapping = [
            r for r in ranges if r.start < end and candidate < r.end + timedelta(minutes=buffer)
        ]
        used = {
            r.resource for r in overlapping if r.resource is not None and r.resource <= capacity
        }
        anonymous = sum(1 for r in overlapping if r.resource is None)
        if len(used) + anonymous < capacity:
            expected.append(candidate)
        candidate += timedelta(minutes=step)
    assert slots == expected
