"""A move that names a service other than the booking held (skills/booking/moving.py)."""

from __future__ import annotations

import pytest

from hablo.skills.booking.moving import CHANGE, NEW, new_or_change, points_at_booking
from tests.reader_cases import reader_cases

AT_THE_BOOKING = [
    "cambiame el turno al viernes para brushing",
    "pasalo al sabado para la manicura",
    "can you move my appointment to friday for a beard trim",
    "could you move it to saturday at 10 for a manicure?",
    "quiero cambiar mi cita para una pedicura",
]
COMING_IN = [
    "quiero pasar el viernes a las 10 para el brushing",
    "me puedo pasar el sabado a las 10 para la manicura?",
    "can I come in friday at 10 for a blowout?",
]
test_points_at_the_booking_held = reader_cases(points_at_booking, AT_THE_BOOKING, COMING_IN)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("1", NEW),
        ("la 2", CHANGE),
        ("no no, es otro aparte", NEW),
        ("uno nuevo porfa", NEW),
        ("a separate one", NEW),
        ("both please", NEW),
        ("cambialo", CHANGE),
        ("change the one i have", CHANGE),
        ("en vez del corte", CHANGE),
        ("si", None),
        ("cambialo por otro", None),  # says both: asked again
    ],
)
def test_reads_the_answer_new_or_change(text: str, answer: str | None) -> None:
    assert new_or_change(text) == answer
