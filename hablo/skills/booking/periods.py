"""A part of the day a customer names ("por la tarde", "after 5"), as this business's
hours make it: where it splits its day at lunch, "la tarde" is its afternoon shift."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any

from hablo.plugins import SkillContext
from hablo.skills.booking import reading

_NOON = 12 * 60


def window_of(state: Mapping[str, Any]) -> tuple[int, int] | None:
    """The part of the day the customer accepts, kept in the booking state (minutes of
    the day): every time offered, and asked again after an interruption, falls in it."""
    found = state.get("window")
    return (int(found[0]), int(found[1])) if found else None


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def afternoon_start(ctx: SkillContext) -> int | None:
    """When the business's afternoon begins: its second shift on the days it splits at
    midday (16:00 for a practice open 9-14 and 16-19); None if it never does."""
    starts = [
        _minutes(start)
        for weekday in range(7)
        for start, _ in list(ctx.weekly_hours(weekday))[1:]
        if _minutes(start) >= _NOON
    ]
    return min(starts, default=None)


def fitted_period(ctx: SkillContext, text: str, day: date) -> tuple[int, int] | None:
    """The minutes of `day` the part of the day said in `text` covers. Where the day
    closes at midday ("de 10 a 14 y de 16:30 a 20:30"), "por la tarde" is the second
    shift, not 13:00; on a day open only in the morning of a business that opens again
    in the afternoon on others (Friday 9-14, other days also 16-19) it is that later
    afternoon, which this day does not have."""
    period = reading.window(text, None)
    if period is None or period[0] < _NOON:
        return period
    shifts = ctx.opening_hours(day)
    later = [_minutes(a) for a, _ in shifts if a.hour >= 12]
    if len(shifts) > 1 and later:
        return (max(period[0], later[0]), period[1])
    usual = afternoon_start(ctx)
    if len(shifts) == 1 and usual is not None and _closes(shifts) <= usual:
        return (max(period[0], usual), period[1])
    return period


def usual_period(ctx: SkillContext, text: str) -> tuple[int, int] | None:
    """The part of the day said, before any day is: "por la tarde" at a practice that
    splits its days at lunch (9-14, 16-20) is its afternoon shift, from 16:00."""
    period = reading.window(text, None)
    usual = afternoon_start(ctx)
    if period is None or period[0] < _NOON or usual is None:
        return period
    return (max(period[0], usual), period[1])


def closed_in(ctx: SkillContext, day: date, period: tuple[int, int]) -> bool:
    """Is the business closed all through that part of an open day?"""
    shifts = ctx.opening_hours(day)
    return bool(shifts) and not any(
        _minutes(a) < period[1] and (_minutes(b) or 24 * 60) > period[0] for a, b in shifts
    )


def _closes(shifts: Sequence[tuple[time, time]]) -> int:
    return max(_minutes(b) or 24 * 60 for _, b in shifts)
