"""What a customer takes back in the same message is cut from what the turn reads; words
that only look like a take-back are left alone."""

from __future__ import annotations

import pytest

from hablo.engine.nlu.corrections import without_taken_back


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
