"""How skills say days and times in each language, and why a time cannot be booked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from babel.dates import format_date

from hablo.domain.booking.policy import BookingPolicy

_DAY_PATTERNS = {"es": "EEEE d 'de' MMMM", "en": "EEEE, MMMM d"}


def day_text(day: date, lang: str) -> str:
    """ "martes 16 de marzo", "Tuesday, March 16"."""
    return format_date(day, _DAY_PATTERNS.get(lang, _DAY_PATTERNS["es"]), locale=lang)


def clock_text(moment: time, lang: str) -> str:
    if lang == "en":
        return f"{moment:%I:%M %p}".lstrip("0")
    return f"{moment:%H:%M}"


def why_not(
    wanted: datetime,
    duration_minutes: int,
    intervals: Sequence[tuple[time, time]],
    now: datetime,
    policy: BookingPolicy,
    lang: str,
) -> str:
    """The reason an open day's time cannot be booked, in one short sentence."""
    en = lang == "en"
    local = wanted.time()
    if wanted < now + timedelta(minutes=policy.min_notice_minutes):
        if wanted <= now:
            return "That time has already passed." if en else "Ese horario ya pasó."
        return (
            "That's too soon for me to book."
            if en
            else "Ese horario está demasiado cerca para reservarlo."
        )
    opens = min(a for a, _ in intervals)
    closes = max(b for _, b in intervals)
    if local < opens:
        return (
            f"We open at {clock_text(opens, lang)}."
            if en
            else f"Abrimos a las {clock_text(opens, lang)}."
        )
    ends = (datetime.combine(wanted.date(), local) + timedelta(minutes=duration_minutes)).time()
    if local >= closes:
        return (
            f"We close at {clock_text(closes, lang)}."
            if en
            else f"Cerramos a las {clock_text(closes, lang)}."
        )
    started_in = next((b for a, b in intervals if a <= local < b), None)
    if started_in is None:  # between two shifts: the break
        back = min((a for a, _ in intervals if a > local), default=closes)
        left = max((b for _, b in intervals if b <= local), default=opens)
        return (
            f"We're closed from {clock_text(left, lang)} to {clock_text(back, lang)}."
            if en
            else f"De {clock_text(left, lang)} a {clock_text(back, lang)} estamos cerrados."
        )
    if not (ends <= started_in or ends == time(0)):
        return (
            f"It wouldn't be finished before we close ({clock_text(started_in, lang)})."
            if en
            else f"No llegamos a terminarlo antes del cierre ({clock_text(started_in, lang)})."
        )
    return "That time is already taken." if en else "Ese horario ya está ocupado."
