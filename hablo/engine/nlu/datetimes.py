"""Find one date/time mention in a short chat message (es-AR/MX/ES and en) and resolve it.

Hand-rolled on purpose: general date parsers cost milliseconds per call and guess on any
number ("tengo 2 hijos" becomes 02:00). Here a clock time needs an explicit marker ("a las",
"15:30", "17hs", "3pm", "de la tarde", "y media", "at"), so prices, counts and phone numbers
never fire.

Pipeline: fold case/accents keeping offsets -> relative offsets ("en 2 horas") -> clock time ->
noon/midnight -> period words ("a la tarde") -> dates; each found span is blanked out so later
passes cannot re-read it ("de la mañana" is not tomorrow). Then resolve against `now`.

Decisions callers can rely on:
- Numeric dates are D/M, M/D only when D/M is impossible ("3/18"); for a month-first
  locale (`month_first_locale`: en-US) it is the other way round ("3/12" is March 12).
  Dates without a year up to six months ago are past dates (callers say "that has
  passed"); older ones roll to next year; today stays today. "ayer", "anteayer",
  "yesterday", "el viernes pasado", "last friday" are past dates too.
- Time-only mentions ("a las 5", "al mediodía", "at noon") resolve to today if that moment is
  strictly after `now`, else tomorrow; has_date is False for them.
- Weekdays: the nearest upcoming one; when it is today's weekday, today only if a time was
  given and is still ahead ("el miércoles" said on a Wednesday means next week). "próximo",
  "que viene" and "next" always skip today. "la semana que viene" alone is next Monday;
  with a weekday ("el jueves de la semana que viene") it pins that weekday of next week.
- Hours 1..12 without am/pm or period: if `opening_hours` admits exactly one of h / h+12 on
  the resolved date, that one; else h+12 when the spoken hour is 1..7, else h as written.
  Zero-padded ("09:00") and 0/13..24 hours are taken as 24h clock.
- "12 de la noche", "medianoche", "midnight" are 00:00 at the end of the named day.
- "en 2 horas" / "in 30 minutes" add real elapsed time (DST-safe); has_time True, has_date False.
- Wall times that do not exist (DST spring gap) are normalised forward: 02:30 -> 03:30.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from hablo.engine.nlu.acts import OPENING_WORDS

OpeningHours = Callable[[date], Sequence[tuple[time, time]]]

_Reading = tuple[int, int, int]  # (hour, minute, extra days) for one am/pm reading of a clock
_Resolver = Callable[[tuple[int, int] | None], date]  # (hour, minute) or None -> local date


@dataclass(frozen=True)
class WhenMention:
    start: datetime  # timezone-aware, in now's tzinfo; 00:00 when has_time is False
    has_date: bool  # the text named a day ("mañana", "el viernes", "18/3")
    has_time: bool  # the text named a time of day ("a las 5", "15:30", "al mediodía")
    text: str  # the matched span of the original text


# --------------------------------------------------------------------------- vocabulary

_HOUR_WORDS: dict[str, int] = {
    "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
    "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14,
    "quince": 15, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19,
    "veinte": 20, "veintiuno": 21, "veintiuna": 21, "veintidos": 22, "veintitres": 23,
    "veinticuatro": 24,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_MINUTE_WORDS: dict[str, int] = {
    "cuarto": 15, "media": 30, "cinco": 5, "diez": 10, "quince": 15, "veinte": 20,
    "veinticinco": 25, "treinta": 30, "cuarenta y cinco": 45, "cuarenta": 40, "cincuenta": 50,
}  # fmt: skip
_WEEKDAY_WORDS: dict[str, int] = {
    "lunes": 0, "lun": 0, "monday": 0, "mon": 0,
    "martes": 1, "mart": 1, "tuesday": 1, "tues": 1, "tue": 1,
    "miercoles": 2, "miercole": 2, "mircoles": 2, "mier": 2, "mie": 2, "wednesday": 2, "wed": 2,
    "jueves": 3, "jueve": 3, "jue": 3, "thursday": 3, "thurs": 3, "thur": 3, "thu": 3,
    "viernes": 4, "vierne": 4, "biernes": 4, "vier": 4, "vie": 4, "friday": 4, "fri": 4,
    "sabado": 5, "sabdo": 5, "savado": 5, "sab": 5, "saturday": 5, "sat": 5,
    "domingo": 6, "domigo": 6, "dom": 6, "sunday": 6, "sun": 6,
}  # fmt: skip
# English abbreviations that are also everyday words: only a weekday after "on/next/this".
_NEEDS_MODIFIER = frozenset({"sun", "sat", "wed"})
_MONTH_WORDS: dict[str, int] = {
    "enero": 1, "ene": 1, "january": 1, "jan": 1, "febrero": 2, "feb": 2, "february": 2,
    "marzo": 3, "mar": 3, "march": 3, "abril": 4, "abr": 4, "april": 4, "apr": 4,
    "mayo": 5, "may": 5, "junio": 6, "jun": 6, "june": 6, "julio": 7, "jul": 7, "july": 7,
    "agosto": 8, "ago": 8, "august": 8, "aug": 8, "septiembre": 9, "setiembre": 9,
    "september": 9, "sept": 9, "sep": 9, "octubre": 10, "october": 10, "oct": 10,
    "noviembre": 11, "november": 11, "nov": 11, "diciembre": 12, "december": 12, "dic": 12,
    "dec": 12,
}  # fmt: skip
_COUNT_WORDS: dict[str, int] = {
    "un": 1, "una": 1, "an": 1, "a": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "diez": 10, "quince": 15, "veinte": 20, "treinta": 30, "two": 2, "three": 3, "four": 4,
    "five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30,
}  # fmt: skip
# Period words, plus the "a"/"p" of "am"/"pm" as captured by _TIME_RE.
_PERIODS: dict[str, str] = {
    "manana": "morning", "madrugada": "am", "morning": "morning", "a": "am",
    "tarde": "pm", "tardecita": "pm", "afternoon": "pm", "evening": "pm", "p": "pm",
    "noche": "night", "nochecita": "night", "night": "night", "tonight": "night",
    "mediodia": "noon",
}  # fmt: skip
# Nouns that make a preceding number a count ("a las 3 chicas", "at 2 people"), not a time.
# A closed list: a blocklist of "words ending in s" also ate "a las 5 gracias", "somos".
_COUNT_NOUNS = frozenset({
    "personas", "persona", "chicas", "chicos", "nenas", "nenes", "ninas", "ninos", "hijas",
    "hijos", "senoras", "senores", "mujeres", "hombres", "clientes", "clientas", "amigas",
    "amigos", "turnos", "cortes", "opciones", "lugares", "veces", "cosas", "servicios",
    "productos", "people", "persons", "kids", "children", "men", "women", "girls", "boys",
    "guys", "friends", "places", "seats", "spots", "appointments",
    # a pet's or child's size and age ("she's about 8kg", "tiene como 3 años")
    "kg", "kgs", "kilos", "lb", "lbs", "pounds", "years", "yrs", "anos", "meses", "months",
    "dogs", "cats", "pets", "perros", "perritos", "gatos", "mascotas",
})  # fmt: skip


def _alt(words: Iterable[str]) -> str:
    """Regex alternation, longest first so "lunes" wins over "lun"."""
    return "|".join(w.replace(" ", r"\s+") for w in sorted(words, key=len, reverse=True))


_HOUR = _alt(_HOUR_WORDS)
_MIN = _alt(_MINUTE_WORDS)
_WD = _alt(_WEEKDAY_WORDS)
_MON = _alt(_MONTH_WORDS)
_NUMBER_GLUE = "0123456789/.,:$+-"  # a number right after one of these is part of a bigger one
_NO_NUM_BEFORE = r"(?<![\d/.,:$+\-])"  # not the tail of a price, phone, ratio or date
_ORD = r"(?:ro|ero|°|st|nd|rd|th)?"

# --------------------------------------------------------------------------- patterns

_IN_RE = re.compile(
    rf"""\b(?:en|in|dentro\s+de|within)\s+
    (?P<n>\d{{1,3}}|media|half\s+an?|{_alt(_COUNT_WORDS)})\s+
    (?P<unit>horas?|hours?|hs|hrs?|minutos?|mins?|minutes?|dias?|days?|semanas?|weeks?)\b
    (?P<half>\s+y\s+media|\s+and\s+a\s+half)?""",
    re.X,
)
# "mejor una coloración", "how about one haircut": an article before a noun, not one
# o'clock ("a la una de la tarde" and "mejor a la una" still are).
_NOT_ARTICLE = (
    r"(?!(?<=una|uno|one)(?<!la\suna)\s+(?!(?:y|menos|de|del|en|por|x|a|hs|hrs|h|hora|horas"
    r"|pm|am|p|o|oclock|punto|then|ok|is|works|would|mejor|esta|queda|me|te|le|si|no)\b)[a-z]{2,})"
)
_TIME_RE = re.compile(
    rf"""(?:(?P<pre>\b(?:(?:a\s+eso\s+de|como\s+a|a\s+partir\s+de|antes\s+de|despues\s+de
            |luego\s+de|a|para|desde|hasta|sobre|entre|tipo|de)\s+las?
          |^las(?!\s+(?:2|dos)\b)|alas|tipo|at|around|about|by|from|until|till|after|before
          |make\s+it|how\s+about|what\s+about|mejor|rather
          |(?<!d\s)(?<!would\s)like(?=\s+\d{{1,2}}\s*(?:ish|or\s+so)?\W*$))|@)\s*)?
    (?:{_NO_NUM_BEFORE}(?P<hd>\d{{1,2}})(?!\d)|\b(?P<hw>{_HOUR})\b{_NOT_ARTICLE})
    (?:(?P<sep>[:.h])(?P<md>\d{{2}})(?!\d)
      |\s+y\s+(?P<my>\d{{1,2}}(?!\d)|(?:{_MIN})\b)
      |\s+menos\s+(?P<mm>\d{{1,2}}(?!\d)|(?:{_MIN})\b))?
    (?:\s*(?P<ampm>[ap])\.?\s?m\b\.?
      |\s*(?P<hs>hs|hrs|hr|h|horas|hora)\b\.?
      |\s+(?:de?\s+la|del|en\s+la|por\s+la|x\s+la|a\s+la)\s+
          (?P<per>manana|tarde|noche|madrugada|mediodia)\b
      |\s+in\s+the\s+(?P<pen>morning|afternoon|evening)\b
      |\s+at\s+(?P<night>night)\b
      |\s+(?P<oclock>en\s+punto|o'?clock)\b)?""",
    re.X,
)
# Minutes before the hour as Mexicans say them: "(un) cuarto para las 5" is 4:45,
# "diez para las 12" is 11:50 ("el quince para las 5" is a date, not 4:45; "somos cinco
# para las 5" counts people).
_BEFORE_WORDS = ("cuarto", "cinco", "diez", "quince", "veinte", "veinticinco")
# "half past 4", "quarter to 5" (US "quarter of 5", "quarter after 4"), the British
# "half 4" (half past four) and the Mexican "cuarto para las 5", with the part of the day.
_PAST_RE = re.compile(
    rf"\b(?:at\s+)?(?:(?P<q>half|quarter)\s+(?P<rel>past|to|of|after)|(?P<bare>half)"
    rf"|(?<!el\s)(?<!dia\s)(?<!somos\s)(?<!seremos\s)(?<!ser\s)"
    rf"(?:un\s+)?(?P<before>{_alt(_BEFORE_WORDS)})\s+(?:minutos\s+)?"
    rf"para\s+las?)\s+(?P<h>\d{{1,2}}|{_HOUR})\b"
    r"(?:\s*(?P<ampm>[ap])\.?\s?m\b\.?"
    r"|\s+(?:de?\s+la|del|en\s+la|por\s+la|x\s+la|a\s+la)\s+(?P<per>manana|tarde|noche)\b"
    r"|\s+in\s+the\s+(?P<pen>morning|afternoon|evening)\b|\s+at\s+(?P<night>night)\b)?"
)
_NOON_RE = re.compile(
    r"\b(?:(?:al|a|el|at|by|around|para\s+el|hasta\s+el|tipo)\s+)?"
    r"(?P<w>medio\s*dia|mediodia|noon|midday|media\s*noche|midnight)\b"
)
# A date word just before "5hs" makes it a time, not a duration ("mañana 5hs" vs "dura 2hs").
_DATEISH_TAIL = re.compile(
    rf"\b(?:mani?ana|hoy|today|tomorrow|(?:{_WD})s?|\d{{1,2}}[/\-]\d{{1,2}})\W*$"
)
# How many weeks ahead "el viernes 19" may name the 19th (further, 19 is an hour or a count).
_DOM_WEEKS = 9
_CLOCK_LATER_RE = re.compile(r"\b(?:a\s+las?|at)\s+\d|\d\s*(?:hs|am|pm|:\d\d)\b")
_WEEKDAY_WEEK_RE = re.compile(rf"\b(?P<wd>{_WD})\s+week\b")
_INSTEAD_OF_RE = re.compile(r"\b(?:en\s+vez|en\s+lugar|instead\s+of|rather\s+than)\s*$")
# What comes right before a day of the month said with a part of the day.
_DAY_LEAD_RE = re.compile(r"\b(?:el|el\s+dia|dia|the|on\s+the)\s+$")
_WEEKDAY_LEAD_RE = re.compile(rf"\b(?P<wd>{_WD})\s+$")
_RELDAY_TAIL = re.compile(r"\b(?:pasado\s+)?(?:mani?ana|hoy|today|tomorrow|tmrw)\s*,?\s*$")
_PERIOD_RE = re.compile(
    r"""\b(?:(?P<this>esta|this)\s+(?P<p1>manana|tarde|noche|morning|afternoon|evening|night)
      |(?:a|por|en|de|x|durante|hacia)\s+la\s+(?P<p2>manana|tardecita|tarde|nochecita|noche|madrugada)
      |de\s+(?P<p3>tarde|noche|madrugada)
      |(?<!good\s)(?:in\s+the\s+)?(?P<p4>morning|afternoon|evening)
      |(?P<p5>tonight)|at\s+(?P<p6>night))\b""",
    re.X,
)
_REL_DAY_RE = re.compile(
    r"\b(?:(?P<two>pasado\s*mani?ana|pasado\s+manna|day\s+after\s+tomorrow)"
    r"|(?P<zero>hoy|today)|(?P<back2>anteayer|antier|antes\s+de\s+ayer)|(?P<back>ayer|yesterday)"
    r"|(?P<one>(?<!la\s)mani?ana|manna|mnn|tomorrow|tomorow|tommorow|tommorrow|tmrw?|2morrow))\b"
)
_NUM_DATE_RE = re.compile(
    rf"(?:\b(?:el\s+dia|el|dia|on|the|for|del|para\s+el)\s+)?{_NO_NUM_BEFORE}"
    r"(?P<d>\d{1,2})[/\-](?P<m>\d{1,2})(?:[/\-](?P<y>\d{4}|\d{2}))?(?![\d/\-]|[.,]\d)"
)
# Both start on a plain token (no optional prefix) so the regex engine can skip ahead fast;
# the article before ("el", "on the") is added to the span by _extend_left.
_DAY_MONTH_RE = re.compile(
    rf"(?P<d>\d{{1,2}}|primero){_ORD}(?:\s+de|\s+of)?\s*(?P<mon>{_MON})\b\.?"
    rf"(?:\s*(?:de|del|,)?\s*(?P<y>\d{{4}})\b)?"
)
_MONTH_DAY_RE = re.compile(
    rf"\b(?P<mon>{_MON})\.?\s+(?:the\s+)?(?P<d>\d{{1,2}})(?!\d){_ORD}(?:,?\s*(?P<y>\d{{4}})\b)?"
)
_DATE_LEAD_RE = re.compile(r"(?:\b(?:el|on|the|for|para\s+el)\s+)?(?:\b(?:dia|day)\s+)?$")
_DIGIT_RE = re.compile(r"\d")
# "el día 18", "the 18th" name a day of the month; a bare "el 18" only counts before a time.
_DOM_RE = re.compile(
    rf"\b(?P<pre>el\s+dia|(?<!buen\s)dia|on\s+the|the|el)\s+{_NO_NUM_BEFORE}(?P<d>\d{{1,2}})(?!\d)"
    rf"(?P<ord>ro|ero|°|st|nd|rd|th)?(?![/\-:]\d|[.,]\d)"
)
# "¿abren el 24?", "trabajan el 9?": a day of the month asked about opening.
_OPEN_BEFORE_RE = re.compile(rf"\b(?:{OPENING_WORDS})\s*(?:el|la|the|on\s+the|on)?\s*$")
# "para el 19", "era el 19", "pasalo al 19": a preposition that leads to a day.
_DAY_LEAD_WORD_RE = re.compile(r"\b(?:para|era|es|hasta|desde|pasalo|pasamelo|move it to)\s*$")
# "¿y el 24?", "and the 3rd?": the whole message asks about another day of the month.
_FOLLOW_UP_DOM_RE = re.compile(r"\W*(?:y|and|what about|how about|o)\s+(?:el|the)\s+\d{1,2}\W*$")
_WEEKDAY_RE = re.compile(
    rf"""\b(?:(?P<mod>el\s+proximo|el\s+prox\.?|este\s+proximo|proximo|prox\.?|next|this
          |coming|this\s+coming|este|el|los|on|for|para\s+el|last|el\s+pasado)\s+)?
    (?P<wd>{_WD})(?P<plural>s?)\b
    (?:\s+(?P<qv>que\s+viene|proximo|next)|\s+(?P<ago>pasado|anterior|last))?
    (?:\s+(?P<dom>\d{{1,2}})(?![\d/\-:.]))?""",
    re.X,
)
_WEEK_RE = re.compile(
    r"\b(?:(?:la|el)\s+)?(?:semana\s+(?:que\s+viene|proxima|siguiente)|proxima\s+semana"
    r"|next\s+week|otra\s+semana)\b"
)
_THIS_WEEK_RE = re.compile(r"\b(?:esta\s+semana|this\s+week|en\s+la\s+semana)\b")
_WEEKEND_RE = re.compile(
    r"\b(?:(?:el|este|this|on\s+the|the)\s+)?(?:finde|fin\s+de\s+semana|weekend)\b"
)
# What may follow a weekday's short name ("sat", "wed") that is then no everyday word.
_DAY_PART_NEXT = re.compile(
    r"\s*(?:$|[?!.,]|(?:anytime|any\s+time|morning|afternoon|evening|night|after|before"
    r"|around|at|by|or|works|pls|please)\b)"
)
_NEXT_WORD_RE = re.compile(r"\s*([a-z]+)")  # "8kg" as "8 kg"


# --------------------------------------------------------------------------- text helpers


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {0x2019: "'", 0x2018: "'", 0xBA: "°"}
    for cp in range(0xC0, 0x250):
        decomposed = unicodedata.normalize("NFD", chr(cp))
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        if len(base) == 1 and base.isascii():
            table[cp] = base
    return table


_FOLD = _fold_table()


def _fold(text: str) -> str:
    """Lower-case, accent-free copy of the same length, so match offsets index `text`."""
    if text.isascii():
        return text.lower()
    folded = text.translate(_FOLD).lower()
    if len(folded) == len(text):
        return folded
    # lower() grew a char (e.g. "İ"): redo char by char keeping exactly one char each.
    return "".join((ch.translate(_FOLD).lower() or " ")[0] for ch in text)


def _extend_left(s: str, start: int, lead: re.Pattern[str]) -> int:
    """Start of `lead` (anchored with $) ending right at `start`, e.g. "el " before "5 de mayo"."""
    m = lead.search(s, max(0, start - 16), start)
    return start if m is None else m.start()


def _blank(s: str, start: int, end: int) -> str:
    return s[:start] + " " * (end - start) + s[end:]


def _count_follows(s: str, pos: int) -> bool:
    """True when a count noun follows ("a las 3 chicas", "at 2 people", "about 8kg"): not a
    clock time."""
    m = _NEXT_WORD_RE.match(s, pos)
    return m is not None and m[1] in _COUNT_NOUNS


def _number(word: str, table: dict[str, int]) -> int:
    return int(word) if word.isdigit() else table[re.sub(r"\s+", " ", word)]


# --------------------------------------------------------------------------- clock times


@dataclass(frozen=True, slots=True)
class _Clock:
    start: int
    end: int
    hour: int  # 0..24 after minute arithmetic ("4 menos cuarto" -> 3)
    minute: int
    spoken: int  # the hour as said ("4"): drives the 1..7 -> afternoon rule
    fixed: bool  # unambiguous 24h clock: 0, 13..24 or zero-padded ("09:00")
    period: str | None  # "am" | "pm" | "noon" | "night" from the time's own words


# A bare hour offered instead of another: "actually 11 would be better", "12 mejor".
_RATHER_AFTER = re.compile(
    r"\s+(?:instead|would be better|would work better|works better|is better|would be"
    r" great|would be good|works for me|would work|es mejor|mejor|me queda mejor|works"
    r"|is fine|is good|esta bien|me sirve|me va bien|me viene bien|me queda bien)\b"
)


def _clock_from(m: re.Match[str], s: str, today: date | None = None) -> _Clock | None:
    hd = m["hd"]
    spoken = int(hd) if hd is not None else _HOUR_WORDS[m["hw"]]
    hour, minute = spoken, 0
    if m["md"] is not None:
        minute = int(m["md"])
    elif m["my"] is not None and (
        (m["pre"] or "").strip().startswith("entre") or s[: m.start()].endswith("entre ")
    ):
        minute = 0  # "entre 2 y 4": a range from two to four, not 2:04
    elif m["my"] is not None:
        minute = _number(m["my"], _MINUTE_WORDS)
    elif m["mm"] is not None:
        before = _number(m["mm"], _MINUTE_WORDS)
        if not 0 < before < 60:
            return None
        hour, minute = (spoken - 1) % 24, 60 - before
    if spoken > 24 or minute > 59:
        return None
    if today is not None and _day_then_period(m, s, today):
        return None  # "el 18 a la mañana": the 18th, in the morning
    word = m["ampm"] or m["per"] or m["pen"] or m["night"]
    period = _PERIODS[word] if word else None
    strong = bool(period or m["oclock"] or m["my"] or m["mm"] or m["sep"] in (":", "h"))
    rather = _RATHER_AFTER.match(s, m.end()) is not None  # "11 would be better"
    rather = rather or _after_a_day(m, s, today)  # "mañana 9", "saturday 10"
    if m["pre"] is None and not strong and not rather and not _hs_is_clock(m, s, spoken):
        return None  # a bare number: a count, a price, part of a phone number
    if not strong and m["hs"] is None and m["md"] is None and _count_follows(s, m.end()):
        return None
    fixed = spoken == 0 or spoken >= 13 or (hd is not None and len(hd) == 2 and hd[0] == "0")
    return _Clock(m.start(), m.end(), hour, minute, spoken, fixed, period)


def _after_a_day(m: re.Match[str], s: str, today: date | None) -> bool:
    """ "mañana 9", "tomorrow 3", "saturday 10?": a bare hour right after a day (today and
    tomorrow take no day of the month; a weekday's number is an hour unless that weekday
    soon falls on it), unless a month follows ("mañana 9 de marzo" is still a date)."""
    if m["hd"] is None or _DAY_MONTH_RE.match(s, m.start()) is not None:
        return False
    before = s[max(0, m.start() - 20) : m.start()]
    if _RELDAY_TAIL.search(before) is not None:
        return True
    weekday = _WEEKDAY_LEAD_RE.search(before)
    if weekday is None or today is None or _CLOCK_LATER_RE.search(s, m.end()):
        return False  # "el lunes 3 a las 10": the 3 is no hour when one is said
    return not _is_weekday_date(today, weekday["wd"], int(m["hd"]))


def _hs_is_clock(m: re.Match[str], s: str, spoken: int) -> bool:
    """Tell "17hs" (a time) from "tarda 2hs" (a duration): low hours need minutes or a date."""
    unit = m["hs"]
    if unit is None or m["hd"] is None:
        return False
    if m["md"] is not None or spoken >= (13 if unit.startswith("hora") else 7):
        return True
    return _DATEISH_TAIL.search(s, max(0, m.start() - 24), m.start()) is not None


def _day_then_period(m: re.Match[str], s: str, today: date) -> bool:
    """ "el 18 a la mañana", "el lunes 15 por la tarde", "día 19 en la mañana": a day of the
    month and a part of the day, not a time ("10 de la mañana" is one: "de la" stays)."""
    if m["pre"] is not None or m["per"] is None or m["hd"] is None or m["md"] is not None:
        return False
    if re.match(r"\s+de\s+la\b", s[m.end("hd") :]):
        return False
    before = s[max(0, m.start() - 24) : m.start()]
    if _DAY_LEAD_RE.search(before):
        return True
    weekday = _WEEKDAY_LEAD_RE.search(before)
    if weekday is None:
        return False
    return _is_weekday_date(today, weekday["wd"], int(m["hd"]))


def _is_weekday_date(today: date, word: str, number: int) -> bool:
    """ "viernes 19" names the 19th when one of the next such weekdays falls on it."""
    return _weekday_on(_weekday_resolver_on(today, _WEEKDAY_WORDS[word]), number) is not None


def _weekday_on(first: date, number: int) -> date | None:
    """The weekday from `first` on that falls on day `number` of its month, within nine
    weeks: "el jueves 1" is April 1st. A morning hour ("sábado 10") is the 10th only in
    the next two weeks; further off it is ten o'clock."""
    for k in range(_DOM_WEEKS):
        d = first + timedelta(weeks=k)
        if d.day == number:
            return d if k < 2 or not 8 <= number <= 12 else None
    return None


def _weekday_resolver_on(today: date, wd: int) -> date:
    return today + timedelta(days=(wd - today.weekday()) % 7)


def _find_clock(s: str, today: date | None = None) -> _Clock | None:
    past = _past_clock(s)  # "half 2 would be great": half past two, not 2 o'clock
    refused: _Clock | None = None  # "en vez de las 10, a las 11": the 10 turned down
    for m in _TIME_RE.finditer(s):
        if m["hd"] is None and m["hw"] is None:
            continue
        clock = _clock_from(m, s, today)
        turned_down = _INSTEAD_OF_RE.search(s, max(0, m.start() - 16), m.start()) or (
            _REFUSED_AFTER.match(s, m.end()) or _REFUSED_BEFORE.search(s, 0, m.start())
        )
        if clock is not None and turned_down:  # "a las 10 no puedo, ¿a las 12?"
            refused = refused or clock
            continue
        if clock is not None and (past is None or clock.end <= past.start):
            return clock
        if clock is not None and past is not None and clock.start >= past.end:
            return past
    return past or refused or _noon_clock(s)


def _past_clock(s: str) -> _Clock | None:
    """ "half past 3", "quarter to 4", "cuarto para las 4", with their part of the day."""
    m = _PAST_RE.search(s)
    if m is None:
        return None
    h = _number(m["h"], _HOUR_WORDS)
    if not 1 <= h <= 12:
        return None
    if m["before"] is not None:  # "cuarto para las 5"
        minute, before = _MINUTE_WORDS[m["before"]], True
    else:  # a bare "half" is half past
        minute, before = (15 if m["q"] == "quarter" else 30), m["rel"] in ("to", "of")
    hour, minute = ((h - 1) % 24, 60 - minute) if before else (h, minute)
    word = m["ampm"] or m["per"] or m["pen"] or m["night"]
    return _Clock(m.start(), m.end(), hour, minute, h, False, _PERIODS[word] if word else None)


def _noon_clock(s: str) -> _Clock | None:
    m = _NOON_RE.search(s)
    if m is None:
        return None
    hour = 12 if m["w"] in ("noon", "midday") or m["w"].startswith("medio") else 24
    return _Clock(m.start(), m.end(), hour, 0, hour, True, None)


def _readings(c: _Clock, period: str | None) -> list[_Reading]:
    """Candidate (hour, minute, extra days), preferred first; two only when am/pm is open."""
    h, mi = c.hour, c.minute
    if h == 24:
        return [(0, mi, 1)]
    if c.fixed:
        return [(h, mi, 0)]
    p = c.period or period
    pm = h + 12 if h < 12 else h
    if p == "am":
        return [(0 if h == 12 else h, mi, 0)]
    if p == "morning":  # "por la mañana a las 12" is noon; "12 am" is midnight
        return [(h, mi, 0)]
    if p == "pm":
        return [(pm, mi, 0)]
    if p == "noon":
        return [(pm if h < 6 else h, mi, 0)]
    if p == "night":  # "12 de la noche" / "1 de la noche" belong to the next calendar day
        return [(h % 12, mi, 1)] if h % 12 < 5 else [(pm, mi, 0)]
    if h == 12:
        return [(12, mi, 0)]
    # Nobody books a haircut at 4 am: small spoken hours default to the afternoon.
    return [(pm, mi, 0), (h, mi, 0)] if 1 <= c.spoken <= 7 else [(h, mi, 0), (pm, mi, 0)]


# --------------------------------------------------------------------------- dates


@dataclass(frozen=True, slots=True)
class _DateRef:
    start: int
    end: int
    resolve: _Resolver
    weekday: int | None = None  # bare weekday, so "la semana que viene" can pin it


def _at(now: datetime, d: date, hour: int, minute: int) -> datetime:
    local = datetime(d.year, d.month, d.day, hour, minute, tzinfo=now.tzinfo)
    # Round-trip through UTC so a wall time inside a DST gap moves forward to a real instant.
    return local.astimezone(UTC).astimezone(now.tzinfo)


def _fixed(d: date) -> _Resolver:
    return lambda _tod: d


def _weekday_resolver(now: datetime, wd: int, skip_today: bool) -> _Resolver:
    today = now.date()

    def resolve(tod: tuple[int, int] | None) -> date:
        ahead = (wd - today.weekday()) % 7
        if ahead == 0 and (skip_today or tod is None or _at(now, today, *tod) <= now):
            ahead = 7
        return today + timedelta(days=ahead)

    return resolve


# A date without a year up to this many days ago is that past date ("el 4/3" said on 10/3:
# it already happened), not next year's; older ones are next year's ("el 5/1" in December).
PAST_WINDOW_DAYS = 183


def _calendar_date(today: date, day: int, month: int, year: int | None) -> date | None:
    """The named day; without a year the next one on or after today (29/2 may skip years),
    unless this year's is at most PAST_WINDOW_DAYS ago: then it is that (past) date."""
    if year is not None:
        try:
            return date(year, month, day)
        except ValueError:
            return None
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    for y in range(today.year, today.year + 9):
        try:
            d = date(y, month, day)
        except ValueError:
            if (month, day) != (2, 29):
                return None
            continue
        if d >= today or (y == today.year and (today - d).days <= PAST_WINDOW_DAYS):
            return d
    return None


# Locales whose people write the month first ("3/12" is March 12th).
_MONTH_FIRST = frozenset({"en-us", "en-ph", "en-as", "en-gu", "en-pr", "en-um", "en-vi"})


def month_first_locale(locale: str) -> bool:
    return locale.replace("_", "-").lower() in _MONTH_FIRST


def _numeric_date(today: date, m: re.Match[str], month_first: bool = False) -> date | None:
    a, b = int(m["d"]), int(m["m"])
    year = m["y"]
    y = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
    if year is None and m.group(0)[0].isdigit() and (a, b) in {(1, 2), (1, 3), (1, 4), (3, 4)}:
        return None  # "1/2 kilo": a fraction, not the 1st of February
    if month_first:
        a, b = b, a
    if b > 12:  # this order is impossible, so it is the other ("3/18", "18/3")
        a, b = b, a
    return _calendar_date(today, a, b, y)


def _day_of_month(today: date, day: int) -> date | None:
    y, mo = today.year, today.month
    for _ in range(3):
        if day >= today.day or (y, mo) != (today.year, today.month):
            try:
                return date(y, mo, day)
            except ValueError:
                pass
        y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)
    return None


