"""Find which of a tenant's services a message talks about ("tintura" -> Coloración)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from hablo.engine.nlu.datetimes import extract_weekday
from hablo.engine.nlu.genders import of_gender
from hablo.engine.nlu.glossary import translations
from hablo.engine.nlu.spelling import sound_key
from hablo.engine.nlu.text import normalize
from hablo.plugins.sdk import ServiceInfo

# "Men's haircut" is "mens haircut" as customers type it: an apostrophe joins, not splits
# (also where a reader normalised it first: "men s hair").
_APOSTROPHES = re.compile(r"['\u2019\u2018`\u00b4]")
_SPLIT_S = re.compile(r"(?<=[a-z]) s\b")


# A full stop that ends a sentence, not one of a time or a price ("maths. Do you…").
_STOP_DOT = re.compile(r"\.(?!\d)|(?<!\d)\.")


def _norm(text: str, keep_enye: bool = False) -> str:
    """`normalize` for names and what is matched against them: apostrophes dropped, and
    the full stops that end sentences ("she struggles with maths. Do you…")."""
    said = _SPLIT_S.sub("s", normalize(_APOSTROPHES.sub("", text), keep_enye))
    return " ".join(_STOP_DOT.sub(" ", said).split()) if "." in said else said


# "corte y barba", "a fade and a beard trim", "manicura, brushing": one part per service.
_LIST_COMMA = re.compile(r",(?!\d)")
_PARTS = re.compile(r"\s*(?:,|\by\b|\be\b|\band\b|\bmas\b|\bplus\b|\bcon\b|\bwith\b|\+)\s*")
# Stands for a name that joins words ("eleven plus") while a message is cut in parts.
_JOINED_MARK = "\u00a7"
# Below this a match is more likely noise than a service mention.
MIN_SCORE = 82.0
# One word against one word of a name: stricter ("limpiesa" yes, "limpio" no).
WORD_SCORE = 88.0
# Words whose affix scans (_by_suffix, _by_prefix) a matcher remembers.
AFFIX_MEMO = 20_000
# Words too common in service names to tell one service from another.
_GENERIC = frozenset(
    [
        "pelo",
        "cabello",
        "hair",
        "servicio",
        "servicios",
        "service",
        "services",
        "general",
        "completo",
        "completa",
        "full",
        "simple",
        "basico",
        "basica",
        "clasico",
        "clasica",
        "classic",
        "standard",
        "sesion",
        "session",
        "turno",
        "cita",
        "appointment",
    ]
)
# Generic words that, said alone, still point at the services named with them ("una
# sesión", "el completo"); not the trade's material ("extensiones de pelo" is no haircut),
# "servicios" (the list) or a booking itself ("quiero un turno").
_SAID_ALONE = _GENERIC - {
    "pelo",
    "cabello",
    "hair",
    "servicio",
    "servicios",
    "service",
    "services",
    "turno",
    "cita",
    "appointment",
}
# Words after which a generic word qualifies another ("extensiones de pelo").
_OF = frozenset(["de", "del", "of", "para", "for"])


def _foreign(word: str) -> tuple[str, ...]:
    """The other language's words for a word of a name, as written or in the singular."""
    return tuple(dict.fromkeys((*translations(word), *translations(_singular(word)))))


def _singular(word: str) -> str:
    """ "limpiezas" -> "limpieza", "consultas" -> "consulta", "shaves" -> "shave"."""
    if word.endswith("es") and len(word) > 5 and word[-3] not in "aeiou":
        return word[:-2]
    if word.endswith("s") and len(word) > 4 and not word.endswith("ss"):
        return word[:-1]
    return word


_STOP = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "de",
        "del",
        "un",
        "una",
        "al",
        "para",
        "por",
        "con",
        "y",
        "o",
        "que",
        "me",
        "mi",
        "quiero",
        "cuanto",
        "cuesta",
        "sale",
        "precio",
        "a",
        "the",
        "an",
        "of",
        "for",
        "my",
        "how",
        "much",
        "is",
        "price",
        "cost",
    ]
)


# What may open a service's name as said ("la barba", "a manicure", "my haircut").
_ARTICLES = frozenset(["el", "la", "los", "las", "lo", "un", "una", "the", "a", "an", "my", "mi"])


# Everyday words that begin some service names: never a name cut short.
_EVERYDAY = frozenset(
    [
        "este",
        "esta",
        "esto",
        "estos",
        "estas",
        "pero",
        "como",
        "cuando",
        "donde",
        "quiero",
        "quisiera",
        "puedo",
        "tengo",
        "tiene",
        "tienen",
        "hola",
        "buenas",
        "buen",
        "manana",
        "tarde",
        "noche",
        "todo",
        "toda",
        "todos",
        "nada",
        "algo",
        "mucho",
        "poco",
        "bien",
        "solo",
        "otra",
        "otro",
        "hace",
        "hacer",
        "dame",
        "dale",
        "vale",
        "listo",
        "lista",
        "cuanto",
        "hora",
        "horas",
        "dias",
        "semana",
        "gracias",
        "favor",
        "mano",
        "cara",
        "masa",
        "pasa",
        "pasar",
        "sabado",
        "lunes",
        "martes",
        "jueves",
        "viernes",
        "this",
        "that",
        "then",
        "there",
        "here",
        "what",
        "when",
        "where",
        "with",
        "have",
        "want",
        "need",
        "like",
        "just",
        "some",
        "more",
        "time",
        "back",
        "next",
        "last",
        "week",
        "today",
        "please",
        "thanks",
        "good",
        "morning",
        "after",
        "before",
    ]
)


