"""Saying one will be late to the booking (nlu/lateness.py): a person answers."""

from __future__ import annotations

from hablo.engine.nlu.lateness import arrives_late
from tests.reader_cases import reader_cases

LATE = [
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
    "llegamos media hora más tarde",
    "llegaré 10 minutos tarde, perdona",
    "voy con 10 minutos de retraso",
    "vamos con unos minutos de demora",
    "running half an hour late",
]
NOT_LATE = [
    "I'm late for work, can we do this later?",
    "we're late to school already",
    "do you have anything late on Friday?",
    "¿atienden tarde los viernes?",
    "a la tarde puedo",
    "later this week works",
    "¿tenés algo más tarde?",
    "media hora más tarde me viene mejor",
    "can I come half an hour later?",
]
test_says_they_will_be_late = reader_cases(arrives_late, LATE, NOT_LATE)
