"""How skills say days and times in each language, and why a time cannot be booked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from babel.dates import format_date

from hablo.skills.booking.policy import BookingPolicy

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
            else "Es muy sobre la hora para reservarlo."
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
    inside = any(a <= local and (ends <= b or ends == time(0)) for a, b in intervals)
    if not inside:
        return (
            f"It wouldn't be finished before we close ({clock_text(closes, lang)})."
            if en
            else f"No llegamos a terminarlo antes del cierre ({clock_text(closes, lang)})."
        )
    return "That time is already taken." if en else "Ese horario ya está ocupado."
