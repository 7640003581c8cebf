"""Table-driven tests for hablo.engine.nlu.datetimes (date/time mentions in chat messages)."""

from __future__ import annotations

import time as clock
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hablo.engine.nlu.datetimes import OpeningHours, extract_weekday, extract_when

BA = ZoneInfo("America/Argentina/Buenos_Aires")  # UTC-3 all year
MADRID = ZoneInfo("Europe/Madrid")  # CET -> CEST on 2027-03-28 at 02:00
NOW = datetime(2027, 3, 10, 12, 0, tzinfo=BA)  # a Wednesday, noon
NEW_YEAR = datetime(2027, 12, 30, 12, 0, tzinfo=BA)  # a Thursday


def _local(stamp: str, tz: ZoneInfo = BA) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M").replace(tzinfo=tz)


def _hours(open_: int, close: int, closed: Sequence[int] = ()) -> OpeningHours:
    """Opening hours open_..close every day except the `closed` weekdays (close < open wraps)."""

    def for_day(d: date) -> list[tuple[time, time]]:
        return [] if d.weekday() in closed else [(time(open_), time(close % 24))]

    return for_day


# (text, expected local start, has_date, has_time) with now = Wed 2027-03-10 12:00 Buenos Aires.
WHEN_CASES: list[tuple[str, str, bool, bool]] = [
    # tomorrow + a time, every way people write it
    ("mañana a las 5 de la tarde", "2027-03-11 17:00", True, True),
    ("mañana a las 17", "2027-03-11 17:00", True, True),
    ("mañana a las 17:00", "2027-03-11 17:00", True, True),
    ("mañana 17hs", "2027-03-11 17:00", True, True),
    ("manana a las 5pm", "2027-03-11 17:00", True, True),
    ("Mañana 5hs", "2027-03-11 17:00", True, True),
    ("MAÑANA A LAS 5", "2027-03-11 17:00", True, True),
    ("mñn a las 10", "2027-03-11 10:00", True, True),
    ("Hola! Quería turno para mañana a las 5 de la tarde, gracias", "2027-03-11 17:00", True, True),
    ("mañana a las 5 gracias", "2027-03-11 17:00", True, True),
    # weekdays
    ("el viernes a las 10", "2027-03-12 10:00", True, True),
    ("el viernes a las 10:00", "2027-03-12 10:00", True, True),
    ("viernes 10hs", "2027-03-12 10:00", True, True),
    ("el biernes a las 10", "2027-03-12 10:00", True, True),
    ("el sab a las 10", "2027-03-13 10:00", True, True),
    ("el sábado a las 11 y media", "2027-03-13 11:30", True, True),
    ("el próximo martes a las 4", "2027-03-16 16:00", True, True),
    ("el lunes", "2027-03-15 00:00", True, False),
    ("este jueves", "2027-03-11 00:00", True, False),
    ("el jueves que viene", "2027-03-11 00:00", True, False),
    ("la semana que viene", "2027-03-15 00:00", True, False),
    ("el jueves de la semana que viene", "2027-03-18 00:00", True, False),
    ("el martes de la semana que viene a las 10", "2027-03-16 10:00", True, True),
    ("el finde", "2027-03-13 00:00", True, False),
    ("el viernes 19", "2027-03-19 00:00", True, False),
    ("sabado 13 a las 11", "2027-03-13 11:00", True, True),
    # today's weekday: today only when a time is given and still ahead
    ("el miércoles", "2027-03-17 00:00", True, False),
    ("el miércoles a las 15", "2027-03-10 15:00", True, True),
    ("el miércoles a las 10", "2027-03-17 10:00", True, True),
    ("el próximo miércoles a las 15", "2027-03-17 15:00", True, True),
    # relative days
    ("hoy", "2027-03-10 00:00", True, False),
    ("mañana", "2027-03-11 00:00", True, False),
    ("pasado mañana", "2027-03-12 00:00", True, False),
    ("pasado mañana 15:30", "2027-03-12 15:30", True, True),
    ("hoy a la tarde a las 6", "2027-03-10 18:00", True, True),
    ("hoy a la noche a las 9", "2027-03-10 21:00", True, True),
    ("mañana por la mañana a las 7", "2027-03-11 07:00", True, True),
    ("hoy no puedo, el viernes a las 10", "2027-03-12 10:00", True, True),
    # calendar dates (D/M; recent past dates stay past; today stays today)
    ("el 18/3 a las 14", "2027-03-18 14:00", True, True),
    ("18/03", "2027-03-18 00:00", True, False),
    ("el 18 de marzo a las 2 de la tarde", "2027-03-18 14:00", True, True),
    ("el 5 de abril", "2027-04-05 00:00", True, False),
    ("el 1ro de mayo", "2027-05-01 00:00", True, False),
    ("el 2/3", "2027-03-02 00:00", True, False),
    ("el 1 de marzo a las 11", "2027-03-01 11:00", True, True),
    ("el 5 de agosto", "2027-08-05 00:00", True, False),
    ("ayer a las 10", "2027-03-09 10:00", True, True),
    ("anteayer", "2027-03-08 00:00", True, False),
    ("el viernes pasado", "2027-03-05 00:00", True, False),
    ("last friday", "2027-03-05 00:00", True, False),
    ("yesterday", "2027-03-09 00:00", True, False),
    # a past day beside one to come is the story, not the wish
    ("my cat is sick since yesterday, can you see her today?", "2027-03-10 00:00", True, False),
    ("desde ayer me duele la muela, ¿me atienden mañana?", "2027-03-11 00:00", True, False),
    ("el 10/3", "2027-03-10 00:00", True, False),
    ("3/18", "2027-03-18 00:00", True, False),
    ("18/3/2028", "2028-03-18 00:00", True, False),
    ("el día 20", "2027-03-20 00:00", True, False),
    ("el 18 a las 3", "2027-03-18 15:00", True, True),
    ("el dia 2 somos 3 personas", "2027-04-02 00:00", True, False),  # the 2nd already passed
    # time only: today if still ahead, else tomorrow
    ("a las 5", "2027-03-10 17:00", False, True),
    ("a las 11", "2027-03-11 11:00", False, True),
    ("a las 12", "2027-03-11 12:00", False, True),  # now is 12:00 exactly: not ahead
    ("a las 12:30", "2027-03-10 12:30", False, True),
    ("a las 08:00", "2027-03-11 08:00", False, True),
    ("a las 20.30", "2027-03-10 20:30", False, True),
    ("al mediodía", "2027-03-11 12:00", False, True),
    ("a las 10 de la mañana", "2027-03-11 10:00", False, True),
    ("a las 9 de la noche", "2027-03-10 21:00", False, True),
    ("10 y media", "2027-03-11 10:30", False, True),
    ("10 y cuarto", "2027-03-11 10:15", False, True),
    ("4 menos cuarto", "2027-03-10 15:45", False, True),
    ("a las cinco", "2027-03-10 17:00", False, True),
    ("a la una", "2027-03-10 13:00", False, True),
    ("a la 1 del mediodía", "2027-03-10 13:00", False, True),
    ("a las ocho y media", "2027-03-11 08:30", False, True),
    ("a las 3 en punto", "2027-03-10 15:00", False, True),
    ("para las 4?", "2027-03-10 16:00", False, True),
    ("a eso de las 7", "2027-03-10 19:00", False, True),
    ("tipo 6", "2027-03-10 18:00", False, True),
    ("a medianoche", "2027-03-11 00:00", False, True),
    ("hoy a las 12 de la noche", "2027-03-11 00:00", True, True),
    ("esta noche a las 12", "2027-03-11 00:00", True, True),
    # English
    ("tomorrow at 3pm", "2027-03-11 15:00", True, True),
    ("next monday at 2:30 pm", "2027-03-15 14:30", True, True),
    ("on friday at 10", "2027-03-12 10:00", True, True),
    ("today at 5", "2027-03-10 17:00", True, True),
    ("at noon", "2027-03-11 12:00", False, True),
    ("march 18 at 2pm", "2027-03-18 14:00", True, True),
    ("18/3 at 14:00", "2027-03-18 14:00", True, True),
    ("this friday", "2027-03-12 00:00", True, False),
    ("at 3pm", "2027-03-10 15:00", False, True),
    ("tonight at 8", "2027-03-10 20:00", True, True),
    ("tomorrow morning at 8", "2027-03-11 08:00", True, True),
    ("the 18th at 9am", "2027-03-18 09:00", True, True),
    ("half past 3", "2027-03-10 15:30", False, True),
    ("say half 4?", "2027-03-10 16:30", False, True),  # British: half past four
    ("quarter to 4", "2027-03-10 15:45", False, True),
    ("quarter of 5", "2027-03-10 16:45", False, True),  # US
    ("quarter after 4", "2027-03-10 16:15", False, True),
    ("quarter to 9 pm", "2027-03-10 20:45", False, True),
    ("a un cuarto para las 5", "2027-03-10 16:45", False, True),  # Mexico
    ("diez para las 12", "2027-03-11 11:50", False, True),
    ("veinte para las 7 de la noche", "2027-03-10 18:40", False, True),
    ("cuarto para la una", "2027-03-10 12:45", False, True),
    # offsets from now
    ("in 2 hours", "2027-03-10 14:00", False, True),
    ("en 2 horas", "2027-03-10 14:00", False, True),
    ("en media hora", "2027-03-10 12:30", False, True),
    ("en una hora y media", "2027-03-10 13:30", False, True),
    ("en 3 días", "2027-03-13 00:00", True, False),
]