def _collect_dates(
    s: str,
    now: datetime,
    clock: _Clock | None,
    month_first: bool = False,
    period_at: int | None = None,
) -> list[_DateRef]:
    """Every date mention, strongest kinds first; overlapping weaker ones are dropped.
    `period_at`: where a part of the day was said ("el 18 | a la mañana" names the 18th)."""
    today = now.date()
    refs: list[_DateRef] = []

    def add(start: int, end: int, resolve: _Resolver, weekday: int | None = None) -> None:
        if all(end <= r.start or start >= r.end for r in refs):
            refs.append(_DateRef(start, end, resolve, weekday))

    if _DIGIT_RE.search(s) is not None or "primero" in s:  # skip number-led passes cheaply
        for m in (*_DAY_MONTH_RE.finditer(s), *_MONTH_DAY_RE.finditer(s)):
            start = m.start()
            prev = s[start - 1] if start else " "
            if prev.isalpha() or (prev in _NUMBER_GLUE and m["d"][0].isdigit()):
                continue  # inside a word, or the tail of "$15", "3/15"
            day = 1 if m["d"] == "primero" else int(m["d"])
            year = None if m["y"] is None else int(m["y"])
            d = _calendar_date(today, day, _MONTH_WORDS[m["mon"]], year)
            if d is not None:
                add(_extend_left(s, start, _DATE_LEAD_RE), m.end(), _fixed(d))
        if "/" in s or "-" in s:
            for m in _NUM_DATE_RE.finditer(s):
                d = _numeric_date(today, m, month_first)
                if d is not None:
                    add(m.start(), m.end(), _fixed(d))
        follow_up = _FOLLOW_UP_DOM_RE.match(s) is not None  # "¿y el 24?"
        for m in _DOM_RE.finditer(s):
            period_after = period_at is not None and not s[m.end() : period_at].strip()
            weak = m["pre"] in ("el", "the") and m["ord"] is None
            asks_open = _OPEN_BEFORE_RE.search(s, max(0, m.start() - 30), m.start()) is not None
            asks_open = asks_open or _DAY_LEAD_WORD_RE.search(s, 0, m.start()) is not None
            weak = weak and not follow_up and not period_after and not asks_open
            before_clock = clock is not None and s[m.end() : clock.start].strip(" ,") == ""
            d = _day_of_month(today, int(m["d"]))
            if d is not None and (before_clock or not weak) and not _count_follows(s, m.end()):
                add(m.start(), m.end(), _fixed(d))
    for m in _WEEKDAY_RE.finditer(s):
        ref = _weekday_ref(m, s, now, clock)
        if ref is not None:
            add(ref.start, ref.end, ref.resolve, ref.weekday)
    for m in _REL_DAY_RE.finditer(s):
        days = 2 if m["two"] else 0 if m["zero"] else -2 if m["back2"] else -1 if m["back"] else 1
        add(m.start(), m.end(), _fixed(today + timedelta(days=days)))
    for m in _THIS_WEEK_RE.finditer(s):  # "esta semana": from today on
        add(m.start(), m.end(), _fixed(today))
    for m in _WEEKEND_RE.finditer(s):
        wd = today.weekday()
        add(m.start(), m.end(), _fixed(today + timedelta(days=0 if wd >= 5 else 5 - wd)))
    week = _WEEK_RE.search(s)
    if week is not None:
        refs = _pin_next_week(refs, week, today)
    return refs


