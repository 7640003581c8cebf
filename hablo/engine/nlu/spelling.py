"""Chat spelling: the words customers type on a phone, read as the words they mean.

"kiero un turno pa korte el juebes" is how many customers write: sound-alike letters
(b/v, c/s/z, c/k/qu, a silent h, ll/y), chat shorthand ("q", "xq", "tmb", "mñn") and
one slip of a finger. Every reader downstream (intent, dates, services, the booking
flow) matches words exactly or nearly, so the message is respelled once, at the start
of the turn, against a closed vocabulary: the words that carry a booking (days, months,
times of day, "turno", "quiero") and the tenant's own service words. A word is only
replaced when it is not itself a vocabulary word and exactly one vocabulary word sounds
like it (or, for long words, is one keystroke away): a name or an address that sounds
like nothing we know is left alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from hablo.engine.nlu.text import normalize

# Whole-word shorthand of Spanish and English chat.
_SHORTHAND: dict[str, str] = {
    "q": "que", "k": "que", "ke": "que", "qe": "que", "xq": "porque", "pq": "porque",
    "porq": "porque", "xk": "porque", "x": "por", "tb": "también", "tmb": "también",
    "tbn": "también", "tambn": "también", "d": "de", "xfa": "por favor",
    "xfavor": "por favor", "porfa": "por favor", "porfis": "por favor", "plis": "por favor",
    "ola": "hola", "mñn": "mañana", "mñna": "mañana", "mnn": "mañana", "maniana": "mañana",
    "dsp": "después", "dps": "después", "desp": "después", "bn": "bien", "kiero": "quiero",
    "qiero": "quiero", "qero": "quiero", "kisiera": "quisiera", "aki": "aquí", "grax": "gracias",
    "grs": "gracias", "grcs": "gracias", "graciass": "gracias", "kuanto": "cuánto",
    "cuant": "cuánto", "cnt": "cuánto", "trno": "turno", "tno": "turno",
    "pls": "please", "plz": "please", "thx": "thanks", "thnx": "thanks", "ty": "thank you",
    "ur": "your", "tmrw": "tomorrow", "tmr": "tomorrow",
    "lune": "lunes", "marte": "martes", "miercole": "miércoles", "jueve": "jueves",
    "vierne": "viernes", "sabdo": "sábado", "sab": "sábado", "cote": "corte",
    "bierne": "viernes", "juebe": "jueves", "sabad": "sábado", "miercol": "miércoles",
    "honorarios": "honorarios", "arancel": "arancel",
    "tmrow": "tomorrow", "tomorow": "tomorrow", "2moro": "tomorrow", "2morrow": "tomorrow",
    "wensday": "wednesday", "wendsday": "wednesday",
    "appt": "appointment", "wanna": "want to", "gonna": "going to",
}  # fmt: skip


def _words(*lines: str) -> list[str]:
    return " ".join(lines).split()


# Days and months: a slip of a finger in one of these is still that day.
_CALENDAR = _words(
    "lunes martes miércoles jueves viernes sábado domingo enero febrero marzo abril mayo "
    "junio julio agosto septiembre octubre noviembre diciembre monday tuesday wednesday "
    "thursday friday saturday sunday january february april june july august september "
    "october november december tomorrow",
)
# Words a booking conversation hangs on (Spanish: the language people misspell by sound).
_VOCABULARY = _CALENDAR + _words(
    "mañana tarde noche mediodía hoy hora horas hasta hola gracias quiero quisiera necesito",
    "turno turnos cita citas reservar reserva reservame cancelar cancelo cancelá precio",
    "precios cuánto cuesta "
    "semana próximo próxima después ahora favor bueno buenas buenos días también horario "
    "horarios abren cierran dirección ubicados hacen haces tienen tienes tenés lugar "
    "disponible reservo reservá reservas cancela cancele",
)

# "10ish", "10-ish": about ten o'clock.
_ISH = re.compile(r"\b(\d{1,2})\s?-?ish\b", re.IGNORECASE)
# A word of letters only, not part of "2x1" or "m2".
_LETTER_WORD = re.compile(r"(?<!\w)[^\W\d_]+(?!\w)", re.UNICODE)


def sound_key(word: str) -> str:
    """How a Spanish word sounds, roughly: the letters people swap share a key."""
    w = normalize(word, keep_enye=True)
    w = w.replace("ch", "\1").replace("qu", "k").replace("ll", "y")
    w = re.sub(r"c(?=[ei])", "s", w)
    w = w.replace("c", "k").replace("z", "s").replace("v", "b").replace("h", "")
    w = w.replace("\1", "ch")
    w = re.sub(r"(.)\1+", r"\1", w)
    return re.sub(r"y$", "i", w)


def _one_slip(a: str, b: str) -> bool:
    """One letter changed, added, dropped, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i, j = diff[0], diff[-1]
        return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


# Chat shorthand with a digit in it, which the letter-word pass never sees.
_DIGIT_SHORTHAND = {"b4": "before", "2day": "today", "2nite": "tonight", "2night": "tonight"}
_DIGIT_SHORTHAND_RE = re.compile(r"(?<!\w)(?:b4|2day|2nite|2night)(?!\w)", re.IGNORECASE)
_LONE_K = re.compile(r"\s*k+\s*[.!]*\s*", re.IGNORECASE)


class Speller:
    """Respells a message against the built-in vocabulary and `extra_words` (a tenant's
    service words). A near miss (one keystroke) is only read for the calendar and the
    tenant's words: among everyday words it would turn "tienes" into "tienen".
    Immutable; `respell` is cached."""

    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        # Short names are often English ("lash", "hair") and would catch Spanish words
        # by sound ("las"); five letters and up they are distinct enough.
        extra = [w for w in extra_words if len(w) >= 5 and w.isalpha()]
        known: dict[str, str] = {}
        for word in (*_VOCABULARY, *extra):
            known.setdefault(normalize(word, keep_enye=True), word)
        self._known = known
        by_key: dict[str, set[str]] = {}
        for norm in known:
            by_key.setdefault(sound_key(norm), set()).add(norm)
        self._by_key = by_key
        self._long = [
            n for n in (normalize(w, keep_enye=True) for w in (*_CALENDAR, *extra)) if len(n) >= 6
        ]
        self.respell = functools.lru_cache(maxsize=2048)(self._respell)

    def _respell(self, text: str) -> str:
        if _LONE_K.fullmatch(text):
            return text  # "k" alone is an "ok" (in English and in Spanish chat), no "que"
        text = _DIGIT_SHORTHAND_RE.sub(lambda m: _DIGIT_SHORTHAND[m[0].lower()], text)
        return _LETTER_WORD.sub(self._word, _ISH.sub(r"around \1", text))

    def _word(self, match: re.Match[str]) -> str:
        token = match.group(0)
        norm = normalize(token, keep_enye=True)
        joined = match.string[match.end() : match.end() + 1] == "-"
        if norm in _SHORTHAND and not joined:  # "x-rays" is no "por-rays"
            return _SHORTHAND[norm]
        if len(norm) < 4 or norm in self._known:
            return token
        alike = self._by_key.get(sound_key(norm), set())
        if len(alike) == 1:
            return self._known[next(iter(alike))]
        if not alike and len(norm) >= 6:
            near = [n for n in self._long if _one_slip(norm, n) and norm not in (n + "s", n + "es")]
            if len(near) == 1:
                return self._known[near[0]]
        return token
