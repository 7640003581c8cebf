"""Questions about something the business has not told us: a service it does not offer
("¿hacen alisado?") or a fact it never gave ("¿tienen estacionamiento?").

The classifier maps such questions onto the nearest intent it knows (alisado → the price
list, estacionamiento → the address), which disguises "I don't know" as an answer. Read
by rule instead: a "do you do / have / accept X?" question whose X is not a service in
the catalogue and not something another skill answers.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from hablo.engine.nlu.acts import QUESTION_OPENERS
from hablo.engine.nlu.glossary import GLOSSARY as _GLOSSARY
from hablo.engine.nlu.services import CHILDREN_SERVICE, ServiceMatcher
from hablo.engine.nlu.text import normalize, plain
from hablo.plugins.sdk import ServiceInfo

NOT_OFFERED = "not_offered"
UNKNOWN_FACT = "unknown_fact"

# "do y'all microchip?", "do ya do nails?": you, as people write it (' is read as a space).
_LEAD = (
    r"^(?:(?:hola|buenas|buen dia|buenas tardes|hi|hiya|hello|hey|good (?:morning|afternoon)"
    r"|una consulta|consulta|pregunta|y|and|otra cosa|another thing|also|tambien"
    # asked the long way round: "quería saber si hacen mechas", "I was wondering if you do"
    r"|(?:queria|quisiera|quiero|me gustaria|queriamos) (?:saber|preguntar|consultar)(?: si)?"
    r"|(?:sabes|sabe|saben) si|i (?:wanted|want|would like|d like) to (?:know|ask)(?: if)?"
    r"|i was wondering(?: if)?|(?:do|does) anyone know)\s+)*"
)
# Verbs that ask about a service ("¿hacen X?", "do you do X?").
_SERVICE_RE = re.compile(
    _LEAD + r"(?:ustedes\s+|ahi\s+)?(?:tambien\s+)?"
    r"(?:hacen|haces|hace|haceis|realizan|realizas|realizais|ofrecen|ofreces|ofreceis"
    r"|trabajan"
    r"|me\s+(?:pueden|podes|puedes|puede)\s+hacer|se\s+puede\s+hacer|puedo\s+hacerme"
    r"|(?:do|if|whether)\s+(?:you\s+all|you|y\s?all|ya)\s+(?:guys\s+)?(?:do|offer|provide)"
    r"|can\s+you\s+do|can\s+i\s+get|do\s+(?:you\s+all|you|y\s?all|ya)\s+guys\s+do)"
    r"\s+(?:tambien\s+|also\s+)?(?P<thing>.+)$"
)
# The trade's own verbs ("¿revisan frenos?", "do you trim nails?", "do you microchip?"):
# the verb is part of what is asked. Only a service found answers these; anything else
# is left to the classifier ("do you speak Spanish?" is no service not offered).
_JOB_RE = re.compile(
    _LEAD + r"(?:ustedes\s+|ahi\s+)?(?:tambien\s+)?(?:me\s+|nos\s+)?"
    r"(?:(?P<verb>revisan|cambian|ponen|colocan|arreglan|reparan|cortan|tinen|depilan|vacunan"
    r"|ensenan|dan|dais|sacan|sacais|quitan|atiende|atienden|atendes|atendeis)\s+(?P<object>.+)"
    r"|do\s+(?:you\s+all|you|y\s?all|ya)\s+(?:guys\s+)?(?:also\s+)?(?P<job>(?!(?:do|offer|provide)\b|have|accept|take|allow|sell|know|open|close"
    r"|work|speak|ship|deliver|need|want|mind|think)[a-z]+(?:\s+.+)?))$"
)
# Verbs that ask about a fact ("¿tienen X?", "¿aceptan X?", "do you have X?").
_FACT_RE = re.compile(
    _LEAD + r"(?:ustedes\s+|ahi\s+)?(?:me\s+|nos\s+)?"
    r"(?:tienen|tenes|tienes|tiene|teneis|hay|aceptan|aceptas|acepta|aceptais|toman"
    r"|cobran\s+con|trabaj(?:an|as|ais|a)\s+con|se\s+puede|venden|vendes|vende|vendeis|do\s+(?:you\s+all|you|y\s?all|ya)\s+sell|are\s+you\s+hiring"
    r"|atienden\s+(?:por|con)|atiende\s+(?:por|con)|atendes\s+(?:por|con)|cubren|reciben"
    r"|estan\s+buscando|buscan"
    r"|puedo|se\s+permite|dejan|is\s+there|are\s+there|do\s+(?:you\s+all|you|y\s?all|ya)\s+(?:have|accept|take|allow)"
    r"|can\s+i|are\s+you|is\s+it"
    r"|(?:do|will|would)\s+(?:you\s+all|you|y\s?all|ya)\s+charge|cobran|cobras|cobrais)"
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
    r"|precio\s+(?:de|del)|how\s+much\s+(?:is|are|for|does|do\s+(?:you\s+all|you|y\s?all|ya)\s+charge\s+for)"
    r"|price\s+(?:of|for))\s+(?P<thing>.+)$"
    # "what does a perm cost?" ("what does he need?" asks no price)
    r"|what\s+(?:does|do|would|will)\s+(?P<costing>.+?)\s+(?:cost|run|set me back)\b"
)
# Words that ask for the list, or point back, not at a thing.
_GENERIC = re.compile(
    # "cuánto cuesta y cuándo puedo ir": a second question, not a thing
    r"^(?:y|e|o|and|or|pero|but)\b"
    r"|^(?:(?:el|la|los|las|un|una|a|an|the)\s+)?(?:todo|todos|cada|cada uno|servicios?|lista"
    r"|precios?|eso|esto|ese|esa|esos|esas|it|that|this|each|everything|all|them|they|those"
    r"|these|one|cost|it cost"
    r"|a turno|el turno|la cita|an appointment|the service)\b"
)
# A price reduction asked about: the business never said (a person can).
_DISCOUNT = re.compile(
    r"\b(?:descuentos?|promo\w*|ofertas?|bonos?|paquetes?|packs?|discounts?|deals?|offers?"
    r"|packages?|bundles?|cheaper)\b"
)
# How they see people ("atiende por zoom", "con turno"), read below; not whom.
_HOW_SEEN = re.compile(r"^(?:por|con|en|sin|via|a traves)\b")
# A thing that points back at what the message said before it ("do you do that…").
_POINTS_BACK = re.compile(r"^(?:eso|esto|so|that|this|it|them|those|these)\b")
_ARTICLES = re.compile(r"^(?:el|la|los|las|un|una|unos|unas|algun|alguna|the|a|an|any|some)\s+")
# "¿y hacen pies también?": the thing is "pies", not "pies también".
_ALSO_TAIL = re.compile(r"\s+(?:tambien|too|also|as well|aparte|ademas)$")
_MAX_THING_WORDS = 6
_INFINITIVE = re.compile(r"^\w{2,}(?:ar|er|ir)(?:lo|la|los|las|me|le)?\b")


# Things of the shop's terms, not services of its trade ("¿hacen factura?", "¿hacen
# descuento en efectivo?", "do you do home visits?"): the business never said, so the
# bot does not know; it must not answer "we don't do that".
_TERMS = re.compile(
    r"\b(?:factura\w*|recibos?|comprobantes?|ticket|descuentos?|promo\w*|ofertas?|efectivo"
    r"|tarjetas?|cuotas|transferencias?|mercado\s*pago|garantias?|domicilio|envios?"
    r"|delivery|estacionamiento|wifi|seguros?|obras?\s+sociales?|prepagas?|reintegros?"
    r"|reembolsos?|devoluci\w*|bonos?|vales?|regalo|invoices?|receipts?|discounts?|deals?"
    r"|cash|cards?|installments?|warranty|guarantee|insurance|refunds?|parking|home\s+visits?"
    r"|house\s+calls?|gift|vouchers?|financing|payment\s+plans?|extra|aparte|recargo"
    r"|surcharge|in\s+english|en\s+ingles|in\s+spanish|en\s+espanol|idiomas?|languages?)\b"
)
# The trade's words in the other language: nlu/glossary.py.
_GLOSSARY_RE = re.compile(
    r"\b(?:" + "|".join(sorted(map(re.escape, _GLOSSARY), key=len, reverse=True)) + r")\b"
)
# The glossary's phrases: more precise than any one word of them in the catalogue.
_PHRASE_RE = re.compile(r"\b(?:" + "|".join(re.escape(k) for k in _GLOSSARY if " " in k) + r")\b")
# At most this many spellings of one thing are tried.
_MAX_VARIANTS = 24


@dataclass(frozen=True)
class UnknownAsk:
    kind: str  # NOT_OFFERED | UNKNOWN_FACT
    thing: str  # as the customer wrote it, trimmed


# What a question asks about: a service, several the customer may mean, or an unknown.
Asked = UnknownAsk | ServiceInfo | tuple[ServiceInfo, ...]


def unknown_ask(text: str, matcher: ServiceMatcher) -> UnknownAsk | ServiceInfo | None:
    """What a "do you do / have X?" question asks about: a known service (the service),
    something unknown (an UnknownAsk), or None when the message is no such question or
    asks about one of several services (the classifier reads those)."""
    asked = asked_about(text, matcher)
    return None if isinstance(asked, tuple) else asked


def asked_about(text: str, matcher: ServiceMatcher) -> Asked | None:
    """`unknown_ask`, and several services when the question may mean any of them
    ("¿hacéis uñas?": the manicure and the pedicure; "do you do color?").
    Each sentence is read on its own ("are you hiring? I'm a hairdresser…")."""
    marks = "?" in text
    previous = ""
    for sentence, end in re.findall(r"([^?¿!¡.;\n]+)([?¿!¡.;\n]*)", text):
        norm = plain(sentence)
        # "mi perro necesita limpieza dental, ¿hacen eso?": "eso" is the sentence before
        found = _ask_in(norm, sentence, matcher, before=previous) if norm else None
        previous = sentence
        last = sentence.rsplit(",", 1)[-1]
        if found is None and last != sentence and "?" in end and plain(last):
            # "my dog is really matted, do you charge extra?": the question after the comma
            found = _ask_in(plain(last), last, matcher, before=sentence)
        if (
            marks
            and "?" not in end
            and isinstance(found, UnknownAsk)
            and found.kind == UNKNOWN_FACT
        ):
            continue  # told, not asked: "¿me da una cita para mi niño? tiene fiebre"
        if found is not None:
            return found
    return None


def _ask_in(norm: str, sentence: str, matcher: ServiceMatcher, before: str = "") -> Asked | None:
    """What one sentence asks about; `before`, the sentence it ends (after a comma), is
    what "that" in it points back at."""
    walk_in = _WALK_IN.search(norm)
    if walk_in is not None:
        return UnknownAsk(UNKNOWN_FACT, walk_in.group(0))
    price_of = _PRICE_OF_RE.search(norm)
    if price_of is not None:
        thing = _thing(price_of["thing"] or price_of["costing"], sentence)
        unknown = thing and not _GENERIC.match(thing) and not _KNOWN.search(plain(thing))
        # "teñirme" names Coloración; "limpieza" names two cleanings: known either way.
        named = bool(matcher.find(thing) or matcher.find(sentence) or matcher.by_name_words(thing))
        if named and not _JOB_WORDS.search(thing) and matcher.swapped_name(thing):
            # "how much is A-level biology?" where A-level maths is: not that one's price
            return UnknownAsk(NOT_OFFERED, thing)
        if unknown and not named and len(thing.split()) <= _MAX_THING_WORDS:
            said = _said_otherwise(thing, matcher)
            if said:  # "cuánto sale un secado" at a shop that calls it Blowout
                return said[0] if len(said) == 1 else said
            # "¿cuánto sale cambiar la transmisión?": a job described, not a service named;
            # say it is not known (and offer a person) rather than "we don't do" it.
            kind = UNKNOWN_FACT if _INFINITIVE.match(thing) or _TERMS.search(thing) else NOT_OFFERED
            return UnknownAsk(kind, thing)
        return None
    job = _JOB_RE.match(norm)
    if job is not None:
        thing = _thing(job["object"] or job["job"], sentence)
        swapped = matcher.swapped_name(thing) if thing and not _JOB_WORDS.search(thing) else None
        if swapped and len(thing.split()) <= _MAX_THING_WORDS:
            # "do you teach GCSE physics?" (the verb is in the thing), "¿cortan pelo de gato?"
            return UnknownAsk(NOT_OFFERED, swapped if job["job"] else thing)
        if thing and len(thing.split()) <= _MAX_THING_WORDS:
            # What is done to what must be the service's ("do you groom cats?" is no
            # Full groom (small dog)); the English verb may be the name's ("microchip").
            done_to = " ".join(thing.split()[1:] if job["job"] else thing.split())
            verb = f"{job['verb']} " if job["verb"] else ""  # "sacan muelas": "sacar una muela"
            for found in (
                _service_said(thing, matcher),
                _said_otherwise(thing, matcher),  # "groom big dogs": the large dog's
                _service_said(verb + thing, matcher) if verb else (),
            ):
                if found and not _unsaid(done_to, found, matcher):
                    return found[0] if len(found) == 1 else found
            if _TERMS.search(thing):  # "¿atendéis a domicilio?"
                return UnknownAsk(UNKNOWN_FACT, thing)
            if job["verb"] and job["verb"].startswith("atiend") and not _HOW_SEEN.match(thing):
                # "¿atienden adolescentes?": whom they see, never said here; a person can
                return UnknownAsk(UNKNOWN_FACT, thing)
    for pattern, kind in ((_SERVICE_RE, NOT_OFFERED), (_FACT_RE, UNKNOWN_FACT)):
        match = pattern.match(norm)
        if match is None:
            continue
        thing = _thing(match["thing"], sentence)
        if kind == UNKNOWN_FACT and thing and _DISCOUNT.search(thing):
            # "is there a discount if we book 10 lessons?": its "book" asks no booking
            return UnknownAsk(UNKNOWN_FACT, thing)
        if not thing or len(thing.split()) > _MAX_THING_WORDS or _KNOWN.search(plain(thing)):
            return None
        if kind == NOT_OFFERED and _POINTS_BACK.match(thing):
            # "my dog needs a dental cleaning, do you do that?": the service said before
            return matcher.find(before) if before else None
        if kind == UNKNOWN_FACT and _TERMS.search(thing):
            # "¿aceptan seguro de gastos médicos?": the terms, not the Certificado médico
            return UnknownAsk(UNKNOWN_FACT, thing)
        said = _said_otherwise(thing, matcher) if _PHRASE_RE.search(thing) else ()
        if len(said) == 1:  # "uñas de los pies" is the pedicure, though "uñas" is a name
            return said[0]
        service = matcher.find(thing) or matcher.find(sentence)
        if service is not None and _unsaid(thing, (service,), matcher) and _JOB_WORDS.search(thing):
            # "¿hacen retiro de esculpidas?": a job done to what the service makes, not
            # the service; not known here (a person can say), not its price
            return UnknownAsk(UNKNOWN_FACT, thing)
        if matcher.swapped_name(thing) and not _TERMS.search(thing):
            # "do you do A-level chemistry?" where A-level maths is: not that one's price
            return UnknownAsk(NOT_OFFERED, thing)
        if service is not None:
            return _for_whom(service, thing, matcher)
        if _TERMS.search(thing):  # "¿hacen sesiones en inglés?": the terms, not known
            return UnknownAsk(UNKNOWN_FACT, thing)
        options = matcher.by_name_words(thing)
        if options:  # one of several services ("¿hacen limpiezas?"): those, when the
            # question says no more than they do ("online lessons" is none of the lessons)
            return options[0] if len(options) == 1 else _unless_more(thing, options, matcher)
        said = _said_otherwise(thing, matcher)
        if said:  # "¿hacéis uñas?" (Manicura, Pedicura), "do you do color?" (Balayage…)
            return said[0] if len(said) == 1 else _unless_more(thing, said, matcher)
        return UnknownAsk(UNKNOWN_FACT if _TERMS.search(thing) else kind, thing)
    return None


def _thing(said: str, sentence: str) -> str:
    """What is asked about, without its article, with the ñ the customer wrote ("uñas",
    not "unas", the article "some")."""
    enye = {
        word.replace("ñ", "n"): word
        for word in normalize(sentence, keep_enye=True).split()
        if "ñ" in word
    }
    thing = _ARTICLES.sub("", " ".join(enye.get(w, w) for w in said.split())).strip()
    return _ALSO_TAIL.sub("", thing).strip() or thing


# Jobs done to what a service made or to its object, said beside the service's name
# ("retiro de esculpidas", "arreglo de una uña", "removal of gel nails", "touch-up of").
_JOB_WORDS = re.compile(
    r"\b(?:retiro|retirar|remocion|remover|quitar|sacar|arreglo|arreglar|reparacion|reparar"
    r"|repaso|retoque|mantenimiento|service|removal|remove|repair|fix|fixing|soak off"
    r"|infill|infills|fill|fills|relleno|rellenos)\b"
)
# Words that may be left over when a service is named ("do you cut kids hair?").
_FILLER = frozenset(
    [
        "hair",
        "pelo",
        "cabello",
        "your",
        "my",
        "mi",
        "mis",
        "los",
        "las",
        "del",
        "for",
        "the",
        "of",
        "some",
        "also",
        "too",
        "tambien",
        "again",
        "dog",
        "dogs",
        "puppy",
        "puppies",
        "perro",
        "perros",
        "pet",
        "pets",
        "mascota",
    ]
)
# Who a service is for, when the shop has no children's version ("do you cut kids hair?"
# at a salon with Men's and Women's haircuts): the haircuts are the answer, not "what?".
_FOR_CHILDREN = re.compile(CHILDREN_SERVICE.pattern + r"|\b(?:nen[ea]s?|chiquit\w*|peques?)\b")


def _unsaid(text: str, services: tuple[ServiceInfo, ...], matcher: ServiceMatcher) -> list[str]:
    """The words of `text` that do not name these services, in any language (fillers
    aside)."""
    words = matcher.without_names(text, services).split()
    left = [w for w in words if len(w) > 2 and w not in _FILLER and not _FOR_CHILDREN.fullmatch(w)]
    said = _said_otherwise(" ".join(left), matcher) if left else ()
    return [] if said and set(said) <= set(services) else left


def _unless_more(
    thing: str, options: tuple[ServiceInfo, ...], matcher: ServiceMatcher
) -> tuple[ServiceInfo, ...] | None:
    return None if _unsaid(thing, options, matcher) else options


def _service_said(thing: str, matcher: ServiceMatcher) -> tuple[ServiceInfo, ...]:
    """The services `thing` names, in the catalogue's words or in the other language's."""
    service = matcher.find(thing)
    if service is not None:
        return (_for_whom(service, thing, matcher),)
    return matcher.by_name_words(thing) or _said_otherwise(thing, matcher)


def _for_whom(service: ServiceInfo, thing: str, matcher: ServiceMatcher) -> ServiceInfo:
    """ "do you cut kids hair?": the children's version of the haircut, if there is one."""
    if CHILDREN_SERVICE.search(normalize(thing)):
        return matcher.for_children(service) or service
    return service


