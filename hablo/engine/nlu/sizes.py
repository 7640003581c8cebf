"""Services sold in sizes ("Full groom (small dog)", "Full groom (large dog)", "Baño perro
grande"): the size a customer says ("my big dog", "un perro grande", "a little one")
picks the variant, whatever the words the catalogue uses for it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hablo.engine.nlu.text import normalize
from hablo.plugins.sdk import ServiceInfo

# Words for each size, as customers say them and catalogues write them (accents dropped).
_SIZE_WORDS: dict[str, tuple[str, ...]] = {
    "small": (
        "small", "little", "tiny", "mini", "toy", "smaller", "pequeno", "pequena", "pequenos",
        "pequenas", "peque", "chico", "chica", "chiquito", "chiquita",
        "chiquitos", "chiquitas", "chiquitin",
    ),
    "medium": ("medium", "mid", "midsize", "mediano", "mediana", "medianos", "medianas"),
    "large": (
        "large", "big", "bigger", "huge", "giant", "xl", "grande", "grandes", "grandote",
        "grandota", "enorme", "gigante",
    ),
}  # fmt: skip
_SIZE_OF = {word: size for size, words in _SIZE_WORDS.items() for word in words}
_WORDS = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORDS.findall(normalize(text))


# Not sizes: "hola chicos" greets, "big thanks" thanks (plural "chicos" is left out above).
_NOT_A_SIZE = re.compile(r"\b(?:big|huge|giant) thank")


def _sizes(text: str) -> set[str]:
    said = _NOT_A_SIZE.sub(" ", normalize(text))
    return {_SIZE_OF[w] for w in _words(said) if w in _SIZE_OF}


def _base(service: ServiceInfo) -> tuple[str, ...]:
    """The name without its size words: what the variants of one service share."""
    return tuple(w for w in _words(service.name) if w not in _SIZE_OF)


def _size_of(service: ServiceInfo) -> str | None:
    found = _sizes(service.name)
    return next(iter(found)) if len(found) == 1 else None


def sized_variant(
    service: ServiceInfo, services: Sequence[ServiceInfo], text: str
) -> ServiceInfo | None:
    """The variant of `service` in the one size `text` says ("a full groom for my big
    dog" -> Full groom (large dog)); None when it says none, or the catalogue has no
    such variant."""
    said = _sizes(text)
    if len(said) != 1 or _size_of(service) is None:
        return None
    size = next(iter(said))
    base = _base(service)
    found = [s for s in services if _base(s) == base and _size_of(s) == size]
    return found[0] if len(found) == 1 else None


def of_size(options: Sequence[ServiceInfo], text: str) -> tuple[ServiceInfo, ...]:
    """The options in the size `text` says ("groom for a big dog": the large groom), all
    of them when it says none or none of them has it."""
    said = _sizes(text)
    if len(said) != 1:
        return tuple(options)
    size = next(iter(said))
    fitting = tuple(s for s in options if _size_of(s) == size)
    return fitting or tuple(options)
