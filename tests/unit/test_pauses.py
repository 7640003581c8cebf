"""A moment asked for while booking (skills/booking/pauses.py)."""

from __future__ import annotations

import pytest

from hablo.skills.booking.pauses import holds_on


@pytest.mark.parametrize(
    "text",
    [
        "esperá que me fijo",
        "un segundo",
        "dejame ver y te digo",
        "hold on, let me check my calendar",
        "hang on a sec",
        "un momento que reviso la agenda",
        "wait",
    ],
)
def test_a_moment_asked_for(text: str) -> None:
    assert holds_on(text)


@pytest.mark.parametrize(
    "text", ["espera, mejor a las 5", "wait what?", "espero tu respuesta", "a las 10 espero"]
)
def test_more_than_a_moment_is_read_as_said(text: str) -> None:
    assert not holds_on(text)
