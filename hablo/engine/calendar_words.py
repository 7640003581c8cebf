"""Days and clock times as people of a locale say them.

en-US: "Tuesday, March 16", "5:30 PM"; en-GB: "Tuesday 16 March", "17:30"; Spanish:
"martes 16 de marzo", "17:30" (lower case: a weekday is not capitalised mid-sentence;
a template capitalises a sentence's first letter itself). Other locales take Babel's
(CLDR's) own order and clock, so a new language needs no code here.
"""

from __future__ import annotations

import functools
import re
from datetime import date, time

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_time_format, match_skeleton

# Where CLDR's pattern is not what a business writes in a chat: Spanish CLDR says
# "martes, 16 de marzo" and, in Mexico, "5:30 p.m.".
_DAY_PATTERNS = {"es": "EEEE d 'de' MMMM"}
_CLOCK_PATTERNS = {"es": "HH:mm"}
# CLDR puts a narrow no-break space before "PM"; chat apps show it oddly, and people
# type a plain space.
_NARROW_SPACE = "\u202f"


def speech_locale(tenant_locale: str, language: str) -> str:
    """The tenant's own locale ("en-US") when the customer speaks its language, else
    the bare language the customer speaks."""
    same = tenant_locale.replace("_", "-").split("-")[0] == language
    return tenant_locale if same else language


def _babel(locale: str) -> Locale:
    """The locale, else its language, else English (a tenant's locale is free text)."""
    for candidate in (locale.replace("-", "_"), locale.split("-")[0].split("_")[0]):
        try:
            return Locale.parse(candidate)
        except (ValueError, UnknownLocaleError):
            continue
    return Locale("en")


@functools.lru_cache(maxsize=64)
def _day_pattern(locale: str) -> tuple[Locale, str]:
    """A weekday, day and month, in the locale's order ("EEEE, MMMM d" in en-US)."""
    babel_locale = _babel(locale)
    own = _DAY_PATTERNS.get(babel_locale.language)
    if own is not None:
        return babel_locale, own
    skeletons = babel_locale.datetime_skeletons
    best = match_skeleton("MMMMEd", skeletons) or "MMMMEd"
    # CLDR's skeleton has the short weekday ("Tue"); said in full, as people write it.
    pattern = re.sub(r"E+", "EEEE", str(skeletons.get(best, "EEEE d MMMM")))
    return babel_locale, pattern


@functools.lru_cache(maxsize=64)
def _clock_pattern(locale: str) -> tuple[Locale, str]:
    babel_locale = _babel(locale)
    own = _CLOCK_PATTERNS.get(babel_locale.language)
    return babel_locale, own or str(get_time_format("short", babel_locale).pattern)


def day_text(day: date, locale: str) -> str:
    """ "martes 16 de marzo", "Tuesday, March 16" (en-US), "Tuesday 16 March" (en-GB)."""
    babel_locale, pattern = _day_pattern(locale)
    return format_date(day, pattern, locale=babel_locale)


def weekday_text(weekday: int, locale: str) -> str:
    """A weekday's name (0 = Monday): "lunes", "Monday"."""
    names = _babel(locale).days["format"]["wide"]
    return str(names[weekday])


def clock_text(moment: time, locale: str) -> str:
    """ "17:30" (Spanish, en-GB), "5:30 PM" (en-US)."""
    babel_locale, pattern = _clock_pattern(locale)
    return format_time(moment, pattern, locale=babel_locale).replace(_NARROW_SPACE, " ")
