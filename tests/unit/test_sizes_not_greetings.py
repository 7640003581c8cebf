"""Size words that are not about size: a greeting ("hola chicos") or thanks ("big thanks")
must not pick a small or large variant of a service."""

from __future__ import annotations

import uuid

from hablo.engine.nlu.sizes import of_size
from hablo.plugins.sdk import ServiceInfo


def service(name: str) -> ServiceInfo:
    return ServiceInfo(
        id=uuid.uuid4(), name=name, duration_minutes=60, price_minor=100, description=""
    )


SMALL, LARGE = service("Full groom (small dog)"), service("Full groom (large dog)")


def test_greetings_and_thanks_say_no_size() -> None:
    for text in ("Hola chicos! quiero un full groom", "hi guys, a full groom please, big thanks"):
        assert of_size((SMALL, LARGE), text) == (SMALL, LARGE)


def test_a_size_said_still_picks_the_variant() -> None:
    assert of_size((SMALL, LARGE), "a full groom for my big dog") == (LARGE,)
    assert of_size((SMALL, LARGE), "un perro chico") == (SMALL,)