@pytest.mark.parametrize(("text", "expected", "has_date", "has_time"), WHEN_CASES)
def test_extract_when(text: str, expected: str, has_date: bool, has_time: bool) -> None:
    got = extract_when(text, NOW)
    assert got is not None
    assert got.start.strftime("%Y-%m-%d %H:%M") == expected
    assert (got.has_date, got.has_time) == (has_date, has_time)
    assert got.start.tzinfo is BA
    assert got.start.utcoffset() == timedelta(hours=-3)
    assert got.text and got.text in text
    if not got.has_time:
        assert got.start.time() == time(0, 0)


# Opening hours settle am/pm only for bare hours, and only when exactly one reading fits.
OPENING_CASES: list[tuple[str, OpeningHours, str]] = [
    ("el próximo martes a las 4", _hours(9, 19), "2027-03-16 16:00"),
    ("mañana a las 7", _hours(6, 14), "2027-03-11 07:00"),  # a bakery: 7 am, not 19
    ("mañana a las 9", _hours(18, 26), "2027-03-11 21:00"),  # a bar open 18-02
    ("a las 8", _hours(9, 21), "2027-03-10 20:00"),  # 8 am would be closed
    ("mañana a las 10", _hours(9, 23), "2027-03-11 10:00"),  # both fit: as written
    ("el domingo a las 4", _hours(9, 19, closed=[6]), "2027-03-14 16:00"),  # none fit
    ("mañana a las 5 de la mañana", _hours(9, 19), "2027-03-11 05:00"),  # explicit wins
    ("mañana a las 15", _hours(6, 14), "2027-03-11 15:00"),  # 24h clock is never flipped
]


