"""What a customer takes back in the same message is not read: "no quiero corte, quiero
barba", "not balayage, just a blowout", "mañana no, pasado a las 10", "a las 10 no, a las
11 perdón". Every reader of the turn (services, dates, times, the booking's own reading)
would otherwise find both the word taken back and the one meant, and book both or the
wrong one. The taken-back words are cut from the text the turn reads; the transcript keeps
what the customer wrote.

Only shapes that cannot be read another way are cut: a negated wish followed by a new
one, an English "not X," opening a clause, and a day or time said, denied with "no" and
replaced at once by another day or time ("mañana no puedo" and "a las 10 no puedo" are
left alone: what follows "no" is not a day or a time).

Services are cut the same way, where the catalogue says the words are a service's name
and another service is still named: "barba, no, corte" (the first taken back), "era barba
no corte", "a blow dry not a manicure", "corte sin barba", "scratch the beard, just the
haircut" (the one after the "no" taken back). "no sé", "no hay", "¿no tienen barba?" are
left alone: what follows their "no" is no service's name. After "sin", "without",
"scratch" no other service is needed ("no, sin barba" to a proposal of "corte y barba").
The names cut are told (`services_taken_back`): "barba, no corte" right after booking a
haircut changes that booking (skills/booking/again.py).
"""

from __future__ import annotations

import re
from typing import Protocol

_SORRY = (
    r"(?:perd[oó]n|perdona|perdone|disculp\w*|sorry|mejor|digo|quise decir|i mean|wait"
    r"|esper[aá]|actually)"
)
# "no, perdón,": the words that take back what was just said. A bare "no" between two
# days reads the other way round ("era para el viernes no mañana": Friday, not tomorrow),
# so it takes back only with a comma after it ("mañana no, pasado"), an apology after it
# ("tomorrow, no sorry, the day after") or one closing the message ("a las 10 no a las 11
# perdón").
_DENIAL = rf"\s*,?\s*no\b(?:\s*,\s*(?:{_SORRY}\s*,?\s*)?|\s+{_SORRY}\s*,?\s*)"
_BARE_DENIAL = rf"\s*,?\s*no\b\s*,?\s*(?:{_SORRY}\s*,?\s*)?"
_SORRY_LAST = re.compile(rf"\b{_SORRY}\W*$", re.IGNORECASE)

# "no quiero corte, quiero barba": a negated wish, then the wish meant.
_NOT_WANTED = re.compile(
    r"\bno\s+(?:quiero|quisiera|necesito|busco|me hagas|me hag[aá]s)\s+[^,.;!?]+?\s*[,.;]?\s*"
    r"(?=(?:quiero|quisiera|necesito|prefiero|mejor|sino|s[oó]lo|solamente|dame|hac[eé]me"
    r"|haceme|pero)\b)",
    re.IGNORECASE,
)
# "not balayage, just a blowout": "not" opening a clause, then what is meant.
_NOT_THIS = re.compile(
    r"(?:^|(?<=[,.;!?:]))\s*not\s+(?!sure\b|yet\b|now\b|really\b)"
    r"[^,.;!?]+?(?:\s*[,;]\s*|\s+but\s+)(?=\S)",
    re.IGNORECASE,
)
_WEEKDAYS_ES = r"lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo"
_WEEKDAYS_EN = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_DAY = (
    rf"(?:pasado\s+ma[nñ]ana|ma[nñ]ana|hoy|(?:el\s+)?(?:{_WEEKDAYS_ES})"
    rf"|the day after tomorrow|tomorrow|today|(?:on\s+)?(?:{_WEEKDAYS_EN}))"
)
_NEXT_DAY = (
    rf"(?=(?:pasado|el\s+(?:{_WEEKDAYS_ES})|{_WEEKDAYS_ES}|ma[nñ]ana|hoy|the day after"
    rf"|tomorrow|today|on\s+|{_WEEKDAYS_EN})\b)"
)
_TIME = (
    r"(?:a\s+las?\s+\d{1,2}(?:[:.]\d{2})?(?:\s+y\s+(?:media|cuarto))?"
    r"|at\s+\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm)?)"
)
_NEXT_TIME = r"(?=(?:a\s+las?\s+\d|at\s+\d|\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|hs)?\b))"


def _taken_back(said: str, then: str, denial: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?P<said>{said}){denial}{then}", re.IGNORECASE)


# "mañana no, pasado a las 10", "tomorrow, no sorry the day after"; "a las 10 no, a las 11".
# (The second of each pair: a bare "no", for a message that ends with an apology.)
_DAY_TAKEN_BACK = (
    _taken_back(_DAY, _NEXT_DAY, _DENIAL),
    _taken_back(_DAY, _NEXT_DAY, _BARE_DENIAL),
)
_TIME_TAKEN_BACK = (
    _taken_back(_TIME, _NEXT_TIME, _DENIAL),
    _taken_back(_TIME, _NEXT_TIME, _BARE_DENIAL),
)
# What is left of "mañana no, pasado" and "tomorrow, no, the day after".
_BARE_PASADO = re.compile(r"\bpasado\b(?!\s+ma[nñ]ana)", re.IGNORECASE)
_BARE_DAY_AFTER = re.compile(r"\bthe day after\b(?!\s+tomorrow)", re.IGNORECASE)


class Catalogue(Protocol):
    """What the cut needs of the tenant's services (engine/nlu/services.py)."""

    def find(self, text: str) -> object | None: ...

    def only_names(self, phrase: str) -> bool: ...