def _weekday_ref(
    m: re.Match[str], s: str, now: datetime, clock: _Clock | None = None
) -> _DateRef | None:
    word, mod = m["wd"], m["mod"]
    right_before_clock = clock is not None and s[m.end("wd") : clock.start].strip() in ("", "at")
    # "sun" is the sun, but "sat 10am" is Saturday, and so is "fade sat anytime after 3"
    day_part_next = word != "sun" and _DAY_PART_NEXT.match(s, m.end("wd")) is not None
    if word in _NEEDS_MODIFIER and mod is None and not right_before_clock and not day_part_next:
        return None
    wd = _WEEKDAY_WORDS[word]
    if m["ago"] is not None or mod in ("last", "el pasado"):  # "el viernes pasado": gone
        back = (now.date().weekday() - wd) % 7 or 7
        end = m.end("ago") if m["ago"] else m.end("plural")
        return _DateRef(m.start(), end, _fixed(now.date() - timedelta(days=back)))
    skip_today = m["qv"] is not None or (mod is not None and ("prox" in mod or mod == "next"))
    resolve = _weekday_resolver(now, wd, skip_today)
    if m["dom"] is not None and _DAY_MONTH_RE.match(s, m.start("dom")):
        return None  # "el viernes 2 de abril": the day and month say the date
    if m["dom"] is not None and not _count_follows(s, m.end()):
        # "el viernes 19": the 19th, if one of the next such weekdays falls on it.
        on = _weekday_on(resolve(None if skip_today else (23, 59)), int(m["dom"]))
        if on is not None:
            return _DateRef(m.start(), m.end(), _fixed(on))
    # Any unconfirmed number is left out of the span: it may be a count ("3 turnos").
    end = m.end("qv") if m["qv"] else m.end("plural")
    return _DateRef(m.start(), end, resolve, wd)


