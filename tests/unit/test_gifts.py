"""Gift cards asked about are not bookings (nlu/gifts.py)."""

from __future__ import annotations

from hablo.engine.nlu.gifts import asks_gift
from tests.reader_cases import reader_cases

test_asks_gift = reader_cases(
    asks_gift,
    says=[
        "¿hacéis tarjetas regalo? para un corte",
        "do you sell gift cards for a massage?",
        "tienen bonos de regalo?",
        "can I buy a gift voucher for a facial?",
        "quiero regalarle un masaje a mi mamá",
        "venden vales de regalo",
        "do you do gift certificates",
        "es para regalo, un lifting de pestañas",
    ],
    does_not=[
        "tengo un voucher, quiero reservar un corte",  # one held, to use
        "me regalaron una gift card, quiero usarla para un masaje",
        "quiero un masaje relajante el jueves",
        "do you take cards?",
        "gracias por todo",
        "a gift from my husband paid for it, can I book thursday?",
    ],
)