# "no corte", "no era corte", "not a manicure", "sin barba", "scratch the beard": what
# follows is dropped. A "no" or "not" only where another service is named ("no sé", "not
# sure"); "sin", "without", "scratch" say it alone ("no, sin barba" to "corte y barba?").
_DROPPED = re.compile(
    r"(?<![\w'])(?:(?P<no>no(?:\s+(?:era|eran|es|quer[ií]a|quise))?|not)|sin|without|minus"
    r"|scratch|drop|skip|remove|forget(?:\s+about)?"
    r"|sac[aá]le|quit[aá]le|olv[ií]date\s+de)\s+(?=\w)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_][\w'-]*")
# Words of one clause (a service's name is at most this long).
_NAME_WORDS = 5


def _words_after(text: str, at: int) -> list[re.Match[str]]:
    """The words from `at` to the end of their clause."""
    clause = re.match(r"[^,.;:!?¿¡()]*", text[at:])
    found = _WORD.finditer(text, at, at + (clause.end() if clause else 0))
    return list(found)[:_NAME_WORDS]


def _words_before(text: str, at: int) -> list[re.Match[str]]:
    """The words from the start of their clause to `at`."""
    start = max(text.rfind(c, 0, at) for c in ",.;:!?¿¡()") + 1
    return list(_WORD.finditer(text, start, at))[-_NAME_WORDS:]


def _cut(text: str, start: int, end: int) -> str:
    rest = text[end:].lstrip(" ,")
    return (text[:start] if rest else text[:start].rstrip(" ,")) + " " + rest


def _drops(text: str, names: Catalogue) -> list[tuple[re.Match[str], int]]:
    """Each drop word followed by a service's name, with where that name ends."""
    found = []
    for drop in _DROPPED.finditer(text):
        words = _words_after(text, drop.end())
        for size in range(len(words), 0, -1):
            end = words[size - 1].end()
            # "Depilación sin cera" names a service with its "sin": nothing is dropped.
            if names.only_names(text[drop.end() : end]):
                if not names.only_names(text[drop.start() : end]):
                    found.append((drop, end))
                break
    return found


# Services are taken back in short messages; a long one is read as said, so a hostile
# "corte no barba, no barba, …" cannot make each cut rescan thousands of characters.
MAX_SERVICE_CUTS = 4
MAX_CUT_TEXT = 400


def dropped_names(text: str, names: Catalogue) -> list[str]:
    """The services' names a message drops ("sin barba", "without the beard"), also
    where nothing else is said and so nothing is cut."""
    if len(text) > MAX_CUT_TEXT:
        return []
    return [text[drop.end() : end] for drop, end in _drops(text, names) if not drop["no"]]


def _dropped_service(text: str, names: Catalogue, gone: list[str]) -> str:
    """ "era barba no corte", "no beard, just the cut", "corte sin barba", "no, sin
    barba": the service after the "no" goes, when the rest still names one (after "sin",
    "without", "scratch": when something is left). Its name is added to `gone`."""
    if len(gone) >= MAX_SERVICE_CUTS or len(text) > MAX_CUT_TEXT:
        return text
    for drop, end in _drops(text, names):
        rest = _cut(text, drop.start(), end)
        left = names.find(rest) is not None or (not drop["no"] and _WORD.search(rest))
        if left:
            gone.append(text[drop.end() : end])
            return _dropped_service(rest, names, gone)
    return text


def _denied_service(text: str, names: Catalogue, gone: list[str]) -> str:
    """ "barba, no, corte", "kapping no, perdón, semi": the service before the "no" goes,
    when a service is said after it. Its name is added to `gone`."""
    if len(gone) >= MAX_SERVICE_CUTS or len(text) > MAX_CUT_TEXT:
        return text
    for denial in re.finditer(_DENIAL, text, re.IGNORECASE):
        words = _words_before(text, denial.start())
        for first in range(len(words)):
            start = words[first].start()
            if names.only_names(text[start : denial.start()]):
                rest = text[denial.end() :]
                if names.find(rest) is not None:
                    gone.append(text[start : denial.start()])
                    return _denied_service(text[:start] + rest, names, gone)
                break
    return text


def services_taken_back(text: str, names: Catalogue) -> list[str]:
    """The names of the services `text` takes back ("era barba no corte": ["corte"])."""
    gone: list[str] = []
    _dropped_service(_denied_service(text, names, gone), names, gone)
    return gone


def without_taken_back(text: str, names: Catalogue | None = None) -> str:
    """The message without what its writer took back in it (see the module's doc);
    services only with `names`, the tenant's catalogue."""
    which = 1 if _SORRY_LAST.search(text) else 0
    cut = _NOT_WANTED.sub("", text)
    cut = _NOT_THIS.sub(" ", cut)
    cut = _TIME_TAKEN_BACK[which].sub("", cut)
    day = _DAY_TAKEN_BACK[which].search(cut)
    if day is not None:
        said = day.group("said").casefold()
        rest = cut[day.end() :]
        if said.startswith(("mañana", "manana")):  # "mañana no, pasado": pasado mañana
            rest = _BARE_PASADO.sub("pasado mañana", rest, count=1)
        elif said == "tomorrow":
            rest = _BARE_DAY_AFTER.sub("the day after tomorrow", rest, count=1)
        cut = cut[: day.start()] + rest
    if names is not None:
        cut = _dropped_service(_denied_service(cut, names, []), names, [])
    return " ".join(cut.split()) if cut != text else text