@pytest.mark.parametrize(("text", "hours", "expected"), OPENING_CASES)
def test_opening_hours_disambiguate(text: str, hours: OpeningHours, expected: str) -> None:
    got = extract_when(text, NOW, opening_hours=hours)
    assert got is not None
    assert got.start.strftime("%Y-%m-%d %H:%M") == expected


def test_without_opening_hours_small_hours_are_afternoon() -> None:
    got = extract_when("el próximo martes a las 4", NOW)
    assert got is not None and got.start == _local("2027-03-16 16:00")


# now = Thu 2027-12-30 12:00: month and year rollover.
ROLLOVER_CASES: list[tuple[str, str]] = [
    ("el 2/1", "2028-01-02 00:00"),
    ("el 30/12", "2027-12-30 00:00"),
    ("el 29/12", "2027-12-29 00:00"),  # yesterday: past, not next year
    ("el 5/6", "2028-06-05 00:00"),  # this year's is more than six months ago
    ("mañana", "2027-12-31 00:00"),
    ("pasado mañana", "2028-01-01 00:00"),
    ("el lunes", "2028-01-03 00:00"),
    ("la semana que viene", "2028-01-03 00:00"),
    ("el 5 de enero a las 10", "2028-01-05 10:00"),
    ("el día 2", "2028-01-02 00:00"),
    ("en 3 días", "2028-01-02 00:00"),
    ("el 29/2", "2028-02-29 00:00"),
    ("a las 10", "2027-12-31 10:00"),
]


