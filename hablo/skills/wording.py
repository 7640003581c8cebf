"""How skills say days and times (in the tenant's locale when the customer speaks its
language), and why a time cannot be booked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from hablo.domain.booking.policy import BookingPolicy
from hablo.engine.calendar_words import clock_text, day_text, speech_locale, weekday_text
from hablo.plugins import SkillContext


def say_day(ctx: SkillContext, day: date, lang: str) -> str:
    """ "martes 16 de marzo", "Tuesday, March 16" (en-US), "Tuesday 16 March" (en-GB)."""
    return day_text(day, speech_locale(ctx.tenant.locale, lang))


def say_weekday(ctx: SkillContext, weekday: int, lang: str) -> str:
    """ "lunes", "Monday" (0 = Monday)."""
    return weekday_text(weekday, speech_locale(ctx.tenant.locale, lang))


def say_clock(ctx: SkillContext, moment: time, lang: str) -> str:
    """ "17:30", "5:30 PM" (en-US)."""
    return clock_text(moment, speech_locale(ctx.tenant.locale, lang))


def say_span(ctx: SkillContext, span: tuple[int, int], lang: str) -> tuple[str, str]:
    """A part of the day in minutes said as its bounds ("13:00", ""): a bound at the
    day's start or end (0, 24:00) is left unsaid ("desde las 13:00")."""
    start, end = (
        say_clock(ctx, time(m // 60, m % 60), lang) if 0 < m < 24 * 60 else "" for m in span
    )
    return start, end


def say_intervals(
    ctx: SkillContext, day: date, lang: str, weekly: bool = False
) -> list[tuple[str, str]]:
    """Opening intervals as ("09:00", "19:00") pairs ("9:00 AM" in English); `weekly`
    ignores holidays."""
    hours = ctx.weekly_hours(day.weekday()) if weekly else ctx.opening_hours(day)
    return [(say_clock(ctx, a, lang), say_clock(ctx, b, lang)) for a, b in hours]


def say_day_hours(ctx: SkillContext, day: date, lang: str) -> str:
    """ "El sábado 13 de marzo abrimos de 09:00 a 13:00." (or closed, and why)."""
    return ctx.render(
        "hours_day",
        lang,
        day_name=say_day(ctx, day, lang),
        relative=ctx.render("day_relative", lang, days=(day - ctx.now().date()).days) or None,
        intervals=say_intervals(ctx, day, lang),
        holiday=ctx.holiday(day),
    )


def why_not(
    wanted: datetime,
    duration_minutes: int,
    intervals: Sequence[tuple[time, time]],
    now: datetime,
    policy: BookingPolicy,
) -> tuple[str, dict[str, time]]:
    """Why an open day's time cannot be booked: a reason of the "booking_why_not"
    template and the clock times it names."""
    local = wanted.time()
    if wanted < now + timedelta(minutes=policy.min_notice_minutes):
        return ("passed" if wanted <= now else "too_soon"), {}
    opens = min(a for a, _ in intervals)
    closes = max(b for _, b in intervals)
    if local < opens:
        return "before_opening", {"clock": opens}
    ends = (datetime.combine(wanted.date(), local) + timedelta(minutes=duration_minutes)).time()
    if local >= closes:
        return "after_closing", {"clock": closes}
    started_in = next((b for a, b in intervals if a <= local < b), None)
    if started_in is None:  # between two shifts: the break
        back = min((a for a, _ in intervals if a > local), default=closes)
        left = max((b for _, b in intervals if b <= local), default=opens)
        return "break", {"start": left, "end": back}
    if not (ends <= started_in or ends == time(0)):
        return "overruns", {"clock": started_in}
    shift_start = next(a for a, b in intervals if a <= local < b)
    since = (local.hour * 60 + local.minute) - (shift_start.hour * 60 + shift_start.minute)
    if since % policy.slot_step_minutes:  # "quarter past four" where lessons start on the half hour
        return "off_grid", {}
    return "taken", {}


def why_not_text(
    ctx: SkillContext,
    lang: str,
    wanted: datetime,
    duration_minutes: int,
    intervals: Sequence[tuple[time, time]],
    now: datetime,
    policy: BookingPolicy,
) -> str:
    """`why_not` in one short sentence, in the tenant's wording ("Cerramos a las 20:00.")."""
    reason, times = why_not(wanted, duration_minutes, intervals, now, policy)
    said = {name: say_clock(ctx, moment, lang) for name, moment in times.items()}
    return ctx.render("booking_why_not", lang, reason=reason, **said)
