"""A cancel only foreseen is not a cancel (nlu/tentative.py)."""

from __future__ import annotations

from hablo.engine.nlu.tentative import foresees_change
from tests.reader_cases import reader_cases

test_foresees_change = reader_cases(
    foresees_change,
    says=[
        "capaz tenga que cancelar el turno del jueves, te aviso",
        "I might have to cancel, I'll let you know",
        "puede que tenga que cancelar la cita, te confirmo mañana",
        "quizás tenga que cambiar el horario, te aviso",
        "I may need to reschedule thursday, will let you know",
        "a lo mejor cancelo, cualquier cosa te aviso",
        "tal vez tenga que cancelar",
        "possibly have to move it, I'll let you know tomorrow",
    ],
    does_not=[
        "quiero cancelar el turno del jueves",
        "I need to cancel my appointment",
        "cancelalo",
        "te aviso si llego tarde",
        "I'll let you know when I'm there",
        "can I cancel thursday?",
        "could you cancel the first one please",
        "may I cancel the one on friday?",
        "tengo que cancelar, te aviso que no voy",
        # an order wins over a word to come or a doubt
        "Cancelá mi turno del viernes porfa, después te aviso cuándo puedo",
        "cancel my appointment please, I'll let you know when I can rebook",
        "igual cancelalo",
        "no sé si voy a poder ir, cancelalo por las dudas",
    ],
)