def _pin_next_week(refs: list[_DateRef], week: re.Match[str], today: date) -> list[_DateRef]:
    monday = today + timedelta(days=7 - today.weekday())
    for i, r in enumerate(refs):
        if r.weekday is not None:  # "el jueves de la semana que viene"
            d = monday + timedelta(days=r.weekday)
            pinned = _DateRef(min(r.start, week.start()), max(r.end, week.end()), _fixed(d))
            return [*refs[:i], pinned, *refs[i + 1 :]]
    if all(week.end() <= r.start or week.start() >= r.end for r in refs):
        return [*refs, _DateRef(week.start(), week.end(), _fixed(monday))]
    return refs


# "el viernes no, mejor el sábado", "mañana no puedo, ¿el viernes?", "not friday,
# saturday": the day turned down (kept when it is the only one: "el viernes no puedo").
_REFUSED_AFTER = re.compile(r"\s*,?\s*no\b(?!\s+(?:tengo|hay|se|me|podes|puedes))")
_REFUSED_BEFORE = re.compile(r"\b(?:not|no)\s+(?:on\s+)?$")
# "no puedo a la mañana", "not in the morning", "can't do mornings": a part of the day
# turned down (the clock said beside it is read on its own).
PERIOD_REFUSED = re.compile(
    r"\b(?:no(?: puedo| podria| me sirve| me queda)?|not|can ?t(?: do)?|cannot(?: do)?)"
    r"\s+(?:(?:a|en|por|la|el|in|the|during)\s+)*$"
)