# Animals, in either language, by kind: a groomer's "dog" services are no cat's.
_ANIMALS = {
    **dict.fromkeys(["dog", "dogs", "perro", "perra", "puppy", "cachorro", "perrito"], "dog"),
    **dict.fromkeys(["cat", "cats", "gato", "gata", "kitten", "gatito", "kitty"], "cat"),
    **dict.fromkeys(["rabbit", "conejo", "bunny"], "rabbit"),
    **dict.fromkeys(["bird", "birds", "pajaro", "parrot", "loro"], "bird"),
    **dict.fromkeys(["horse", "caballo"], "horse"),
    **dict.fromkeys(["hamster", "ferret", "huron", "guinea"], "small pet"),
}
# Words a name's words may be joined by in a message ("depilación láser de brazos"); any
# other word between them ("full groom for a poodle") says who, not what.
_SKIPPED = frozenset(["el", "la", "los", "las", "de", "del", "un", "una", "a", "an", "the", "of"])
# A Spanish verb said before a name ("hacen", "hacerme", "cuestan"), not a thing.
_VERB_LIKE = re.compile(r"(?:an|en|ais|eis|ar|er|ir)(?:me|se|te|le|lo|la|nos)?$")
# Words that only qualify a name said beside them: how, when, for whom, where.
QUALIFIERS = re.compile(
    r"(?:urgen\w*|emergenc\w*|rapid[oa]|quick|express|profund[oa]|deep|complet[oa]|nuev[oa]"
    r"|primer[oa]?|first|new|online|presencial|virtual|remot[oa]|domicilio|home|today|hoy"
    r"|tomorrow|tonight|manana|proxim[oa]|please|porfa|porfavor|asap|ahora|now|again"
    r"|tambien|also|only|solo|sola|just|help|ayuda|tutor\w*|tuition|lessons?|class\w*"
    r"|clases?|sesion\w*|session\w*|exam\w*|examen\w*|revision|student|alumn[oa]s?"
    r"|appointment|turno|cita|booking|reserva|price|precio|cost[oa]?|general|normal"
    r"|regular|basic[oa]?|simple|standard|hijo|hija|son|daughter|kid|kids|child\w*"
    r"|nin[oa]s?|nene|nena|adult\w*|adultos?|small|large|grande|pequen[oa]|chic[oa]"
    r"|short|long|cort[oa]|larg[oa]|this|next|week|semana|pls|thanks|gracias|slots?|both"
    r"|same|mism[oa]|left|free|libre|spaces?|lugar|huecos?|fortnight|weekend|finde|morning"
    r"|afternoon|evening|tarde|noche|pronto|soon|later|luego|despues|antes|before|after|combo"
    r"|pack|package|paquete|promo|deal|special|especial|completo|full|total|entero|whole)"
)


# A service named for children ("Kids cut", "Consulta pediátrica", "Corte infantil").
# A service for a couple, a family or a group, and one for a single person.
_FOR_SEVERAL = re.compile(
    r"\b(?:pareja|parejas|couples?|familiar|familia|family|grupal|grupo|group|vincular)\b"
)
_FOR_ONE = re.compile(r"\b(?:individual|individuales|individuel|one to one|one on one|1 ?a ?1)\b")
_FOR_THE_SICK = re.compile(r"\b(?:sick|enferm\w*|urgenc\w*|emergenc\w*|general)\b")
_FOR_A_FIRST_VISIT = re.compile(
    r"\b(?:primera|primer|inicial|initial|first|trial|prueba|new patient|nuevo paciente"
    r"|introductory|intro)\b"
)
CHILDREN_SERVICE = re.compile(r"\b(?:pediatri\w*|ninos?|ninas?|infantil|kids?|child\w*|junior)\b")


# A synonym that starts with a pronoun-joined infinitive ("cortarme el pelo") is said
# with any pronoun or none ("cortarse el pelo", "para cortar el pelo", "cortar y teñir").
_JOINED_INFINITIVE = re.compile(r"^(?P<verb>[a-zñ]{3,}(?:ar|er|ir))(?:me|te|se|le|la|lo|nos|les)$")
# Verbs too common to name a service alone ("hacerme las manos" is no "hacer").
_COMMON_VERBS = frozenset({"hacer", "poner", "sacar", "tener", "pedir", "dejar", "arreglar"})


def _verb_forms(phrase: str) -> list[str]:
    words = phrase.split()
    found = _JOINED_INFINITIVE.match(words[0]) if words else None
    if found is None:
        return []
    verb, rest = found["verb"], words[1:]
    pronouns = ("", "me", "te", "se", "le", "nos", "les")  # "cortarnos el pelo"
    forms = [" ".join([f"{verb}{p}", *rest]) for p in pronouns]
    forms = [f for f in forms if f != phrase]
    return forms + ([verb] if rest and verb not in _COMMON_VERBS else [])