def _said_otherwise(thing: str, matcher: ServiceMatcher) -> tuple[ServiceInfo, ...]:
    """The services `thing` names in words the catalogue does not use: the other
    language's ("corte de mujer" -> Women's haircut) or "plus" for "+" ("11 plus").
    Of what the spellings find, the narrowest sets win: "haircut mujer" finds both
    haircuts, "haircut women" only one; "manicure" and "pedicure" both stand."""
    found: list[frozenset[ServiceInfo]] = []
    for variant in _variants(normalize(thing, keep_enye=True)):
        service = matcher.find(variant)
        hit = frozenset([service]) if service else frozenset(matcher.by_name_words(variant))
        if hit:
            found.append(hit)
    plus = re.sub(r"\b(\d+)\s*plus\b", r"\1+", normalize(thing))
    if "+" in plus:
        named = [s for s in matcher.services() if f" {plus} " in f" {normalize(s.name)} "]
        found.extend(frozenset([s]) for s in named)
    narrowest = {hit for hit in found if not any(other < hit for other in found)}
    return tuple(sorted(frozenset().union(*narrowest), key=lambda s: s.name))


def _variants(thing: str) -> list[str]:
    """`thing` with its trade words put in the other language, every combination."""
    parts = _GLOSSARY_RE.split(thing)
    words = _GLOSSARY_RE.findall(thing)
    if not words:
        return []
    choices = [_GLOSSARY[w] for w in words]
    variants = []
    for chosen in itertools.islice(itertools.product(*choices), _MAX_VARIANTS):
        text = parts[0] + "".join(c + rest for c, rest in zip(chosen, parts[1:], strict=True))
        variants.append(text)
    return variants


# A question of its own ("¿qué marca de tintura usan?", "¿con cuánta anticipación tengo
# que avisar?", "what brand of dye do you use?"): asked, not said in passing.
_QUESTION_WORD = re.compile(
    r"^(?:(?:hola|buenas|buen dia|hi|hello|hey|disculpa|disculpe|una pregunta|una consulta)\s+)*"
    r"(?:que|como|cuando|donde|cual|cuales|quien|quienes|cuanto|cuanta|cuantos|cuantas|con que"
    rf"|con cuanta|con cuanto|{QUESTION_OPENERS}|puedo|me pasas|me pasan|me das"
    r"|what|how|when|where|which|who|whats|do|does|is|will|should)\b"
)


def open_question(text: str) -> bool:
    """A real question (a question word or a "?", four words or more) that nothing else
    understood: the bot does not know, and says so, rather than "I didn't get that"."""
    norm = plain(text)
    if len(norm.split()) < 4:
        return False
    return bool(_QUESTION_WORD.match(norm)) or text.rstrip().endswith("?")
