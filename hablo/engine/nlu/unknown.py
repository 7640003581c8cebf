"""Questions about something the business has not told us: a service it does not offer
("¿hacen alisado?") or a fact it never gave ("¿tienen estacionamiento?").

The classifier maps such questions onto the nearest intent it knows (alisado → the price
list, estacionamiento → the address), which disguises "I don't know" as an answer. Read
by rule instead: a "do you do / have / accept X?" question whose X is not a service in
the catalogue and not something another skill answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hablo.engine.nlu.services import ServiceMatcher
from hablo.engine.nlu.text import plain
from hablo.plugins.sdk import ServiceInfo

NOT_OFFERED = "not_offered"
UNKNOWN_FACT = "unknown_fact"

_LEAD = (
    r"^(?:(?:hola|buenas|buen dia|buenas tardes|hi|hello|hey|una consulta|consulta|pregunta)"
    r"\s+)*"
)
# Verbs that ask about a service ("¿hacen X?", "do you do X?").
_SERVICE_RE = re.compile(
    _LEAD + r"(?:ustedes\s+|ahi\s+)?(?:tambien\s+)?"
    r"(?:hacen|haces|hace|haceis|realizan|realizas|realizais|ofrecen|ofreces|ofreceis"
    r"|trabajan\s+con|trabajan"
    r"|me\s+(?:pueden|podes|puedes|puede)\s+hacer|se\s+puede\s+hacer|puedo\s+hacerme"
    r"|do\s+you\s+(?:guys\s+)?(?:do|offer|provide)|can\s+you\s+do|can\s+i\s+get|do\s+you\s+guys\s+do)"
    r"\s+(?:tambien\s+|also\s+)?(?P<thing>.+)$"
)
# Verbs that ask about a fact ("¿tienen X?", "¿aceptan X?", "do you have X?").
_FACT_RE = re.compile(
    _LEAD + r"(?:ustedes\s+|ahi\s+)?"
    r"(?:tienen|tenes|tienes|tiene|teneis|hay|aceptan|aceptas|acepta|aceptais|toman"
    r"|cobran\s+con|se\s+puede|venden|vendes|vende|vendeis|do\s+you\s+sell|are\s+you\s+hiring"
    r"|atienden\s+(?:por|con)|atiende\s+(?:por|con)|atendes\s+(?:por|con)|cubren|reciben"
    r"|estan\s+buscando|buscan"
    r"|puedo|se\s+permite|dejan|is\s+there|are\s+there|do\s+you\s+(?:have|accept|take|allow)"
    r"|can\s+i|are\s+you|is\s+it)"
    r"\s+(?P<thing>.+)$"
)
# Things other skills answer: leave those questions to the classifier.
_KNOWN = re.compile(
    r"\b(?:turnos?|citas?|lugar|lugares|espacio|disponib\w*|horarios?|hora|abiert\w*|abren"
    r"|precios?|cuanto|direccion|donde|ubica\w*|local|appointments?|slots?|availability"
    r"|open|hours|prices?|address|location|persona|humano|alguien|person|human|agent"
    r"|pagar|pago|link|reserva\w*|book\w*|cancel\w*|today|hoy|manana|tomorrow)\b"
)
# "¿puedo ir sin turno?", "do you take walk-ins?": about booking, but not a booking.
_WALK_IN = re.compile(
    r"\b(?:sin turno|sin cita|sin reserva|sin sacar turno|walk ?-?ins?"
    r"|without an? (?:appointment|booking))\b"
)
# "¿cuánto sale el alisado?", "how much is a perm?": a price of something.
_PRICE_OF_RE = re.compile(
    r"(?:cuanto\s+(?:sale|salen|cuesta|cuestan|vale|valen|cobran(?:\s+por)?|esta|estan)"
    r"|precio\s+(?:de|del)|how\s+much\s+(?:is|are|for|does|do\s+you\s+charge\s+for)"
    r"|price\s+(?:of|for)|what\s+does)\s+(?P<thing>.+)$"
)
# Words that ask for the list, or point back, not at a thing.
_GENERIC = re.compile(
    r"^(?:(?:el|la|los|las|un|una|a|an|the)\s+)?(?:todo|todos|cada|cada uno|servicios?|lista"
    r"|precios?|eso|esto|ese|esa|it|that|this|each|everything|all|them|one|cost|it cost"
    r"|a turno|el turno|la cita|an appointment|the service)\b"
)
_ARTICLES = re.compile(r"^(?:el|la|los|las|un|una|unos|unas|algun|alguna|the|a|an|any|some)\s+")
_MAX_THING_WORDS = 6
_INFINITIVE = re.compile(r"^\w{2,}(?:ar|er|ir)(?:lo|la|los|las|me|le)?\b")


@dataclass(frozen=True)
class UnknownAsk:
    kind: str  # NOT_OFFERED | UNKNOWN_FACT
    thing: str  # as the customer wrote it, trimmed


def unknown_ask(text: str, matcher: ServiceMatcher) -> UnknownAsk | ServiceInfo | None:
    """What a "do you do / have X?" question asks about: a known service (the service),
    something unknown (an UnknownAsk), or None when the message is no such question.
    Each sentence is read on its own ("are you hiring? I'm a hairdresser…")."""
    for sentence in re.split(r"[?¿!¡.;\n]+", text):
        norm = plain(sentence)
        found = _ask_in(norm, sentence, matcher) if norm else None
        if found is not None:
            return found
    return None


def _ask_in(norm: str, sentence: str, matcher: ServiceMatcher) -> UnknownAsk | ServiceInfo | None:
    walk_in = _WALK_IN.search(norm)
    if walk_in is not None:
        return UnknownAsk(UNKNOWN_FACT, walk_in.group(0))
    price_of = _PRICE_OF_RE.search(norm)
    if price_of is not None:
        thing = _ARTICLES.sub("", price_of["thing"]).strip()
        unknown = thing and not _GENERIC.match(thing) and not _KNOWN.search(thing)
        # "teñirme" names Coloración; "limpieza" names two cleanings: known either way.
        named = bool(matcher.find(thing) or matcher.find(sentence) or matcher.by_name_words(thing))
        if unknown and not named and len(thing.split()) <= _MAX_THING_WORDS:
            # "¿cuánto sale cambiar la transmisión?": a job described, not a service named;
            # say it is not known (and offer a person) rather than "we don't do" it.
            kind = UNKNOWN_FACT if _INFINITIVE.match(thing) else NOT_OFFERED
            return UnknownAsk(kind, thing)
        return None
    for pattern, kind in ((_SERVICE_RE, NOT_OFFERED), (_FACT_RE, UNKNOWN_FACT)):
        found = pattern.match(norm)
        if found is None:
            continue
        thing = _ARTICLES.sub("", found["thing"]).strip()
        if not thing or len(thing.split()) > _MAX_THING_WORDS or _KNOWN.search(thing):
            return None
        service = matcher.find(thing)
        if service is not None:
            return service
        if matcher.by_name_words(thing):
            return None  # one of several services ("¿hacen limpiezas?"): not unknown
        return UnknownAsk(kind, thing)
    return None


# A question of its own ("¿qué marca de tintura usan?", "¿con cuánta anticipación tengo
# que avisar?", "what brand of dye do you use?"): asked, not said in passing.
_QUESTION_WORD = re.compile(
    r"^(?:(?:hola|buenas|buen dia|hi|hello|hey|disculpa|disculpe|una pregunta|una consulta)\s+)*"
    r"(?:que|como|cuando|donde|cual|cuales|quien|quienes|cuanto|cuanta|cuantos|cuantas|con que"
    r"|con cuanta|con cuanto|hay|tienen|tenes|puedo|se puede|me pasas|me pasan|me das|pueden"
    r"|what|how|when|where|which|who|whats|can|could|do|does|is|are|will|should)\b"
)


def open_question(text: str) -> bool:
    """A real question (a question word or a "?", four words or more) that nothing else
    understood: the bot does not know, and says so, rather than "I didn't get that"."""
    norm = plain(text)
    if len(norm.split()) < 4:
        return False
    return bool(_QUESTION_WORD.match(norm)) or text.rstrip().endswith("?")
