"""Saying one will be late to the booking (nlu/lateness.py): a person answers."""

from __future__ import annotations

import pytest

from hablo.engine.nlu.lateness import arrives_late


@pytest.mark.parametrize(
    "text",
    [
        "running about 15 min late, sorry!",
        "we'll be a couple of minutes late",
        "I'm a bit late, be there soon",
        "gonna be like 10 minutes late",
        "I'm running late",
        "voy a llegar como 10 minutos tarde",
        "llego unos minutitos tarde",
        "perdón, llego un poco tarde",
        "vamos medio atrasados",
        "voy demorada, ya llego",
    ],
)
def test_says_they_will_be_late(text: str) -> None:
    assert arrives_late(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm late for work, can we do this later?",
        "we're late to school already",
        "do you have anything late on Friday?",
        "¿atienden tarde los viernes?",
        "a la tarde puedo",
        "later this week works",
        "¿tenés algo más tarde?",
    ],
)
def test_does_not_say_they_will_be_late(text: str) -> None:
    assert not arrives_late(text)
