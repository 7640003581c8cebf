"""Services cut for men or for women ("Men's haircut", "Women's haircut", "Corte
caballero", "Corte dama"): who a customer says it is for ("a haircut for men", "corte
de hombre", "for my husband") picks the service, whatever words the catalogue uses."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hablo.engine.nlu.text import normalize
from hablo.engine.nlu.traits import narrowed
from hablo.plugins.sdk import ServiceInfo

# Words for each, as customers say them and catalogues write them (accents and
# apostrophes dropped: "men's" is "mens", "men s").
_GENDER_WORDS: dict[str, tuple[str, ...]] = {
    "men": (
        "men", "mens", "man", "male", "gent", "gents", "gentleman", "gentlemen", "guy", "guys",
        "husband", "boyfriend", "hombre", "hombres", "caballero", "caballeros", "varon",
        "varones", "masculino", "masculinos", "marido", "esposo", "novio",
    ),
    "women": (
        "women", "womens", "woman", "female", "lady", "ladies", "wife", "girlfriend", "mujer",
        "mujeres", "dama", "damas", "senora", "senoras", "femenino", "femeninos", "esposa",
        "novia",
    ),
}  # fmt: skip
_GENDER_OF = {word: gender for gender, words in _GENDER_WORDS.items() for word in words}
_WORDS = re.compile(r"[a-z0-9]+")


def _genders(text: str) -> set[str]:
    said = normalize(re.sub(r"['\u2019`\u00b4]s\b", "s", text))
    return {_GENDER_OF[w] for w in _WORDS.findall(said) if w in _GENDER_OF}


def _gender_of(service: ServiceInfo) -> str | None:
    found = set().union(*(_genders(n) for n in (service.name, *(n for _, n in service.names))))
    return next(iter(found)) if len(found) == 1 else None


def of_gender(options: Sequence[ServiceInfo], text: str) -> tuple[ServiceInfo, ...]:
    """The options for whom `text` says ("a haircut for men": the men's haircut), all of
    them when it says nobody or none of them is named for them."""
    return narrowed(options, _genders(text), _gender_of)


def says_for_whom(text: str) -> bool:
    """ "¿y para mujer?", "and for men?": the message names whom it is for."""
    return len(_genders(text)) == 1


def counterpart(
    services: Sequence[ServiceInfo], service: ServiceInfo, text: str
) -> ServiceInfo | None:
    """The service like `service` for whom `text` says: "¿y para mujer?" after the men's
    haircut is the women's haircut; `service` itself when it is for anyone; None when
    the business has no such service for them."""
    said = _genders(text)
    if len(said) != 1:
        return None
    if _gender_of(service) is None:
        return service
    family = _ungendered(service.name)
    return next(
        (s for s in services if _gender_of(s) in said and _ungendered(s.name) == family), None
    )


def _ungendered(name: str) -> frozenset[str]:
    """A service's name without whom it is for ("Men's haircut" -> {"haircut"})."""
    words = _WORDS.findall(normalize(re.sub(r"['\u2019`\u00b4]s\b", "s", name)))
    return frozenset(w for w in words if w not in _GENDER_OF and w not in ("de", "para", "for"))


# "¿es lo mismo para hombre y mujer?", "same price for men and women?", "¿cobran distinto
# a las mujeres?": whether a service (or the prices) depends on whom it is for.
_COMPARES = re.compile(
    r"\b(?:lo mismo|la misma|el mismo|mismo precio|igual|iguales|diferen\w*|distint\w*"
    r"|cambia|varia|same|different|difference|differ|cheaper|more expensive|mas barato"
    r"|mas caro|mas que|menos que|more than|less than|charge\w*|cobran|cuesta|sale|cuanto"
    r"|price|prices|precio|precios|cost|costs|pay)\b"
)


def asks_if_gender_matters(text: str) -> bool:
    """ "es lo mismo para hombre y mujer el corte?", "is it the same price for men and
    women?": men and women both named, and the message compares or asks a price."""
    said = normalize(re.sub(r"['\u2019`\u00b4]s\b", "s", text))
    return _genders(text) == {"men", "women"} and _COMPARES.search(said) is not None


_KIDS = re.compile(r"\b(?:kids?|children|child|ninos?|ninas?|nenes?|nenas?|chicos|menores)\b")
_ADULTS = re.compile(r"\b(?:adults?|grown ?ups|adultos?|grandes|mayores)\b")


def asks_if_age_matters(text: str) -> bool:
    """ "is it the same price for kids and adults?", "¿cobran igual a niños y adultos?":
    children and adults both named, and the message compares or asks a price."""
    said = normalize(text)
    return bool(_KIDS.search(said) and _ADULTS.search(said) and _COMPARES.search(said))


def gendered_family(
    services: Sequence[ServiceInfo], service: ServiceInfo | None
) -> tuple[ServiceInfo, ...]:
    """The services cut for men or for women: those like `service` ("Men's haircut",
    "Women's haircut" for either, or for a "haircut" named), all of them without one;
    empty when the business names none for whom (one service for everybody)."""
    gendered = [s for s in services if _gender_of(s) is not None]
    if service is None:
        return tuple(gendered)
    family = _ungendered(service.name)
    return tuple(s for s in gendered if _ungendered(s.name) & family or s.id == service.id)
