"""Days and times are said the way the tenant's locale says them: en-US month first and
12-hour, en-GB day first and 24-hour, Spanish "martes 16 de marzo" and 24-hour; a customer
who speaks another language than the business gets that language's plain form."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from hablo.engine.calendar_words import clock_text, day_text, speech_locale, weekday_text
from hablo.skills.booking.skill import BookingSkill
from hablo.skills.info import InfoSkill
from hablo.testing.context import DEMO_NOW, DEMO_TENANT, make_turn, skill_context

TUESDAY = date(2027, 3, 16)


@pytest.mark.parametrize(
    ("locale", "day", "clock", "morning"),
    [
        ("en-US", "Tuesday, March 16", "5:30 PM", "9:05 AM"),
        ("en", "Tuesday, March 16", "5:30 PM", "9:05 AM"),
        ("en-GB", "Tuesday 16 March", "17:30", "09:05"),
        ("es-AR", "martes 16 de marzo", "17:30", "09:05"),
        ("es-MX", "martes 16 de marzo", "17:30", "09:05"),
        ("es-ES", "martes 16 de marzo", "17:30", "09:05"),
        ("fr-FR", "mardi 16 mars", "17:30", "09:05"),  # CLDR's own, no code for it
        ("xx-YY", "Tuesday, March 16", "5:30 PM", "9:05 AM"),  # unknown: English
    ],
)
def test_days_and_clock_times_per_locale(locale: str, day: str, clock: str, morning: str) -> None:
    assert day_text(TUESDAY, locale) == day
    assert clock_text(time(17, 30), locale) == clock
    assert clock_text(time(9, 5), locale) == morning


def test_weekdays_are_capitalised_in_english_only() -> None:
    assert weekday_text(0, "en-US") == "Monday"
    assert weekday_text(6, "es-AR") == "domingo"


def test_the_tenant_locale_applies_when_the_customer_speaks_its_language() -> None:
    assert speech_locale("en-GB", "en") == "en-GB"
    assert speech_locale("es-MX", "en") == "en"
    assert speech_locale("en-US", "es") == "es"


@pytest.mark.parametrize(
    ("locale", "language", "said"),
    [
        ("en-US", "en", "Tuesday, March 16 at 5:30 PM"),
        ("en-GB", "en", "Tuesday 16 March at 17:30"),
        ("es-AR", "es", "martes 16 de marzo a las 17:30"),
        ("es-MX", "es", "martes 16 de marzo a las 17:30"),
        ("es-AR", "en", "Tuesday, March 16 at 5:30 PM"),
    ],
)
def test_a_booking_time_is_said_in_the_tenant_locale(locale: str, language: str, said: str) -> None:
    zone = ZoneInfo(DEMO_TENANT.timezone)
    ctx = skill_context(BookingSkill, tenant=replace(DEMO_TENANT, locale=locale))
    assert ctx.format_datetime(datetime(2027, 3, 16, 17, 30, tzinfo=zone), language) == said


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", "Tomorrow (Thursday, March 11) we're open from 9:00 AM to 5:30 PM."),
        ("en-GB", "Tomorrow (Thursday 11 March) we're open from 09:00 to 17:30."),
    ],
)
def test_english_opening_hours_follow_the_locale(locale: str, expected: str) -> None:
    ctx = skill_context(
        InfoSkill,
        now=DEMO_NOW,
        tenant=replace(DEMO_TENANT, locale=locale),
        weekly_hours={3: [(time(9), time(17, 30))]},
    )
    turn = make_turn("are you open tomorrow?", "en", intent="hours", entities={"weekday": 3})
    assert InfoSkill().handle(turn, ctx).replies[0].text == expected


def test_a_mexican_holiday_is_a_dia_festivo_and_an_argentine_one_a_feriado() -> None:
    holidays = {date(2027, 3, 11): "Día X"}
    turn = make_turn("¿abren mañana?", intent="hours", entities={"weekday": 3})
    mexico = skill_context(
        InfoSkill, tenant=replace(DEMO_TENANT, locale="es-MX"), holidays=holidays
    )
    argentina = skill_context(InfoSkill, holidays=holidays)
    spain = skill_context(InfoSkill, tenant=replace(DEMO_TENANT, locale="es-ES"), holidays=holidays)
    assert "por día festivo (Día X)" in InfoSkill().handle(turn, mexico).replies[0].text
    assert "por feriado (Día X)" in InfoSkill().handle(turn, argentina).replies[0].text
    assert "por festivo (Día X)" in InfoSkill().handle(turn, spain).replies[0].text
