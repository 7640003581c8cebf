"""A service added to what is booked (nlu/acts.py adds_on), and what only sounds like it."""

from __future__ import annotations

from hablo.engine.nlu.acts import adds_on
from tests.reader_cases import reader_cases

test_adds_on = reader_cases(
    adds_on,
    says=[
        "add a beard trim too",
        "agregame la barba",
        "¿me la agregás después del corte?",
        "y para mí una barba justo después",
    ],
    does_not=[
        "don't add the beard",
        "no quiero agregar la barba",
        "do you add conditioner to the wash?",
        "no me agregues nada más",
    ],
)