def _not_refused(s: str, refs: list[_DateRef]) -> list[_DateRef]:
    """The dates the message does not turn down, when it names another one."""
    kept = [
        r
        for r in refs
        if not _REFUSED_AFTER.match(s, r.end) and not _REFUSED_BEFORE.search(s[: r.start])
    ]
    return kept if kept else refs


def _not_past(refs: list[_DateRef], today: date) -> list[_DateRef]:
    """The dates still to come, when the message names one beside past ones: "throwing up
    since yesterday, can you see her today?" asks about today."""
    kept = [r for r in refs if r.resolve(None) >= today]
    return kept if kept else refs


def _closest(refs: list[_DateRef], clock: _Clock | None) -> _DateRef | None:
    """The date nearest the clock time ("hoy no puedo, el viernes a las 10"), else the first."""
    if not refs:
        return None
    if clock is None:
        return min(refs, key=lambda r: r.start)
    return min(refs, key=lambda r: (max(0, clock.start - r.end, r.start - clock.end), r.start))


# --------------------------------------------------------------------------- resolution


def _is_open(opening_hours: OpeningHours, dt: datetime) -> bool:
    t = dt.time()
    for open_, close in opening_hours(dt.date()):
        if open_ < close:
            if open_ <= t < close:
                return True
        elif t >= open_ or t < close:  # spans midnight (or closes at 00:00)
            return True
    return False


