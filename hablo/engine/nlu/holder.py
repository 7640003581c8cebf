"""The name a booking is under, when the customer gives one: "a nombre de Juan Pérez",
"se llama Rosa" (of the person booked for), "under the name Smith", "her name is Ana".
The business sees it on the booking; the bot does not need it to book."""

from __future__ import annotations

import re

from hablo.engine.nlu.text import normalize

_LEADS = re.compile(
    r"\b(?:a nombre de|al nombre de|bajo el nombre de|ponelo a nombre de|anotalo a nombre de"
    # (not "me llamo José", "my name is": an introduction, with or without a booking)
    r"|se llama|su nombre es|el nombre es"
    r"|under the name(?: of)?|in the name(?: of)?|(?:her|his|their) name is|the name is"
    r"|the name s)\s+"
    r"(?P<name>[a-zñ][a-zñ'-]*(?:\s+[a-zñ][a-zñ'-]*)?)\s*[.!]*$"
)
# Words that follow the leads but are no name: "soy nuevo", "it's for my daughter".
_NOT_NAMES = frozenset(
    {
        *("nuevo", "nueva", "cliente", "clienta", "yo", "el", "ella", "mi", "la", "de", "del"),
        *("un", "una", "es", "para", "por", "tuyo", "tuya", "suyo", "suya", "alguien"),
        *("my", "me", "a", "an", "the", "new", "him", "her", "them", "someone"),
        # what else follows "se llama…", "the name is…": "igual", "wrong", a day
        *("igual", "asi", "bien", "mal", "distinto", "wrong", "right", "different", "fine"),
        *("hoy", "manana", "today", "tomorrow", "tonight", "kids", "ninos", "adults"),
        *("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo"),
        *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    }
)


def holder_name(text: str) -> str | None:
    """The name given for the booking, capitalised as names are; None when none is."""
    text = "".join(ch for ch in text if ch.isprintable())  # a NUL is no letter of a name
    found = _LEADS.search(normalize(text, keep_enye=True))
    if found is None:
        return None
    words = found["name"].split()
    if words[0] in _NOT_NAMES or any(w in _NOT_NAMES for w in words[1:]):
        return None
    # As the customer wrote it (accents, capitals), else capitalised.
    written = {normalize(w, keep_enye=True): w for w in re.findall(r"[\w'-]+", text)}
    return " ".join(_as_name(written.get(w, w)) for w in words)


def _as_name(word: str) -> str:
    return word.capitalize() if word.islower() else word
