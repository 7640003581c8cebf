"""A moment asked for while booking (skills/booking/pauses.py)."""

from __future__ import annotations

from hablo.skills.booking.pauses import holds_on
from tests.reader_cases import reader_cases

A_MOMENT = [
    "esperá que me fijo",
    "un segundo",
    "dejame ver y te digo",
    "hold on, let me check my calendar",
    "hang on a sec",
    "un momento que reviso la agenda",
    "wait",
]
MORE_THAN_A_MOMENT = [
    "espera, mejor a las 5",
    "wait what?",
    "espero tu respuesta",
    "a las 10 espero",
]
test_a_moment_asked_for = reader_cases(holds_on, A_MOMENT, MORE_THAN_A_MOMENT)
