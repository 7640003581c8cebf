"""Whether the service can be had at a distance: "y online se puede?", "¿atienden por
videollamada?", "do you do online sessions?", "can the lessons be on zoom?". The answer
is the business's own: the services whose names or synonyms say online (a psychologist's
"Sesión online"), or, when none does, that it is not known here (a person can say);
never "we don't do that", which the business never said, nor the price list."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hablo.engine.nlu.acts import QUESTION_OPENERS
from hablo.engine.nlu.text import plain
from hablo.plugins.sdk import ServiceInfo

# Ways of meeting at a distance, as people write them and catalogues name them (plain text).
_REMOTE_WORDS = (
    r"online|on line|en linea|virtual|virtuales|virtualmente|virtually|videollamadas?"
    r"|video ?llamadas?|videoconferencias?|video ?calls?|video chat|por video|via video"
    r"|by video|over video|zoom|google meet|por meet|skype|por teams|on teams|via teams"
    r"|microsoft teams|facetime|remote|remotely|remota|remotas|remotamente|a distancia"
    r"|por internet|over the internet|telemedicina|teleconsultas?|telehealth|telemedicine"
    r"|teleterapia|videoconsultas?|remoto|remotos"
)
_REMOTE = re.compile(rf"\b(?:{_REMOTE_WORDS})\b")
# A service given by phone is had at a distance too (no address to come to), though a
# question "by phone" is about calling the business.
_GIVEN_AT_A_DISTANCE = re.compile(rf"\b(?:{_REMOTE_WORDS}|by phone|por telefono|telefonic\w*)\b")
# What the customer calls the thing had at a distance, kept beside the word when said
# ("online sessions", "clases virtuales") so the reply names it as they did.
_THING = re.compile(
    r"\b(?:(?:sessions?|lessons?|classes?|consultations?|appointments?|therapy|tutoring"
    r"|sesion|sesiones|clases?|consultas?|citas?|terapia|turnos?|atencion)\s+)?"
    rf"(?:por |via |on |by |en )?(?:{_REMOTE_WORDS})"
    r"(?:\s+(?:sessions?|lessons?|classes?|consultations?|appointments?|therapy|tutoring))?\b"
)
# "online" about something else than the service: paying, booking, a shop, reviews.
_OTHER_ONLINE = re.compile(
    r"\b(?:pag\w*|pay\w*|abon\w*|transfer\w*|reserv\w*|book\w*|agend\w*|sacar turno"
    r"|sacar (?:una )?cita|schedul\w*|tienda|store|shop|compr\w*|buy|order\w*|pedid\w*"
    r"|catalog\w*|review\w*|resenas?|opiniones|web|website|pagina|link|enlace|formulario"
    r"|form|check ?in|receta\w*|prescription\w*|resultados?|results?|factura\w*|invoice\w*)\b"
)
# A question, not a statement ("prefiero online" is read by the booking).
_ASKS = re.compile(
    rf"\b(?:{QUESTION_OPENERS}|puede ser|podria|podrian|es posible|hacen|haces|hace|dan|dais"
    r"|ofrecen|atienden|atiendes|atendes|atiende|tienes|trabajan|son"
    r"|do you|do ya|do y all|is it|is there|possible|available|also|tambien"
    r"|or in person|o presencial|presencial)\b"
)


def asks_remote(text: str) -> bool:
    """A question whether the service can be had online or by video call."""
    said = plain(text)
    if _REMOTE.search(said) is None or _OTHER_ONLINE.search(said):
        return False
    return "?" in text or _ASKS.search(said) is not None


def remote_thing(text: str) -> str:
    """What was asked about, in the customer's words ("online sessions", "videollamada")."""
    found = _THING.search(plain(text))
    return found.group(0) if found else ""


def is_remote(service: ServiceInfo) -> bool:
    """A service the business gives at a distance ("Sesión online", "Videoconsulta"): its
    confirmation names no address to come to."""
    phrases = (service.name, *(n for _, n in service.names), *service.synonyms)
    return any(_GIVEN_AT_A_DISTANCE.search(plain(phrase)) for phrase in phrases)


def remote_services(services: Sequence[ServiceInfo]) -> tuple[ServiceInfo, ...]:
    """The services the business names as had at a distance (in any of its languages)."""
    return tuple(s for s in services if is_remote(s))
