"""Who a service is for picks the men's or the women's one (nlu/genders.py), also where
the catalogue's words differ from the customer's ("caballero" for "hombre")."""

from __future__ import annotations

import uuid

import pytest

from hablo.engine.nlu.genders import counterpart, of_gender
from hablo.engine.nlu.services import ServiceMatcher
from hablo.plugins.sdk import ServiceInfo


def _service(name: str) -> ServiceInfo:
    return ServiceInfo(uuid.uuid4(), name, "", 100, 60)


MEN, WOMEN = _service("Men's haircut"), _service("Women's haircut")
CABALLERO, DAMA = _service("Corte caballero"), _service("Corte dama")
BLOWOUT = _service("Blowout")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("haircut for men", MEN),
        ("a haircut for a guy please", MEN),
        ("haircut for my husband", MEN),
        ("a cut for my wife", WOMEN),
        ("ladies haircut", WOMEN),
    ],
)
def test_who_it_is_for_picks_the_english_service(text: str, expected: ServiceInfo) -> None:
    assert of_gender([MEN, WOMEN], text) == (expected,)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("un corte de hombre", CABALLERO), ("corte para mujer", DAMA), ("para mi novio", CABALLERO)],
)
def test_who_it_is_for_picks_the_spanish_service(text: str, expected: ServiceInfo) -> None:
    assert of_gender([CABALLERO, DAMA], text) == (expected,)


def test_saying_nobody_or_both_keeps_every_option() -> None:
    assert of_gender([MEN, WOMEN], "a haircut") == (MEN, WOMEN)
    assert of_gender([MEN, WOMEN], "a cut for my wife and one for my husband") == (MEN, WOMEN)
    assert of_gender([BLOWOUT], "a blowout for my wife") == (BLOWOUT,)


def test_the_matcher_finds_the_haircut_for_men() -> None:
    matcher = ServiceMatcher([MEN, WOMEN, BLOWOUT])
    assert matcher.find("haircut for men") == MEN
    assert matcher.by_name_words("a haircut for a man") == (MEN,)
    assert matcher.by_name_words("a haircut") == (MEN, WOMEN)


@pytest.mark.parametrize(
    ("last", "text", "expected"),
    [
        (MEN, "and for women?", WOMEN),
        (WOMEN, "and for my husband?", MEN),
        (CABALLERO, "¿y para dama?", DAMA),
        (DAMA, "y para hombre?", CABALLERO),
        (BLOWOUT, "and for men?", BLOWOUT),  # for anyone: the same service
        (CABALLERO, "and for women?", DAMA),
        (MEN, "and tomorrow?", None),  # says for nobody
    ],
)
def test_the_counterpart_for_whom_a_follow_up_says(
    last: ServiceInfo, text: str, expected: ServiceInfo | None
) -> None:
    assert counterpart([MEN, WOMEN, CABALLERO, DAMA, BLOWOUT], last, text) == expected


def test_no_counterpart_where_the_business_cuts_only_for_one() -> None:
    assert counterpart([MEN, BLOWOUT], MEN, "and for women?") is None
