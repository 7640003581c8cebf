"""Services sold in sizes ("Full groom (small dog)", "Full groom (large dog)", "Baño perro
grande"): the size a customer says ("my big dog", "un perro grande", "a little one")
picks the variant, whatever the words the catalogue uses for it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hablo.engine.nlu.text import normalize
from hablo.engine.nlu.traits import narrowed
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
# Breeds whose size everyone knows ("my labrador", "un chihuahua"): one word each, the
# ones a groomer's customers name most.
_BREEDS: dict[str, tuple[str, ...]] = {
    "small": (
        "chihuahua", "chihuahuas", "yorkie", "yorkies", "yorkshire", "pomeranian",
        "maltese", "maltes", "pug", "pugs", "shihtzu", "dachshund", "salchicha",
        "bichon", "papillon", "westie", "caniche", "pinscher",
    ),
    "large": (
        "labrador", "labradors", "lab", "retriever", "golden", "shepherd", "alsatian",
        "husky", "huskies", "rottweiler", "doberman", "mastiff", "malamute", "bernese",
        "newfoundland", "akita", "dogo", "greyhound", "galgo", "weimaraner",
    ),
}  # fmt: skip
_SIZE_OF = {word: size for size, words in _SIZE_WORDS.items() for word in words}
# ... said of the animal by the customer, never read in a service's name.
_SAID_SIZE = {**_SIZE_OF, **{word: size for size, words in _BREEDS.items() for word in words}}
_WORDS = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORDS.findall(normalize(text))


# Not sizes: "hola chicos" greets, "big thanks" thanks (plural "chicos" is left out above).
_NOT_A_SIZE = re.compile(r"\b(?:big|huge|giant) thank")


def _sizes(text: str, words: dict[str, str] = _SAID_SIZE) -> set[str]:
    """The sizes a message says (its breeds too); `_SIZE_OF` reads a service's name."""
    said = _NOT_A_SIZE.sub(" ", normalize(text))
    return {words[w] for w in _words(said) if w in words}


def _base(service: ServiceInfo) -> tuple[str, ...]:
    """The name without its size words: what the variants of one service share."""
    return tuple(w for w in _words(service.name) if w not in _SIZE_OF)


def _size_of(service: ServiceInfo) -> str | None:
    found = _sizes(service.name, _SIZE_OF)
    return next(iter(found)) if len(found) == 1 else None


def sized_variant(
    service: ServiceInfo, services: Sequence[ServiceInfo], text: str
) -> ServiceInfo | None:
    """The variant of `service` in the one size `text` says ("a full groom for my big
    dog" -> Full groom (large dog)); None when it says none, or the catalogue has no
    such variant."""
    return _variant(service, services, _sizes(text))


def _variant(
    service: ServiceInfo, services: Sequence[ServiceInfo], said: set[str]
) -> ServiceInfo | None:
    """The one variant of `service` in the one size said."""
    if len(said) != 1 or _size_of(service) is None:
        return None
    size = next(iter(said))
    base = _base(service)
    found = [s for s in services if _base(s) == base and _size_of(s) == size]
    return found[0] if len(found) == 1 else None


# Who the size is said of: "a big dog", "my dog is big", "she's small", "es grande".
_ANIMAL = frozenset({
    "dog", "dogs", "doggy", "doggo", "pup", "puppy", "pooch", "boy", "girl", "one", "breed",
    "cat", "kitty", "perro", "perra", "perrito", "perrita", "perros", "cachorro", "cachorra",
    "gato", "gata", "gatito", "raza",
})  # fmt: skip
_OF_WHOM = _ANIMAL | {"he", "she", "es", "they", "son"}


def _animal_sizes(text: str) -> set[str]:
    """The sizes a message says of the animal: its breed, or a size word beside the
    animal or its pronoun; "a little later" or "un poco más grande el hueco" say none."""
    words = _words(_NOT_A_SIZE.sub(" ", normalize(text)))
    sizes = set()
    for i, word in enumerate(words):
        size = _SAID_SIZE.get(word)
        if size is None:
            continue
        breed = word not in _SIZE_OF
        after = words[i + 1 : i + 2]
        # "it's big" ends the message; "it's a little later" does not.
        it_is = i == len(words) - 1 and "it" in words[max(0, i - 4) : i]
        if breed or set(after) & _ANIMAL or set(words[max(0, i - 4) : i]) & _OF_WHOM or it_is:
            sizes.add(size)
    return sizes


def resized_to(
    service: ServiceInfo, services: Sequence[ServiceInfo], text: str
) -> ServiceInfo | None:
    """The variant of `service` (chosen before) in the one size `text` says of the
    animal ("ah, it's a golden retriever" -> the large dog's groom); `service` itself when
    that is its size; None when the message says no size of the animal, or no variant."""
    return _variant(service, services, _animal_sizes(text))


def of_size(options: Sequence[ServiceInfo], text: str) -> tuple[ServiceInfo, ...]:
    """The options in the size `text` says ("groom for a big dog": the large groom), all
    of them when it says none or none of them has it."""
    return narrowed(options, _sizes(text), _size_of)
