"""Free times and how they are shown: the booking flow's small helpers."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from hablo.domain.booking.repository import BookingRepository
from hablo.engine.nlu.genders import of_gender
from hablo.engine.nlu.services import named_among
from hablo.plugins import SkillContext
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.wording import say_clock, say_day

MAX_TIMES_SHOWN = 6


def ask_time_text(
    ctx: SkillContext,
    service: ServiceInfo,
    day: date,
    lang: str,
    period: tuple[int, int] | None = None,  # minutes of the day
) -> str | None:
    """ "¿A qué hora? …" with the free times of the day (of its afternoon, if asked)."""
    slots = shown_times(ctx, service, day, period)
    if not slots:
        return None
    shown = [clock(ctx, s, lang) for s in slots]
    return ctx.render("booking_ask_time", lang, day=say_day(ctx, day, lang), slots=shown)


def spread(ctx: SkillContext, slots: list[datetime], lang: str) -> list[str]:
    return [clock(ctx, s, lang) for s in spread_slots(slots)]


def spread_slots(slots: list[datetime]) -> list[datetime]:
    """Up to MAX_TIMES_SHOWN times spread over the day, not just the first ones."""
    if len(slots) > MAX_TIMES_SHOWN:
        step = (len(slots) - 1) / (MAX_TIMES_SHOWN - 1)
        slots = [slots[round(i * step)] for i in range(MAX_TIMES_SHOWN)]
    return slots


def shown_times(
    ctx: SkillContext, service: ServiceInfo, day: date, period: tuple[int, int] | None
) -> list[datetime]:
    """The times "¿a qué hora?" lists, so "la tercera" can pick one."""
    slots = repo_of(ctx).free_slots(day, service, ctx.opening_hours(day), ctx.now())
    if period is not None:
        zone = zone_of(ctx)
        slots = [s for s in slots if period[0] <= minute_of_day(s, zone) < period[1]]
    return spread_slots(slots)


def clock(ctx: SkillContext, moment: datetime, lang: str) -> str:
    return say_clock(ctx, moment.astimezone(zone_of(ctx)).time(), lang)


def minute_of_day(moment: datetime, zone: ZoneInfo) -> int:
    local = moment.astimezone(zone)
    return local.hour * 60 + local.minute


def zone_of(ctx: SkillContext) -> ZoneInfo:
    return ZoneInfo(ctx.tenant.timezone)


def repo_of(ctx: SkillContext) -> BookingRepository:
    return ctx.bookings()


def service_by_id(ctx: SkillContext, service_id: str | None) -> ServiceInfo | None:
    if not service_id:
        return None
    return next((s for s in ctx.services() if str(s.id) == service_id), None)


def month_day(today: date, day: int) -> date | None:
    """A bare day of the month: this month's if not past, else next month's."""
    for offset in (0, 1, 2):
        month = (today.month - 1 + offset) % 12 + 1
        year = today.year + (today.month - 1 + offset) // 12
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found >= today:
            return found
    return None


def option_for_whom(ctx: SkillContext, option_ids: list[str], text: str) -> ServiceInfo | None:
    """Of the services the bot asked between, the one `text` says who it is for ("for
    men" to "Men's haircut, Women's haircut"); None when it fits none or several."""
    kept = [s for s in (service_by_id(ctx, i) for i in option_ids) if s is not None]
    fitting = of_gender(kept, text)
    return fitting[0] if len(kept) > 1 and len(fitting) == 1 else None


def option_named(ctx: SkillContext, option_ids: list[str], text: str) -> ServiceInfo | None:
    """Of the services the bot listed, the one a word of the answer names alone ("the
    pads" to "Brake pad replacement, Brake inspection")."""
    kept = [s for s in (service_by_id(ctx, i) for i in option_ids) if s is not None]
    return named_among(kept, text) if len(kept) > 1 else None
