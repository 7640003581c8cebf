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
