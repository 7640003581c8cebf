"""A part of the day as the business's hours make it (skills/booking/periods.py)."""

from __future__ import annotations

from datetime import date, time

from hablo.skills.booking.periods import afternoon_start, closed_in, fitted_period, usual_period
from hablo.skills.booking.skill import BookingSkill
from hablo.testing.context import skill_context

# A practice open 9-14 and 16-19 from Monday to Thursday, 9-14 on Friday, 9-12 on Saturday.
SPLIT = [(time(9), time(14)), (time(16), time(19))]
PRACTICE = {**{d: SPLIT for d in range(4)}, 4: [(time(9), time(14))], 5: [(time(9), time(12))]}
THURSDAY, FRIDAY = date(2027, 3, 11), date(2027, 3, 12)


def test_the_afternoon_of_a_business_split_at_lunch_is_its_second_shift() -> None:
    ctx = skill_context(BookingSkill, weekly_hours=PRACTICE)
    assert afternoon_start(ctx) == 16 * 60
    assert fitted_period(ctx, "el jueves en la tarde", THURSDAY) == (16 * 60, 24 * 60)


def test_a_morning_only_day_has_no_afternoon() -> None:
    ctx = skill_context(BookingSkill, weekly_hours=PRACTICE)
    afternoon = fitted_period(ctx, "el viernes en la tarde", FRIDAY)
    assert afternoon is not None and closed_in(ctx, FRIDAY, afternoon)
    morning = fitted_period(ctx, "el viernes en la mañana", FRIDAY)
    assert morning is not None and not closed_in(ctx, FRIDAY, morning)


def test_a_business_open_all_day_keeps_the_afternoon_from_one() -> None:
    ctx = skill_context(BookingSkill, weekly_hours={d: [(time(9), time(19))] for d in range(6)})
    assert afternoon_start(ctx) is None
    assert fitted_period(ctx, "el viernes a la tarde", FRIDAY) == (13 * 60, 24 * 60)


def test_the_afternoon_said_before_any_day_is_the_usual_second_shift() -> None:
    split = skill_context(BookingSkill, weekly_hours=PRACTICE)
    assert usual_period(split, "tiene que ser por la tarde") == (16 * 60, 24 * 60)
    assert usual_period(split, "it has to be in the morning") == (0, 12 * 60)
    assert usual_period(split, "el que tengas") is None
    whole = skill_context(BookingSkill, weekly_hours={d: [(time(9), time(19))] for d in range(6)})
    assert usual_period(whole, "pero a la tarde") == (13 * 60, 24 * 60)
