"""Questions about timing around a visit that are neither a day nor a time:
- how far ahead one must (or can) book: "¿con cuánta anticipación tengo que reservar?",
  "how far in advance do I need to book?" (the booking rules answer it);
- how early to arrive: "¿cuánto antes tengo que llegar?", "how early should I get
  there?" (nothing in the business's data says; a person can)."""

from __future__ import annotations

import re

from hablo.engine.nlu.tentative import CHANGE_WORDS
from hablo.engine.nlu.text import plain

_BOOK = (
    r"(?:reservar|sacar|pedir|agendar|hacer|book|schedule|make)\w*"
    r"(?: (?:el |un |una |an )?(?:turno|cita|hora|reserva|appointment|booking))?"
)
_NOTICE = re.compile(
    r"\b(?:"
    # "¿con cuánta anticipación tengo que reservar?", "cuánto antes hay que sacar turno"
    # (not "¿con cuánta anticipación tengo que avisar si no puedo ir?": the cancel terms)
    r"(?:(?:con )?(?:cuanta|que) (?:anticipacion|antelacion)"
    r"|(?:cuanto|cuantos dias|cuantas horas|cuanto tiempo) (?:antes|de anticipacion|de antelacion))"
    r" (?:\w+ )?(?:tengo que|hay que|debo|se puede|puedo|tendria que|conviene) "
    + _BOOK
    + r"|(?:how far|how long|how much|how many days|how soon) (?:in advance|ahead|beforehand"
    r"|notice)(?: (?:do|should|can|must) (?:i|we|you) (?:need to )?" + _BOOK + r")?"
    r"|how (?:early|far out|far ahead) (?:do|should|can|must) (?:i|we|you) (?:need to )?"
    + _BOOK
    + r"|(?:can|could) (?:i|we) "
    + _BOOK
    + r" (?:on )?(?:the same day|same day|last minute)"
    r"|(?:se puede|puedo|podes) " + _BOOK + r" (?:en el|para el) (?:mismo dia|dia)"
    r")"
)
_ARRIVE = re.compile(
    r"\b(?:"
    # "¿cuánto (tiempo) antes tengo que llegar?", "¿tengo que llegar antes?"
    r"(?:cuanto|cuantos minutos|con cuanto tiempo|con cuanta anticipacion|cuanto tiempo)"
    r" (?:antes )?(?:de anticipacion )?(?:tengo que|hay que|debo|tendria que|conviene|deberia)"
    r" (?:llegar|estar|ir|presentarme)"
    r"|(?:tengo que|hay que|debo|deberia|conviene) (?:llegar|estar|presentarme)"
    r" (?:un (?:rato|poco) |unos minutos |con tiempo |)antes"
    r"|how (?:early|soon|long before|long beforehand|much before|much beforehand)"
    r" (?:do|should|must|shall) (?:i|we) (?:arrive|get there|come"
    r"|be there|turn up|show up)"
    r"|(?:should|do|must) (?:i|we) (?:arrive|get there|come|be there|turn up|show up)"
    r" (?:a (?:bit|few minutes|little) )?early"
    r")\b"
)


# "how much notice do you need for cancellations?", "how far in advance do I need to
# cancel?": the cancel terms, which the booking window does not answer.
_OTHER_TERMS = re.compile(rf"\b(?:{CHANGE_WORDS}|avis\w*)")


def asks_booking_notice(text: str) -> bool:
    """How far ahead a visit must or can be booked."""
    norm = plain(text)
    return (
        _NOTICE.search(norm) is not None
        and _OTHER_TERMS.search(norm) is None
        and _ARRIVE.search(norm) is None
    )


def asks_arrival_time(text: str) -> bool:
    """How early to arrive before the appointment."""
    return _ARRIVE.search(plain(text)) is not None