@dataclass(frozen=True)
class _Alias:
    phrase: str
    service: ServiceInfo


class ServiceMatcher:
    """Immutable index of a tenant's service names and synonyms."""

    def __init__(self, services: Sequence[ServiceInfo]) -> None:
        self._services = tuple(services)
        aliases: list[_Alias] = []
        for service in services:
            for phrase in (service.name, *(n for _, n in service.names), *service.synonyms):
                norm = _norm(phrase, keep_enye=True)
                for form in (norm, *_verb_forms(norm)):
                    if form:
                        aliases.append(_Alias(form, service))
        self._aliases = aliases
        self._phrases = [a.phrase for a in aliases]
        self._spaced = [(a, f" {a.phrase} ") for a in aliases]  # whole words in " text "
        # Names that join two words as services do ("haircut and beard"), longest first.
        self._joined = sorted(
            (a for a in aliases if _PARTS.search(a.phrase)), key=lambda a: -len(a.phrase)
        )
        # Words of the services' names (all languages) -> the services that have them:
        # "limpieza" finds "Limpieza dental", or asks between it and "Limpieza facial".
        words: dict[str, set[ServiceInfo]] = {}
        for service in services:
            for phrase in (service.name, *(n for _, n in service.names)):
                for word in _norm(phrase, keep_enye=True).split():
                    if len(word) >= 4 and word not in _STOP and word not in _GENERIC:
                        words.setdefault(_singular(word), set()).add(service)
        self._words = {w: tuple(sorted(s, key=lambda x: x.name)) for w, s in words.items()}
        # The other language's words for the names' words ("clase de prueba": the Trial
        # lesson), said as such (no prefix or suffix scans), and never a word some name
        # or synonym already has ("corte" of "Corte para niños" is that one's).
        own = {
            _singular(word)
            for service in services
            for phrase in (service.name, *(n for _, n in service.names), *service.synonyms)
            for word in _norm(phrase, keep_enye=True).split()
        }
        foreign: dict[str, set[ServiceInfo]] = {}
        for service in services:
            for phrase in (service.name, *(n for _, n in service.names)):
                for written in _norm(phrase, keep_enye=True).split():
                    for word in map(_singular, _foreign(written)):
                        if word not in own and word not in _STOP:
                            foreign.setdefault(word, set()).add(service)
        self._foreign_words = {
            w: tuple(sorted(s, key=lambda x: x.name)) for w, s in foreign.items()
        }
        self._word_keys = list(self._words)
        # The generic words of the names ("sesión" of "Sesión individual" and "Sesión
        # online"): they tell no service apart, but a message that says only one of them
        # still asks about these services, not about something the business lacks.
        generic: dict[str, set[ServiceInfo]] = {}
        for service in services:
            for phrase in (service.name, *(n for _, n in service.names)):
                for word in _norm(phrase, keep_enye=True).split():
                    if word in _SAID_ALONE:
                        generic.setdefault(_singular(word), set()).add(service)
        self._generic_words = {
            w: tuple(sorted(s, key=lambda x: x.name)) for w, s in generic.items()
        }
        # Every word of each service's names as written (short ones too: "men's").
        self._name_words = {
            str(service.id): frozenset(
                word
                for phrase in (service.name, *(n for _, n in service.names))
                for word in _norm(phrase, keep_enye=True).split()
            )
            for service in services
        }
        # Every word of a service's names and synonyms, to find where a message names it.
        self._said_as: dict[str, frozenset[str]] = {}
        for service in services:
            said = {
                _singular(word)
                for phrase in (service.name, *(n for _, n in service.names), *service.synonyms)
                for word in _norm(phrase, keep_enye=True).split()
                if len(word) >= 3 and word not in _STOP
            }
            said |= {w for w, named in self._foreign_words.items() if service in named}
            self._said_as[str(service.id)] = frozenset(said)
        self._all_said: frozenset[str] = frozenset().union(*self._said_as.values())
        # Nouns of the synonyms that only one service has ("muela" of "sacar una muela"),
        # with the sound of the synonym's other words: "que me saquen una muela" says no
        # name, but "muela" and a word like "sacar" are Extracción's alone ("the works"
        # is one word: "6:30 works" must not name it).
        by_synonym: dict[str, set[ServiceInfo]] = {}
        others: dict[str, set[str]] = {}
        for service in services:
            for phrase in service.synonyms:
                content = [
                    w
                    for w in _norm(phrase, keep_enye=True).split()
                    if len(w) >= 3 and w not in _STOP
                ]
                for word in content:
                    noun = not re.search(r"(?:ar|er|ir)(?:me|se|te|lo|la)?$", word)
                    if len(word) >= 5 and word not in _GENERIC and len(content) >= 2 and noun:
                        key = _singular(word)
                        by_synonym.setdefault(key, set()).add(service)
                        rest = {sound_key(w)[:3] for w in content if w != word}
                        others.setdefault(key, set()).update(rest)
        self._synonym_words = {
            w: (next(iter(s)), frozenset(others[w])) for w, s in by_synonym.items() if len(s) == 1
        }
        # The animals the services are for ("Full groom (small dog)"): none, any animal.
        self._animals = frozenset(_ANIMALS[w] for w in self._all_said if w in _ANIMALS)
        # word -> what _by_suffix / _by_prefix found for it (see _remembered).
        self._suffixes: dict[str, tuple[ServiceInfo, ...] | None] = {}
        self._prefixes: dict[str, tuple[ServiceInfo, ...] | None] = {}
        # The services a name joins ("Haircut and beard": the Haircut and the Beard trim),
        # so asking for both is asking for it.
        self._parts_of: dict[str, frozenset[ServiceInfo]] = {}
        for service in services:
            for phrase in (service.name, *(n for _, n in service.names)):
                pieces = [p for p in _PARTS.split(_norm(phrase, keep_enye=True)) if p.strip()]
                found = [self.find(piece) for piece in pieces] if len(pieces) >= 2 else []
                parts = frozenset(s for s in found if s is not None and s != service)
                if len(parts) == len(pieces):
                    self._parts_of[str(service.id)] = parts
                    break

    def services(self) -> tuple[ServiceInfo, ...]:
        """The services this matcher knows, as given."""
        return self._services

    def combined(self, services: Sequence[ServiceInfo]) -> ServiceInfo | None:
        """The one service whose name joins exactly these ("Corte + barba" for a haircut
        and a beard trim), None when the business has none."""
        wanted = frozenset(services)
        found = [s for s in self._services if self._parts_of.get(str(s.id)) == wanted]
        return found[0] if len(found) == 1 else None

    def joined(self, found: Sequence[ServiceInfo]) -> list[ServiceInfo]:
        """The services asked for one person: "corte y arreglo de barba" where "Corte +
        barba" exists is that one, once."""
        merged: list[ServiceInfo] = []
        for service in found:
            both = self.combined([merged[-1], service]) if merged else None
            if both is not None:
                merged[-1] = both
            else:
                merged.append(service)
        return merged

    def words(self) -> frozenset[str]:
        """Every word of the services' names and synonyms (normalised, ñ kept)."""
        return frozenset(word for phrase in self._phrases for word in phrase.split())

    def find(self, text: str) -> ServiceInfo | None:
        if not self._aliases:
            return None
        norm = _norm(text, keep_enye=True)
        # Exact phrase containment wins outright (longest alias first).
        padded = f" {norm} "
        contained = [a for a, spaced in self._spaced if spaced in padded]
        if not contained and "s " in padded:  # "2 haircuts": the Haircut, said twice
            single = " ".join(_singular(t) for t in norm.split())
            contained = [a for a, spaced in self._spaced if spaced in f" {single} "]
        if contained:
            said = max(contained, key=lambda a: len(a.phrase))
            # "a full groom for a large dog": the small dog's synonym "full groom" is
            # said, but the large dog's name has those words and more of the message.
            named = self.by_name_words(text)
            if len(named) == 1 and named[0] != said.service:
                words = {_singular(w) for w in said.phrase.split() if w not in _STOP}
                if words <= self._said_as.get(str(named[0].id), frozenset()):
                    return named[0]
            return said.service
        tokens = [t for t in norm.split() if t not in _STOP and len(t) > 2]
        if not tokens:
            return None
        candidates = self._windows(tokens)
        best: tuple[float, ServiceInfo] | None = None
        for window in candidates:
            match = process.extractOne(
                window, self._phrases, scorer=fuzz.ratio, score_cutoff=MIN_SCORE
            )
            if match and (best is None or match[1] > best[0]):
                best = (match[1], self._aliases[match[2]].service)
        named = self.by_name_words(text)
        if best is not None:
            if len(named) == 1 and named[0] != best[1] and self._says_own_word(text, named[0]):
                # "a trial maths lesson": "trial" names the Trial lesson alone, though the
                # words of "GCSE maths lesson" are more of the message.
                return named[0]
            # "a maths lesson" is close to "GCSE maths lesson", but as close to "A-level
            # maths lesson": a name only partly said that fits several is no answer.
            return None if len(named) > 1 and best[1] in named else best[1]
        if len(named) == 1:
            return named[0]
        if named:
            return None
        return self._by_synonym_noun(norm)

    def _by_synonym_noun(self, norm: str) -> ServiceInfo | None:
        words = norm.split()
        hits = [(w, h) for w in words if (h := self._synonym_words.get(_singular(w))) is not None]
        if not hits:  # the common case: no sounds to compute (a third of `find`'s time)
            return None
        keys = {sound_key(w)[:3] for w in words}
        found = set()
        for word, hit in hits:
            if hit[1] & (keys - {sound_key(word)[:3]}):
                found.add(hit[0])
        return next(iter(found)) if len(found) == 1 else None

    def _says_own_word(self, text: str, service: ServiceInfo) -> bool:
        """Whether the message says a word of `service`'s names that no other has."""
        said = {_singular(t) for t in _norm(text, keep_enye=True).split()}
        return any(self._words.get(word) == (service,) for word in said)

    def for_children(self, service: ServiceInfo) -> ServiceInfo | None:
        """The children's version of `service` ("Kids cut" for "Haircut", "Consulta
        pediátrica" for "Consulta general"): the one service named for children whose
        other words are in the adult one's names; None when there is none or several."""
        if CHILDREN_SERVICE.search(_norm(service.name)):
            return None
        said = " ".join(
            _norm(p) for p in (service.name, *(n for _, n in service.names), *service.synonyms)
        )
        found = []
        for kids in self._services:
            rest = CHILDREN_SERVICE.sub(" ", _norm(kids.name)).split()
            named_for_kids = len(rest) < len(_norm(kids.name).split())
            if kids != service and named_for_kids and rest and all(w in said for w in rest):
                found.append(kids)
        return found[0] if len(found) == 1 else None

    def for_a_child(self, service: ServiceInfo, text: str) -> ServiceInfo | None:
        """The children's service a message for a child means: `service`'s own children's
        version, or else the one children's service whose adult version shares the word
        said ("a trim for our little one" at a shop whose Haircut is also a "trim" and
        whose "Beard trim" has no kids version), unless a word of `service` alone is said
        ("a beard trim for my son")."""
        own = self.for_children(service)
        if own is not None or CHILDREN_SERVICE.search(_norm(service.name)):
            return own
        kids = [s for s in self._services if CHILDREN_SERVICE.search(_norm(s.name))]
        adult = self.for_adults(kids[0]) if len(kids) == 1 else None
        if adult is None or adult == service:
            return None
        said = {_singular(w) for w in _norm(text, keep_enye=True).split()}
        mine = self._said_as.get(str(service.id), frozenset())
        theirs = self._said_as.get(str(adult.id), frozenset())
        if said & (mine - theirs) or not said & mine & theirs:
            return None
        return kids[0]

    def for_the_sick(self) -> ServiceInfo | None:
        """The one visit for someone (or a pet) who is unwell: "Sick pet visit", "Consulta
        médica general"; None when there is none or several."""
        found = [s for s in self._services if _FOR_THE_SICK.search(_norm(s.name))]
        return found[0] if len(found) == 1 else None

    def for_a_first_visit(self) -> ServiceInfo | None:
        """The one service for someone new ("Primera valoración", "Entrevista inicial",
        "Trial lesson"); None when there is none or several."""
        found = [
            s
            for s in self._services
            if any(
                _FOR_A_FIRST_VISIT.search(_norm(p))
                for p in (s.name, *(n for _, n in s.names), *s.synonyms)
            )
        ]
        return found[0] if len(found) == 1 else None

    def for_one_person(self, service: ServiceInfo, text: str) -> ServiceInfo | None:
        """The individual service when `service` is for a couple or a group and the
        message does not say so ("terapia" at a practice with "Terapia de pareja" and
        "Sesión individual" is the individual one); None when there is none or several."""
        said = _norm(text)
        if not _FOR_SEVERAL.search(_norm(service.name)) or _FOR_SEVERAL.search(said):
            return None
        named = [s for s in self._services if s != service and self._says_own_word(text, s)]
        if len(named) == 1:  # "terapia online": the online session
            return named[0]
        single = [
            s
            for s in self._services
            if _FOR_ONE.search(" ".join(_norm(n) for n in (s.name, *(x for _, x in s.names))))
        ]
        return single[0] if len(single) == 1 else None

    def for_adults(self, kids: ServiceInfo) -> ServiceInfo | None:
        """The adults' version of a children's service ("Haircut" for "Kids cut"): the
        plainest service that has `kids` as its children's version."""
        if not CHILDREN_SERVICE.search(_norm(kids.name)):
            return None
        adults = [s for s in self._services if s != kids and self.for_children(s) == kids]
        # "Haircut" rather than "Haircut and beard": the plainest of them.
        plainest = sorted(adults, key=lambda s: len(s.name.split()))
        if not plainest or (
            len(plainest) > 1 and len(plainest[1].name.split()) == len(plainest[0].name.split())
        ):
            return None
        return plainest[0]

    def by_name_words(self, text: str) -> tuple[ServiceInfo, ...]:
        """The services whose names share a distinctive word with the message ("consulta"
        -> Consulta general; "limpieza" -> Limpieza dental and Limpieza facial)."""
        found: set[ServiceInfo] = set()
        short: list[str] = []
        generic: list[str] = []
        for token in _norm(text, keep_enye=True).split():
            if token in _GENERIC:
                generic.append(token)
            if token in _STOP or token in _GENERIC or len(token) < 3:
                continue
            if len(token) == 3:  # "cut" of haircut; "men" only tells two apart (below)
                short.append(token)
                hit = self._by_suffix(token)
                if hit:
                    found = set(hit) if not found else (found & set(hit)) or found
                continue
            if len(token) == 4 and token.endswith("s"):  # "pads" tells two brakes apart
                short.append(token[:-1])
            word = _singular(token)
            hit = (
                self._words.get(word)
                or self._foreign_words.get(word)
                or self._by_prefix(word)
                or self._by_suffix(word)
            )
            if hit is None and len(word) >= 5:
                match = process.extractOne(
                    word, self._word_keys, scorer=fuzz.ratio, score_cutoff=WORD_SCORE
                )
                hit = self._words[match[0]] if match else None
            if hit:
                # Several words: the services that have them all ("limpieza dental").
                found = set(hit) if not found else (found & set(hit)) or found
        if len(found) > 1:  # "men's cut": a short word of one name settles it
            # ... and so does a common one: "consulta general" of "Consulta médica general"
            # and "Consulta pediátrica".
            for token in (*short, *generic):
                narrowed = {s for s in found if token in self._name_words.get(str(s.id), ())}
                found = narrowed or found
        if len(found) > 1:  # "a haircut for men", "corte de caballero": the men's one
            found = set(of_gender(tuple(found), text))
        if not found:
            found = self._by_generic_word(text)
        return tuple(sorted(found, key=lambda s: s.name))

    def _by_generic_word(self, text: str) -> set[ServiceInfo]:
        """ "¿cuánto sale una sesión?" at a psychologist's whose services are "Sesión
        individual" and "Sesión online": both, so the bot asks which."""
        found: set[ServiceInfo] = set()
        previous = ""
        for token in _norm(text, keep_enye=True).split():
            hit = None if previous in _OF else self._generic_words.get(_singular(token))
            previous = token
            if hit:
                found = set(hit) if not found else (found & set(hit)) or found
        return found

    def _by_suffix(self, word: str) -> tuple[ServiceInfo, ...] | None:
        return self._remembered(self._suffixes, word, self._scan_suffix)

    def _by_prefix(self, word: str) -> tuple[ServiceInfo, ...] | None:
        return self._remembered(self._prefixes, word, self._scan_prefix)

    @staticmethod
    def _remembered(
        memo: dict[str, tuple[ServiceInfo, ...] | None],
        word: str,
        scan: Callable[[str], tuple[ServiceInfo, ...] | None],
    ) -> tuple[ServiceInfo, ...] | None:
        """A scan of every name word, once per word said (customers repeat their words;
        the index is immutable). Past AFFIX_MEMO words (hostile input) it starts again."""
        if word in memo:
            return memo[word]
        found = scan(word)
        if len(memo) >= AFFIX_MEMO:
            memo.clear()
        memo[word] = found  # actor threads may race here: same value either way
        return found

    def _scan_suffix(self, word: str) -> tuple[ServiceInfo, ...] | None:
        """The head of a compound name: "cut" (haircut). The rest must be a word itself
        (four letters or more): "men" is no part of "women"."""
        if not word.isalpha():
            return None
        found = {
            service
            for key, services in self._words.items()
            if len(key) >= len(word) + 4 and key.endswith(word)
            for service in services
        }
        return tuple(sorted(found, key=lambda s: s.name)) or None

    def _scan_prefix(self, word: str) -> tuple[ServiceInfo, ...] | None:
        """A word cut short: "semi" (semipermanente), "microchip" (microchipping),
        "depi" (depilación). Only alphabetic words of four letters or more that are not
        everyday words themselves ("este jueves" names no Estética)."""
        if len(word) < 4 or not word.isalpha() or word in _EVERYDAY:
            return None
        found = {
            service
            for key, services in self._words.items()
            if len(key) > len(word) and key.startswith(word)
            for service in services
        }
        return tuple(sorted(found, key=lambda s: s.name)) or None

    def _mentioned_at(self, text: str, service: ServiceInfo) -> int:
        """Where in `text` (normalised) the last word of the service's names appears; -1
        when none does as such (a typo, a fuzzy match). The last: in "depilación láser de
        piernas y axilas" the legs are named at "piernas", next to the underarms."""
        said = self._said_as.get(str(service.id), frozenset())
        at, found = 0, -1
        for token in text.split(" "):
            word = _singular(token)
            if word in said or (len(word) >= 4 and any(w.startswith(word) for w in said)):
                found = at
            at += len(token) + 1
        return found

    def without_names(self, text: str, services: Sequence[ServiceInfo]) -> str:
        """The message (normalised) without the words that name these services: what is
        left says what the customer wants done with them. "quiero cambio de aceite el
        jueves" asks for a booking, though "cambio" alone sounds like moving one."""
        said = frozenset().union(*(self._said_as.get(str(s.id), frozenset()) for s in services))
        # ... and their short words ("up" of "Root touch-up", "ii" of "Nivel II")
        short = {
            word
            for s in services
            for phrase in (s.name, *(n for _, n in s.names), *s.synonyms)
            for word in _norm(phrase, keep_enye=True).split()
            if len(word) < 3 and word not in _STOP
        }
        kept = [
            token
            for token in _norm(text, keep_enye=True).split()
            if not (
                token in short
                or (word := _singular(token)) in said
                or (len(word) >= 4 and any(w.startswith(word) for w in said))
            )
        ]
        return " ".join(kept)

    def only_names(self, phrase: str) -> bool:
        """Whether `phrase` is a service's name and nothing else ("la barba", "corte de
        pelo", "maths", "a manicure"): an article may open it, every other word is a word
        of a name or a synonym (joined by "de", "y"...). "sé", "hay", "quiero corte",
        "corte el" are not. Used to cut what a customer takes back (nlu/corrections.py)."""
        words = normalize(phrase, keep_enye=True).split()
        while words and words[0] in _ARTICLES:
            words = words[1:]
        if not words or not all(
            self._is_name_word(w) or (0 < i < len(words) - 1 and w in _STOP)
            for i, w in enumerate(words)
        ):
            return False
        return self.find(phrase) is not None or bool(self.by_name_words(phrase))

    def swapped_name(self, text: str) -> str | None:
        """The words of `text` that say a service's name with one of its own words swapped
        for one the catalogue does not know ("A-level chemistry" where there is "A-level
        maths lesson", "implantes dentales" beside "Limpieza dental", "depilación láser
        de brazos"): something else, that the business does not list, not that service.
        None when no name is said so. A word beside a name that qualifies it ("limpieza
        dental profunda", "haircut today") swaps nothing: the name has no word there."""
        words = _norm(text, keep_enye=True).split()
        animals = [i for i, w in enumerate(words) if _singular(w) in _ANIMALS]
        kinds = {_ANIMALS[_singular(words[i])] for i in animals}
        if kinds and self._animals and not kinds & self._animals:
            # "a bath for a cat" at a dog groomer's: from the service's word on
            named = [i for i in range(animals[0]) if self._is_name_word(words[i])]
            return " ".join(words[(named or animals)[0] : animals[-1] + 1])
        kept = [i for i, w in enumerate(words) if w not in _SKIPPED]
        said = {_singular(w) for w in words}
        if any(self._said_whole(service, said) for service in self._services):
            return None  # "a trial maths lesson": the Trial lesson, in maths
        for service in self._services:
            for phrase in (service.name, *(n for _, n in service.names)):
                name = [_singular(w) for w in _norm(phrase, keep_enye=True).split()]
                span = self._swap_in(
                    [words[i] for i in kept], [w for w in name if w not in _STOP], service
                )
                if span is not None:
                    first, last = kept[span[0]], kept[span[1]]
                    while first > 0 and (
                        words[first - 1] in _SKIPPED or self._is_name_word(words[first - 1])
                    ):
                        first -= 1  # "A-level chemistry", "depilación láser de brazos"
                    return " ".join(words[first : last + 1])
        return None

    def _said_whole(self, service: ServiceInfo, said: set[str]) -> bool:
        """Whether every word of one of the service's names that tells it apart is said."""
        for phrase in (service.name, *(n for _, n in service.names)):
            name = {_singular(w) for w in _norm(phrase, keep_enye=True).split()}
            telling = {w for w in name if w not in _STOP and w not in _GENERIC}
            if telling and {w for w in telling if not QUALIFIERS.fullmatch(w)} <= said:
                return True
        return False

    def _swap_in(
        self, tokens: list[str], name: list[str], service: ServiceInfo
    ) -> tuple[int, int] | None:
        said = {_singular(t) for t in tokens}
        mine_said = self._said_as.get(str(service.id), frozenset())
        for i, token in enumerate(tokens):
            word = _singular(token)
            if word not in name or word in _GENERIC or _PARTS.fullmatch(word):
                continue  # "haircut and beard": "and" stands beside anything
            at = name.index(word)
            for step in (1, -1):
                mine, theirs = at + step, i + step
                if not (0 <= mine < len(name) and 0 <= theirs < len(tokens)):
                    continue
                own, other = name[mine], tokens[theirs]
                if own in _GENERIC or own in said or said & set(_foreign(own)):
                    continue  # "limpieza dental" says "Dental cleaning" whole
                if _singular(other) in mine_said or not self._stranger(other, own, word):
                    continue
                if step == -1 and _VERB_LIKE.search(other):
                    continue  # "¿hacen esculpidas?", "cuánto cuestan las balatas"
                return (min(i, theirs), max(i, theirs))
        return None

    def _stranger(self, token: str, own: str, beside: str) -> bool:
        """A word of another thing ("chemistry", "implantes", "English" beside
        "A-level" where only GCSE English is): no service is named with it and the word
        beside it, it is no typo of the name's own word, and it does not only qualify
        ("urgente", "online")."""
        word = _singular(token)
        return (
            len(word) >= 4
            and word.isalpha()
            and not any({word, beside} <= said for said in self._said_as.values())
            and word not in _STOP
            and word not in _GENERIC
            and word not in _EVERYDAY
            and not QUALIFIERS.fullmatch(word)
            and extract_weekday(word) is None
            # no typo or clipping of a name's word ("alevel", "mahts", "prep")
            and not any(
                fuzz.ratio(word, w) >= WORD_SCORE - 13
                or w.startswith(word)
                or (len(w) >= 4 and word.startswith(w))  # "trimmed", "cleaning"
                for w in (own, *self._all_said)
            )
        )

    def _is_name_word(self, token: str) -> bool:
        word = _singular(token)
        return word in self._all_said or (
            len(word) >= 4 and any(w.startswith(word) for w in self._all_said)
        )

    def unsettled(self, text: str) -> tuple[ServiceInfo, ...]:
        """The services one part of a request could mean when it names several ("a cut"
        in "a cut and a blowout": women's or men's haircut?); () when every part names
        one service or none. A name that joins words itself ("eleven plus", "Haircut and
        beard") is no two parts: "an eleven plus lesson" is one."""
        norm = f" {_norm(text, keep_enye=True)} "
        for alias in self._joined:
            norm = norm.replace(f" {alias.phrase} ", f" {_JOINED_MARK} ")
        for part in _PARTS.split(norm.strip()):
            if _JOINED_MARK in part:
                continue  # the part names that service
            if part.strip() and self.find(part) is None:
                options = self.by_name_words(part)
                if len(options) > 1:
                    return options
        return ()

    def find_all(self, text: str, near: str | None = None) -> list[ServiceInfo]:
        """Every service a message names, in the order said ("corte y barba"). With
        `near` (the words of a date or time in the message), only the services named
        together closest to it: "me corté con ustedes… ¿tenés lugar el viernes para
        coloración?" asks for a colouring, not a cut."""
        # A comma lists as "y" does ("corte, barba y manicura"); normalize drops commas.
        norm = _norm(_LIST_COMMA.sub(" y ", text), keep_enye=True)
        found: list[tuple[int, ServiceInfo]] = []
        # A name that itself joins two ("Haircut and beard", "Corte y barba") is one service.
        for alias in self._joined:
            at = f" {norm} ".find(f" {alias.phrase} ")
            if at >= 0:
                found.append((at, alias.service))
                size = len(alias.phrase) + self._runs_on(alias, norm[at + len(alias.phrase) :])
                norm = norm[:at] + " " * size + norm[at + size :]
        offset = 0
        for part in _PARTS.split(norm):
            service = self.find(part) if part.strip() else None
            start = norm.find(part, offset)
            if service is not None and all(service.id != s.id for _, s in found):
                # The words that name it, not the start of its part: in "can I book GCSE
                # maths and GCSE English on Saturday" both are named close together.
                inside = self._mentioned_at(part, service)
                found.append((start + inside if inside >= 0 else start, service))
            offset = max(offset, start)
        if not found:
            single = self.find(text)
            return [single] if single else []
        found.sort(key=lambda mention: mention[0])
        anchor = norm.find(_norm(_LIST_COMMA.sub(" y ", near), keep_enye=True)) if near else -1
        if anchor >= 0 and len(found) > 1:
            found = _nearest_group(found, anchor)
        return [s for _, s in found]

    def _runs_on(self, alias: _Alias, rest: str) -> int:
        """How many characters of `rest` finish the last part of a joined name as one of
        its services is called: "haircut and beard| trim" is the Haircut and beard, no
        Beard trim besides."""
        last = alias.phrase.split()[-1]
        longest = 0
        for part in self._parts_of.get(str(alias.service.id), ()):
            for phrase in (part.name, *(n for _, n in part.names), *part.synonyms):
                said = _norm(phrase, keep_enye=True)
                if said.startswith(f"{last} ") and f"{last}{rest} ".startswith(f"{said} "):
                    longest = max(longest, len(said) - len(last))
        return longest

    @staticmethod
    def _windows(tokens: list[str]) -> list[str]:
        """Word n-grams (1..3) so multi-word aliases like "arreglo de barba" can match."""
        out: list[str] = []
        for size in (1, 2, 3):
            out.extend(" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1))
        return out


# Services named within this many characters of each other were asked for together.
_TOGETHER = 40


def _nearest_group(
    found: list[tuple[int, ServiceInfo]], anchor: int
) -> list[tuple[int, ServiceInfo]]:
    groups: list[list[tuple[int, ServiceInfo]]] = [[found[0]]]
    for mention in found[1:]:
        if mention[0] - groups[-1][-1][0] <= _TOGETHER:
            groups[-1].append(mention)
        else:
            groups.append([mention])
    return min(groups, key=lambda g: min(abs(position - anchor) for position, _ in g))


def named_among(options: Sequence[ServiceInfo], text: str) -> ServiceInfo | None:
    """Of the services just listed, the one a word of the answer names that no other
    listed one has, short words and plurals too ("the pads" to "Brake pad replacement,
    Brake inspection?"); None when the answer's words fit none of them or several."""
    said: set[str] = set()
    for word in _norm(text).split():
        if word not in _STOP and len(word) >= 3:
            said |= {word, _singular(word), word[:-1] if word.endswith("s") else word}

    def words(service: ServiceInfo) -> set[str]:
        phrases = (service.name, *(n for _, n in service.names), *service.synonyms)
        return {_singular(w) for phrase in phrases for w in _norm(phrase).split()}

    own = {s: words(s) for s in options}
    fitting = [
        s for s in options if said & (own[s] - set().union(*(own[o] for o in options if o != s)))
    ]
    return fitting[0] if len(fitting) == 1 else None
