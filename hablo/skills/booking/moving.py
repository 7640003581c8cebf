"""Reading a reschedule that names a service the booking held is not ("quiero pasar el
viernes a las 10 para el brushing" holding a haircut): whether the message points at the
booking held, and the answer to "¿turno aparte o cambiás el que tenés?"."""

from __future__ import annotations

import re

from hablo.engine.nlu.acts import means_own_booking
from hablo.engine.nlu.text import plain
from hablo.skills.booking.reading import option_index

# "cambiame el turno", "pasalo al viernes", "move it", "change the appointment": the
# booking held itself is what the customer wants changed ("pasar" alone is dropping in).
_THE_BOOKING_RE = re.compile(
    r"\b(?:(?:el|ese|este) turno|(?:la|esa|esta) (?:cita|reserva|hora)"
    r"|(?:cambi|pas|mov|corr|reprogram|adelant|atras)\w*(?:lo|la|melo|mela|noslo)"
    r"|(?:the|that|this) (?:appointment|booking|reservation|slot)"
    r"|(?:move|change|switch|push|reschedule|swap) (?:it|that|this)"
    r"|(?:reschedule|reprogramar|reprogramame))\b"
)
# The answer: a booking of its own ("aparte", "otro", "the new one", "both") ...
_APART_RE = re.compile(
    r"\b(?:aparte|otro|otra|nuev[oa]|ademas|tambien|los dos|las dos|ambos|ambas|sumar\w*"
    r"|agreg\w*|another|new|separate\w*|extra|as well|too|also|both|additional|add\w*)\b"
)
# ... or the one held becomes the service named ("cambialo", "en vez del corte").
_CHANGE_RE = re.compile(
    r"\b(?:cambi\w*|reemplaz\w*|en vez|en lugar|sustitu\w*|change\w*|switch\w*|swap\w*"
    r"|replace\w*|instead)\b"
)
NEW, CHANGE = "new", "change"


def points_at_booking(text: str) -> bool:
    """Whether a message speaks of the booking held ("cambiame el turno …", "mi cita",
    "move my appointment") rather than of coming in ("¿puedo pasar el viernes?")."""
    return means_own_booking(text) or bool(_THE_BOOKING_RE.search(plain(text)))


def new_or_change(text: str) -> str | None:
    """The answer to "¿un turno aparte para Brushing, o cambio tu Corte por Brushing?"
    (asked in that order): NEW, CHANGE, or None when it says neither (or both)."""
    index = option_index(text, 2)
    if index is not None:
        return NEW if index == 1 else CHANGE
    norm = plain(text)
    apart, change = bool(_APART_RE.search(norm)), bool(_CHANGE_RE.search(norm))
    if apart == change:
        return None
    return NEW if apart else CHANGE
