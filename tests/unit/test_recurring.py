"""Standing appointments asked for (nlu/recurring.py): one visit is booked at a time."""

from __future__ import annotations

from hablo.engine.nlu.recurring import asks_recurring
from tests.reader_cases import reader_cases

test_asks_recurring = reader_cases(
    asks_recurring,
    says=[
        "every Monday at 5",
        "todos los lunes a las 5",
        "quiero un turno fijo los martes",
        "can I have a standing appointment on thursdays?",
        "cada 15 días, los viernes",
        "una vez por semana, a las 6",
        "weekly GCSE maths lessons on tuesdays please",
        "each week on friday at 4",
        "every other wednesday",
    ],
    does_not=[
        "¿abren todos los días?",
        "do you open every day?",
        "a regular appointment please",
        "el lunes a las 5",
        "next Monday at 5",
        "todo bien, el martes",
        "I'm free every afternoon",
        "cada vez que voy me atienden bien",
    ],
)