@pytest.mark.parametrize(("text", "expected"), ROLLOVER_CASES)
def test_rollover(text: str, expected: str) -> None:
    got = extract_when(text, NEW_YEAR)
    assert got is not None
    assert got.start.strftime("%Y-%m-%d %H:%M") == expected


def test_time_only_crosses_new_year() -> None:
    got = extract_when("a las 00:30", datetime(2027, 12, 31, 23, 30, tzinfo=BA))
    assert got is not None and got.start == datetime(2028, 1, 1, 0, 30, tzinfo=BA)


# Madrid moves to summer time on Sun 2027-03-28 at 02:00 (+01:00 -> +02:00).
DST_CASES: list[tuple[str, datetime, str, int]] = [
    ("mañana a las 10", datetime(2027, 3, 27, 12, tzinfo=MADRID), "2027-03-28 10:00", 2),
    ("el domingo a las 18", datetime(2027, 3, 27, 12, tzinfo=MADRID), "2027-03-28 18:00", 2),
    ("hoy a las 20", datetime(2027, 3, 27, 12, tzinfo=MADRID), "2027-03-27 20:00", 1),
    ("el 28/3", datetime(2027, 3, 27, 12, tzinfo=MADRID), "2027-03-28 00:00", 1),
    # 02:30 does not exist that night: moved forward to the same instant, 03:30 CEST.
    ("mañana a las 02:30", datetime(2027, 3, 27, 12, tzinfo=MADRID), "2027-03-28 03:30", 2),
    # "in 2 hours" is elapsed time: 01:30 CET + 2h = 04:30 CEST.
    ("en 2 horas", datetime(2027, 3, 28, 1, 30, tzinfo=MADRID), "2027-03-28 04:30", 2),
]


@pytest.mark.parametrize(("text", "now", "expected", "offset_hours"), DST_CASES)
def test_dst_zone(text: str, now: datetime, expected: str, offset_hours: int) -> None:
    got = extract_when(text, now)
    assert got is not None
    assert got.start.strftime("%Y-%m-%d %H:%M") == expected
    assert got.start.utcoffset() == timedelta(hours=offset_hours)
    assert got.start.tzinfo is MADRID


def test_elapsed_offset_is_real_time_across_dst() -> None:
    now = datetime(2027, 3, 28, 1, 30, tzinfo=MADRID)
    got = extract_when("in 2 hours", now)
    # Same-tzinfo subtraction is wall-clock in Python, so compare in UTC.
    assert got is not None
    assert got.start.astimezone(UTC) - now.astimezone(UTC) == timedelta(hours=2)


