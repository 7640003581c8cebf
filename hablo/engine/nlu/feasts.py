"""Days people name instead of a date, whatever the business: a country's public holidays
in English and in its own languages (the `holidays` package), and the feasts customers
of any appointment business say in Spanish or English ("Jueves Santo", "Nochebuena",
"Easter Monday", "Boxing Day"), the movable ones computed from Easter."""

from __future__ import annotations

import functools
from datetime import date, timedelta

import holidays as holiday_calendars

# Offsets from Easter Sunday.
_EASTER_BASED = {
    -48: ("lunes de carnaval", "carnaval", "carnival monday"),
    -47: ("martes de carnaval", "carnaval", "shrove tuesday", "pancake day", "mardi gras"),
    -46: ("miercoles de ceniza", "ash wednesday"),
    -7: ("domingo de ramos", "palm sunday"),
    -3: ("jueves santo", "maundy thursday", "holy thursday"),
    -2: ("viernes santo", "good friday"),
    -1: ("sabado santo", "sabado de gloria", "holy saturday", "easter saturday"),
    0: ("domingo de pascua", "domingo de resurreccion", "easter sunday", "easter day"),
    1: ("lunes de pascua", "easter monday"),
}
# (month, day): the same date every year.
_FIXED = {
    (1, 1): ("ano nuevo", "new year s day"),
    (1, 6): ("dia de reyes", "reyes magos", "epiphany"),
    (2, 14): ("san valentin", "dia de los enamorados", "valentine s day", "valentines day"),
    (3, 17): ("st patrick s day", "saint patrick s day"),
    (10, 31): ("halloween",),
    (11, 1): ("todos los santos", "all saints day"),
    (11, 2): ("dia de muertos", "dia de los muertos", "all souls day"),
    (12, 24): ("nochebuena", "christmas eve"),
    (12, 25): ("navidad", "christmas day", "christmas", "xmas"),
    (12, 26): ("boxing day",),
    (12, 31): ("nochevieja", "fin de ano", "new year s eve"),
}
# The region whose calendar a country's names are read from when the nationwide one
# leaves out what most of its people have off (England's Easter Monday, August bank
# holiday).
_NAMING_REGION = {"GB": "ENG"}


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous algorithm, as in Meeus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


@functools.lru_cache(maxsize=64)
def named_days(country: str | None, year: int) -> tuple[tuple[date, str], ...]:
    """(date, name) for the year: the feasts above and the country's public holidays in
    every Spanish or English wording the package has for it."""
    easter = easter_sunday(year)
    found = [
        (easter + timedelta(days=offset), name)
        for offset, names in _EASTER_BASED.items()
        for name in names
    ]
    found.extend((date(year, m, d), name) for (m, d), names in _FIXED.items() for name in names)
    if country:
        found.extend(_country_days(country, year))
    return tuple(found)


def _country_days(country: str, year: int) -> list[tuple[date, str]]:
    try:
        languages = holiday_calendars.country_holidays(country).supported_languages
    except NotImplementedError:  # a country the package does not know
        return []
    wanted: list[str | None] = [lang for lang in languages if lang.split("_")[0] in ("es", "en")]
    out: list[tuple[date, str]] = []
    for language in wanted or [None]:  # None: the package's default language
        calendar = holiday_calendars.country_holidays(
            country, years=year, language=language, subdiv=_NAMING_REGION.get(country)
        )
        out.extend((day, str(name)) for day, name in calendar.items())
    return out