def _place(now: datetime, ref: _DateRef | None, reading: _Reading) -> datetime:
    hour, minute, extra = reading
    if ref is None:  # time only: the next occurrence
        today = now.date()
        dt = _at(now, today, hour, minute)
        return dt if dt > now else _at(now, today + timedelta(days=1), hour, minute)
    d = ref.resolve((hour, minute)) + timedelta(days=extra)
    return _at(now, d, hour, minute)


def _offset(m: re.Match[str]) -> timedelta:
    """Length of "en 2 horas", "in half an hour", "en una hora y media", "in 3 days"."""
    n_word = m["n"]
    half = n_word == "media" or n_word.startswith("half")
    amount = (0.5 if half else _number(n_word, _COUNT_WORDS)) + (0.5 if m["half"] else 0)
    unit = m["unit"][0]  # h(oras/ours/s/rs), m(inutos/ins), d(ias/ays), s(emanas)/w(eeks)
    if unit == "h":
        return timedelta(hours=amount)
    if unit == "m":
        return timedelta(minutes=amount)
    return timedelta(days=amount) if unit == "d" else timedelta(weeks=amount)


_THE_OTHER_RE = re.compile(
    rf"\b(?:{_WD})\b(?:\s+(?:que viene|proximo))?\s*,?\s*no\s*,?\s*(?:el|al|para el)\s+"
    r"(?:otro|siguiente|de la otra semana)\b"
)


