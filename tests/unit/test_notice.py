"""How far ahead to book, and how early to arrive (nlu/notice.py)."""

from __future__ import annotations

from hablo.engine.nlu.notice import asks_arrival_time, asks_booking_notice
from tests.reader_cases import reader_cases

NOTICE = [
    "con cuánta anticipación tengo que reservar?",
    "cuánto antes hay que sacar turno?",
    "con qué antelación se puede pedir cita?",
    "cuántos días antes tengo que reservar?",
    "se puede sacar turno para el mismo día?",
    "how far in advance do I need to book?",
    "how much notice do you need?",
    "how early should I book?",
    "can I book on the same day?",
    "how far ahead can we book an appointment?",
]
NOT_NOTICE = [
    "quiero reservar con anticipación para el sábado",
    "quiero turno para antes del sábado",
    "cuánto tarda el corte?",
    "can I book a haircut for Friday?",
    "cuánto tiempo antes tengo que llegar?",
    "how early do you open?",
    "con cuanta anticipacion tengo que avisar si no puedo ir?",
    "how much notice do you need for cancellations?",
    "how far in advance do I need to cancel?",
    "how far ahead can I cancel?",
    "how long beforehand should I arrive?",
]
ARRIVAL = [
    "cuánto tiempo antes tengo que llegar?",
    "tengo que llegar antes?",
    "¿hay que llegar un rato antes?",
    "con cuánto tiempo de anticipación hay que llegar?",
    "how early should I arrive?",
    "how early should we get there for a colour?",
    "should I arrive a bit early?",
    "how long beforehand should I arrive?",
]
NOT_ARRIVAL = [
    "llego 10 minutos tarde",
    "how early do you open?",
    "a qué hora tengo que estar?",
    "con cuánta anticipación tengo que reservar?",
    "quiero llegar antes de las 5",
]

test_asks_booking_notice = reader_cases(asks_booking_notice, NOTICE, NOT_NOTICE)
test_asks_arrival_time = reader_cases(asks_arrival_time, ARRIVAL, NOT_ARRIVAL)
