"""A gift card asked about ("¿hacéis tarjetas regalo? para un corte", "do you sell gift
vouchers for a massage?"): a purchase for someone else, not a booking. The service named
with it says what the gift is for; nothing is booked for the customer."""

from __future__ import annotations

import re

from hablo.engine.nlu.text import normalize

_GIFT = re.compile(
    r"\b(?:gift\s*(?:cards?|vouchers?|certificates?|certs?|boxes?)|gift\s+(?:a|an|of)\b"
    r"|(?:tarjetas?|bonos?|vales?|cheques?|vouchers?|cupon(?:es)?|certificados?)"
    r"\s+(?:de\s+)?regalos?"
    r"|(?:para|como|de)\s+regalo\b|regalar\w*|vouchers?)\b"
)


# "tengo un voucher, quiero reservar un corte", "me regalaron una gift card": one held,
# to be used for a booking, not one to buy.
_HELD = re.compile(
    r"\b(?:tengo|tenemos|me regalaron|nos regalaron|me dieron|usar|canjear|i have|i ve got"
    r"|i got|we have|use|redeem)\b"
)


def asks_gift(text: str) -> str | None:
    """The gift card as the customer said it ("tarjetas regalo", "gift cards"), or None."""
    norm = normalize(text)
    if _HELD.search(norm):
        return None
    found = [m.group(0) for m in _GIFT.finditer(norm)]
    # "quiero regalarle un masaje, ¿tienen bonos regalo?": the card's name says it best
    named = [f for f in found if not f.startswith("regalar")]
    return (named or found)[0] if found else None