def _week_later(ref: _DateRef) -> _DateRef:
    resolve = ref.resolve
    return _DateRef(ref.start, ref.end, lambda tod: resolve(tod) + timedelta(days=7), ref.weekday)


_WEEKS_FROM_RE = re.compile(
    rf"\b(?P<n>a|one|two|three|1|2|3|una|dos|tres)\s+(?:weeks?|semanas?)\s+"
    rf"(?:from|after|despues del?|a partir del?)\s+(?:this\s+|el\s+)?(?P<wd>{_WD})\b"
)
# "a fortnight on Saturday", "in a fortnight", "in a fortnight's time"
_FORTNIGHT_RE = re.compile(r"\b(?:in\s+)?(?:a\s+)?fortnight(?:'?s)?(?:\s+time)?\b")


def _weekday_of_that_week(refs: list[_DateRef], ahead: date) -> list[_DateRef]:
    """ "in two weeks on Thursday": the Thursday of the week two weeks ahead, one date
    (the weekday alone would be this week's, the offset alone a Wednesday)."""
    named = [r for r in refs if r.weekday is not None]
    if len(named) != 1:
        return refs
    weekday = named[0].weekday
    assert weekday is not None
    day = ahead - timedelta(days=ahead.weekday()) + timedelta(days=weekday)
    spans = [(r.start, r.end) for r in refs if r.weekday is not None or r.resolve(None) == ahead]
    start, end = min(a for a, _ in spans), max(b for _, b in spans)
    kept = [r for r in refs if r.weekday is None and r.resolve(None) != ahead]
    return [*kept, _DateRef(start, end, _fixed(day))]


