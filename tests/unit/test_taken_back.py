"""What a customer takes back in the same message is cut from what the turn reads; words
that only look like a take-back are left alone."""

from __future__ import annotations

import uuid

import pytest

from hablo.demo import DEMO_SERVICES
from hablo.engine.nlu.corrections import (
    MAX_SERVICE_CUTS,
    dropped_names,
    services_taken_back,
    without_taken_back,
)
from hablo.engine.nlu.services import ServiceMatcher
from hablo.plugins.sdk import ServiceInfo


@pytest.mark.parametrize(
    ("said", "read"),
    [
        ("no quiero corte, quiero barba el jueves a las 10", "quiero barba el jueves a las 10"),
        ("no quiero cancelar, quiero cambiar el turno", "quiero cambiar el turno"),
        ("not balayage, just a blowout, saturday at 10", "just a blowout, saturday at 10"),
        ("Not today, tomorrow at 5", "tomorrow at 5"),
        ("corte mañana no, pasado a las 10", "corte pasado mañana a las 10"),
        (
            "cambio de aceite mañana, no, pasado mañana a las 11",
            "cambio de aceite pasado mañana a las 11",
        ),
        ("mañana no, el viernes", "el viernes"),
        ("el jueves no, el viernes mejor", "el viernes mejor"),
        (
            "gcse maths tomorrow, no sorry the day after, at 4pm",
            "gcse maths the day after tomorrow, at 4pm",
        ),
        ("a las 10 no, a las 11", "a las 11"),
        # A bare "no" takes back only in a message that ends with an apology.
        ("corte el martes a las 10 no a las 11 perdon", "corte el martes a las 11 perdon"),
    ],
)
def test_what_is_taken_back_is_not_read(said: str, read: str) -> None:
    assert without_taken_back(said) == read


@pytest.mark.parametrize(
    "said",
    [
        "mañana no puedo, el viernes?",  # a day that does not suit, not a take-back
        "a las 10 no puedo, ¿a las 11?",
        "no, a las 10 no puedo. ¿a las 12?",
        "perdon, me equivoque, era para el viernes no mañana",  # Friday, not tomorrow
        "el viernes no mañana",
        "a las 10 no a las 11",  # which one is meant is not clear: left as said
        "no, el jueves trabajo, el viernes mejor",
        "hola, no quiero nada por ahora",
        "no tengo auto, ¿hay estacionamiento?",
        "I can not come tomorrow",
        "not sure, maybe tuesday",
        "corte y barba el jueves",
    ],
)
def test_what_only_looks_like_a_take_back_is_kept(said: str) -> None:
    assert without_taken_back(said) == said


# The demo salon's catalogue, and a barbershop whose "Haircut and beard" is one service.
SALON = ServiceMatcher(
    [ServiceInfo(uuid.uuid4(), n, "", p, d, tuple(s)) for n, d, p, s in DEMO_SERVICES]
)
BARBER = ServiceMatcher(
    [
        ServiceInfo(uuid.uuid4(), "Haircut", "", 3500, 30, ("cut", "fade")),
        ServiceInfo(uuid.uuid4(), "Beard trim", "", 1999, 20, ("beard",)),
        ServiceInfo(uuid.uuid4(), "Haircut and beard", "", 4950, 50, ()),
        ServiceInfo(uuid.uuid4(), "Depilación sin cera", "", 1000, 30, ()),
    ]
)


@pytest.mark.parametrize(
    ("said", "read"),
    [
        ("barba, no, corte, el viernes a las 10", "corte, el viernes a las 10"),
        ("quiero manicura no perdón brushing el sábado", "quiero brushing el sábado"),
        ("era barba no corte", "era barba"),
        ("sorry i meant a blow dry not a manicure", "sorry i meant a blow dry"),
        ("corte sin barba el jueves a las 5", "corte el jueves a las 5"),
        ("beard trim, no wait, a haircut, friday at 11", "a haircut, friday at 11"),
        ("perdona, quería manicura, no corte de pelo", "perdona, quería manicura"),
        ("no era corte, era barba", "era barba"),
        ("no quería manicura, quería brushing", "quería brushing"),
        ("no, sin barba", "no"),  # to "¿Te reservo corte y barba…?"
        ("mejor sin el tinte, por favor", "mejor por favor"),
    ],
)
def test_a_service_taken_back_is_not_read(said: str, read: str) -> None:
    assert without_taken_back(said, SALON) == read


@pytest.mark.parametrize(
    ("said", "read"),
    [
        ("nah scratch the beard, just the haircut", "nah just the haircut"),
        ("haircut and beard, no, just the haircut", "just the haircut"),
        ("cut no beard saturday 3pm", "cut saturday 3pm"),
    ],
)
def test_a_part_taken_back_is_not_read(said: str, read: str) -> None:
    assert without_taken_back(said, BARBER) == read


@pytest.mark.parametrize(
    "said",
    [
        "¿no tienen barba el sábado?",  # a question, not a take-back
        "no sé, corte o brushing",
        "no hay turno para corte?",
        "corte no puedo el jueves, ¿el viernes?",
        "barba no, gracias",  # nothing said in its place
        "no, corte",  # a no to the question before, then the service
        "no quiero corte",
        "corte y barba el jueves",
        "no, mejor el viernes a las 10",
        "no es barba lo que quiero",
        "no era para hoy, era para mañana",
    ],
)
def test_a_service_that_only_looks_taken_back_is_kept(said: str) -> None:
    assert without_taken_back(said, SALON) == said


def test_a_service_named_with_its_sin_is_kept() -> None:
    assert without_taken_back("depilación sin cera el lunes", BARBER) == (
        "depilación sin cera el lunes"
    )


def test_a_service_dropped_alone_is_kept_but_named() -> None:
    # Nothing else said, nothing cut; the reader still learns what was dropped.
    assert without_taken_back("sin barba", SALON) == "sin barba"
    assert dropped_names("sin barba", SALON) == ["barba"]
    assert dropped_names("without the beard please", SALON) == ["the beard"]
    assert dropped_names("no barba", SALON) == []  # a bare "no" drops nothing alone


def test_the_names_taken_back_are_told() -> None:
    assert services_taken_back("era barba no corte", SALON) == ["corte"]
    assert services_taken_back("barba, no, corte de pelo, el viernes", SALON) == ["barba"]
    assert services_taken_back("corte y barba el jueves", SALON) == []


def test_a_long_message_is_read_as_said_and_the_cuts_are_bounded() -> None:
    names = SALON
    hostile = "corte " + "no barba, " * 800
    assert without_taken_back(hostile, names) == hostile
    assert services_taken_back(hostile, names) == []
    many = "corte no barba no brushing no manicura no coloración no barba no brushing"
    assert len(services_taken_back(many, names)) <= MAX_SERVICE_CUTS
