"""Narrowing a choice of services by what the customer says of whom it is for: a size of
dog (nlu/sizes.py), men or women (nlu/genders.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hablo.plugins.sdk import ServiceInfo


def narrowed(
    options: Sequence[ServiceInfo],
    said: set[str],
    trait_of: Callable[[ServiceInfo], str | None],
) -> tuple[ServiceInfo, ...]:
    """The options whose trait is the one trait said; all of them when the message says
    none or several, or none of them has it."""
    if len(said) != 1:
        return tuple(options)
    trait = next(iter(said))
    fitting = tuple(s for s in options if trait_of(s) == trait)
    return fitting or tuple(options)