def extract_when(
    text: str,
    now: datetime,
    *,
    opening_hours: OpeningHours | None = None,
    month_first: bool = False,
) -> WhenMention | None:
    """The first date and/or time mentioned in `text`, resolved relative to local `now`."""
    s = _fold(text)
    extra_refs: list[_DateRef] = []  # dates implied by "en 3 días" / "esta noche"
    weeks_ahead: date | None = None  # "dentro de dos semanas, el jueves": that week's
    fortnight = _FORTNIGHT_RE.search(s)
    if fortnight is not None:  # "a fortnight on Saturday", "in a fortnight"
        weeks_ahead = now.date() + timedelta(days=14)
        extra_refs.append(_DateRef(fortnight.start(), fortnight.end(), _fixed(weeks_ahead)))
        s = _blank(s, fortnight.start(), fortnight.end())
    week_on = _WEEKDAY_WEEK_RE.search(s)
    if week_on is not None:  # British "friday week": a week on Friday
        day = _weekday_resolver(now, _WEEKDAY_WORDS[week_on["wd"]], True)(None) + timedelta(weeks=1)
        extra_refs.append(_DateRef(week_on.start(), week_on.end(), _fixed(day)))
        s = _blank(s, week_on.start(), week_on.end())
    from_day = _WEEKS_FROM_RE.search(s)
    if from_day is not None:  # "two weeks from saturday": that Saturday, two weeks on
        weeks = _number(from_day["n"], _COUNT_WORDS)
        wd = _WEEKDAY_WORDS[from_day["wd"]]
        day = _weekday_resolver(now, wd, True)(None) + timedelta(weeks=weeks)
        extra_refs.append(_DateRef(from_day.start(), from_day.end(), _fixed(day)))
        s = _blank(s, from_day.start(), from_day.end())
    rel = _IN_RE.search(s)
    if rel is not None:
        delta = _offset(rel)
        if delta >= timedelta(days=7):
            weeks_ahead = now.date() + delta
        if rel["unit"][0] in "hm":  # a clock offset: add real elapsed time, DST-safe
            start = (now.astimezone(UTC) + delta).astimezone(now.tzinfo)
            start = start.replace(second=0, microsecond=0)
            return WhenMention(start, False, True, text[rel.start() : rel.end()])
        extra_refs.append(_DateRef(rel.start(), rel.end(), _fixed(now.date() + delta)))
        s = _blank(s, rel.start(), rel.end())

    clock = _find_clock(s, now.date())
    if clock is not None:
        s = _blank(s, clock.start, clock.end)
    period_m = _PERIOD_RE.search(s)
    period: str | None = None
    if period_m is not None:
        s = _blank(s, period_m.start(), period_m.end())
        period = _PERIODS[next(g for g in period_m.groups()[1:] if g)]
        if clock is not None and PERIOD_REFUSED.search(s, 0, period_m.start()):
            period = None  # "no puedo a la mañana, después de las 4": not 4 in the morning
        if period_m["this"] or period_m["p5"]:  # "esta noche", "tonight" also name today
            extra_refs.append(_DateRef(period_m.start(), period_m.end(), _fixed(now.date())))

    period_at = None if period_m is None else period_m.start()
    refs = _not_refused(s, _collect_dates(s, now, clock, month_first, period_at) + extra_refs)
    if _THE_OTHER_RE.search(s):  # "el lunes que viene no, el otro": a week later
        refs = [_week_later(r) if r.weekday is not None else r for r in refs]
    if weeks_ahead is not None:
        refs = _weekday_of_that_week(refs, weeks_ahead)
    ref = _closest(_not_past(refs, now.date()), clock)
    if clock is None and ref is None:
        return None
    spans = [(x.start, x.end) for x in (clock, ref) if x is not None]
    if period_m is not None and clock is not None:
        spans.append(period_m.span())  # "hoy a la tarde a las 6": the period shaped the time
    begin, end = min(a for a, _ in spans), max(b for _, b in spans)
    if clock is None:
        assert ref is not None
        start = _at(now, ref.resolve(None), 0, 0)
    else:
        start = _pick_reading(now, clock, ref, period, opening_hours)
    return WhenMention(start, ref is not None, clock is not None, text[begin:end])


def _pick_reading(
    now: datetime,
    clock: _Clock,
    ref: _DateRef | None,
    period: str | None,
    opening_hours: OpeningHours | None,
) -> datetime:
    """Place the clock time; between h and h+12 let opening hours decide when exactly one fits."""
    options = [_place(now, ref, r) for r in _readings(clock, period)]
    if opening_hours is not None and len(options) > 1:
        fitting = [dt for dt in options if _is_open(opening_hours, dt)]
        if len(fitting) == 1:
            return fitting[0]
    return options[0]


def extract_weekday(text: str) -> int | None:
    """Weekday named in `text` (0=Monday), e.g. "¿abren el sábado?" -> 5; None if none."""
    days = extract_weekdays(text)
    return days[0] if days else None


def extract_weekdays(text: str) -> list[int]:
    """Every weekday named, in order, once each ("¿atienden el lunes o el domingo?" ->
    [0, 6]); "el fin de semana" / "the weekend" names Saturday and Sunday."""
    folded = _fold(text)
    found: list[int] = []
    for m in _WEEKDAY_RE.finditer(folded):
        if m["wd"] not in _NEEDS_MODIFIER or m["mod"] is not None:
            found.append(_WEEKDAY_WORDS[m["wd"]])
    if _WEEKEND_RE.search(folded):
        found += [5, 6]
    return list(dict.fromkeys(found))