NEGATIVE_CASES = [
    "cuánto cuesta el corte?",
    "tengo 2 hijos",
    "+54 9 11 5555 0000",
    "quiero 3 turnos",
    "somos 3 personas",
    "el corte sale $8.000",
    "cuesta 15.30",
    "tarda 2hs?",
    "dura 2 horas",
    "dame 1/2 kilo",
    "mi número es 11-5555-0000",
    "dni 30.123.456",
    "quiero las 2",
    "quiero el 2",
    "a las 3 chicas les corto",
    "at 2 people",
    "tengo 30 años",
    "hola, buenas tardes",
    "good morning!",
    "a la tarde",
    "el mar está lindo",
    "el 31/4",
    "a las 25",
    "",
    "gracias!!",
]


@pytest.mark.parametrize("text", NEGATIVE_CASES)
def test_no_mention(text: str) -> None:
    assert extract_when(text, NOW) is None


SPAN_CASES = [
    ("hola, mañana a las 5 de la tarde gracias", "mañana a las 5 de la tarde"),
    ("¿podés el próximo martes a las 4?", "el próximo martes a las 4"),
    ("nos vemos el 18 de marzo", "el 18 de marzo"),
    ("tipo 6 estaría bien", "tipo 6"),
    ("el viernes 3 turnos", "el viernes"),  # the count is not part of the date
]


@pytest.mark.parametrize(("text", "span"), SPAN_CASES)
def test_matched_span(text: str, span: str) -> None:
    got = extract_when(text, NOW)
    assert got is not None and got.text == span


def test_noon_before_noon_is_today() -> None:
    got = extract_when("al mediodía", NOW.replace(hour=9))
    assert got is not None and got.start == _local("2027-03-10 12:00")


WEEKDAY_CASES: list[tuple[str, int | None]] = [
    ("¿abren el sábado?", 5),
    ("abren los domingos?", 6),
    ("el lunes", 0),
    ("Miércoles", 2),
    ("miercoles a la tarde", 2),
    ("el jue", 3),
    ("vie 10hs", 4),
    ("el martes que viene", 1),
    ("friday", 4),
    ("on sat", 5),
    ("next sun", 6),
    ("I sat down", None),
    ("¿abren mañana?", None),
    ("hola", None),
]


@pytest.mark.parametrize(("text", "expected"), WEEKDAY_CASES)
def test_extract_weekday(text: str, expected: int | None) -> None:
    assert extract_weekday(text) == expected


@pytest.mark.parametrize("text", ["   ", "a las", "::", "99/99", "0/0", "31/02", "🙂 a las 5 🙂"])
def test_odd_input_does_not_raise(text: str) -> None:
    extract_when(text, NOW, opening_hours=_hours(9, 19))


_TOKENS = [
    "a", "las", "la", "el", "de", "y", "menos", "cuarto", "media", "0", "1", "5", "12", "13",
    "24", "25", "31", "08", ":30", ".30", "/", "-", "hs", "pm", "am", "mañana", "hoy", "pasado",
    "viernes", "sat", "on", "next", "próximo", "que", "viene", "semana", "tarde", "noche",
    "mediodía", "en", "in", "2", "horas", "días", "the", "18th", "marzo", "may", "primero", "at",
    "half", "past", "quarter", "to", "tonight", "esta", "finde", "$", "+", "29/2", "cinco",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=8).map(" ".join))
def test_token_soup_never_raises(text: str) -> None:
    got = extract_when(text, NOW, opening_hours=_hours(9, 19))
    if got is not None:
        assert got.start.tzinfo is BA and got.text in text
    extract_weekday(text)


def test_speed() -> None:
    # Budget is <100 µs per call; the bound here is loose so a busy CI box stays green.
    texts = ["mañana a las 5 de la tarde", "cuánto cuesta el corte?", "el 18/3 a las 14"]
    start = clock.perf_counter()
    for _ in range(200):
        for text in texts:
            extract_when(text, NOW, opening_hours=_hours(9, 19))
    per_call = (clock.perf_counter() - start) / 600
    assert per_call < 1e-3
