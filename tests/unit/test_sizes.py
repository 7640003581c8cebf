"""A size said picks the sized variant of a service (nlu/sizes.py)."""

from __future__ import annotations

import uuid

import pytest

from hablo.engine.nlu.sizes import of_size, sized_variant
from hablo.plugins.sdk import ServiceInfo


def _service(name: str) -> ServiceInfo:
    return ServiceInfo(uuid.uuid4(), name, "", 100, 60)


SMALL, LARGE = _service("Full groom (small dog)"), _service("Full groom (large dog)")
BATH_SMALL, BATH_BIG = _service("Baño perro chico"), _service("Baño perro grande")
NAILS = _service("Nail clipping")
CATALOGUE = [SMALL, LARGE, BATH_SMALL, BATH_BIG, NAILS]


@pytest.mark.parametrize(
    ("named", "text", "expected"),
    [
        (SMALL, "how much for a full groom for a big dog?", LARGE),
        (SMALL, "groom for my huge labrador", LARGE),
        (LARGE, "full groom for my little dog", SMALL),
        (BATH_SMALL, "un baño para mi perro grandote", BATH_BIG),
        (BATH_BIG, "baño para un perro pequeño", BATH_SMALL),
    ],
)
def test_the_size_said_picks_the_variant(
    named: ServiceInfo, text: str, expected: ServiceInfo
) -> None:
    assert sized_variant(named, CATALOGUE, text) == expected


@pytest.mark.parametrize(
    ("named", "text"),
    [
        (SMALL, "full groom on monday"),  # no size said
        (NAILS, "nail clipping for my big dog"),  # not sold in sizes
        (SMALL, "a small or a big dog, which is cheaper?"),  # two sizes: not told apart
    ],
)
def test_no_variant_without_one_size_said(named: ServiceInfo, text: str) -> None:
    assert sized_variant(named, CATALOGUE, text) is None


def test_options_narrow_to_the_size_said() -> None:
    assert of_size([BATH_SMALL, BATH_BIG], "baño perro grande") == (BATH_BIG,)
    assert of_size([BATH_SMALL, BATH_BIG], "un baño") == (BATH_SMALL, BATH_BIG)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("How much to groom my labrador?", LARGE),
        ("full groom for my golden retriever", LARGE),
        ("a groom for our chihuahua", SMALL),
        ("baño para mi yorkshire", SMALL),
    ],
)
def test_a_breed_says_the_size(text: str, expected: ServiceInfo) -> None:
    assert of_size([SMALL, LARGE], text) == (expected,)


def test_a_breed_word_in_a_service_name_is_no_size() -> None:
    golden = _service("Golden package")
    assert sized_variant(golden, [golden, SMALL, LARGE], "the golden package for my lab") is None
