"""Questions about reaching the business by phone: "¿tienen teléfono?", "what's your
number?", "have you got a number I can ring?", "¿los puedo llamar?".

The classifier has no intent for them and reads them as the address, a price or
nothing at all; the business's phone (or, without one, this chat and a person) is the
answer. The customer's own number ("mi teléfono es ...") is not such a question.
"""

from __future__ import annotations

import re

from hablo.engine.nlu.text import plain

PHONE = "phone"

_PHONE_WORDS = r"telefono|telefonos|tel|tlf|tfno|celular|cel|phone|telephone|landline"
_PHONE_WORD = f"(?:{_PHONE_WORDS})"
# What a number of something else is: an account to pay into, a booking's reference.
_NOT_A_LINE = (
    r"(?! (?:de|of|for) (?:la |el |mi |my |the |your |su |tu )?(?:cuenta|account|reserva"
    r"|booking|turno|cita|appointment|cbu|alias|confirmacion|confirmation|pedido|order"
    r"|factura|invoice|tarjeta|card|seguro|insurance|poliza|policy))"
)
_ASKS_PHONE = re.compile(
    r"\b(?:"
    # "número de teléfono", "phone number", "contact number"
    r"(?<!\bmi )(?<!\bmy )(?:numero (?:de )?(?:telefono|tel|celular|contacto|whatsapp)"
    r"|(?:phone|telephone|contact|landline|cell) (?:number|no|num))"
    # "¿tienen teléfono?", "your phone", "do you have a landline?"
    r"|(?:(?:tienen|tenes|tienes|tiene|teneis|hay)(?: un| algun)?|su|tu|sus|tus|vuestro"
    r"|your|ur|(?:have|got|is there) an?) (?:numero de )?" + _PHONE_WORD + r"\b"
    r"|(?:numero|telefono) fijo"
    # "what's your number?", "¿cuál es su número?", "have you got a number I can ring?"
    r"|(?:your|ur|you guys|y all|su|tu|vuestro|sus) (?:number|numero)\b" + _NOT_A_LINE +
    # "¿me pasás el número?", "¿me puede dar el teléfono del consultorio?", "dadme un tel"
    r"|(?:cual es|(?:me|nos) (?:\w+ )?(?:da|das|dan|dais|de|den|dar|pasa|pasas|pasan|pasais"
    r"|pase|pasen|pasar|deja|dejas|dejan|dejar|manda|mandas|mandan|mandar|compart\w+"
    r"|facilit\w+)|dame|deme|denme|dadme|pasame|paseme|pasenme|pasadme|mandame|mandeme)"
    r" (?:el|un|algun|su|tu|vuestro) (?:numero|" + _PHONE_WORDS + r")\b" + _NOT_A_LINE +
    r"|(?:number|numero) (?:i|we) (?:can|could) (?:call|ring|phone)"
    r"|(?:number|numero) (?:to|para|al que|donde|a donde) (?:call|ring|phone|llamar|comunicarme)"
    r"|a (?:que|cual) numero"
    # "can I call you?", "¿los puedo llamar?", "¿puedo llamar?", "ring you"
    r"|(?:can|could|may) (?:i|we) (?:just |also )?(?:call|ring|phone)\b"
    r"|(?:call|ring|phone) (?:you|u|you guys|the (?:shop|salon|clinic|office|practice))\b"
    r"|(?:puedo|podemos|podria|se puede|se les puede) llamar"
    r"|(?:los|las|les|os|te|lo|la) (?:puedo|podemos|podria) llamar|llamar(?:los|las|les|os|te)\b"
    r"|(?:los|las|les|os) llamo\b"
    r"|llamar(?:los|les|le|la|os|te)? por telefono"
    r")"
)


# The whole message a phone word: "¿teléfono?", "phone?", "tel?"
_ONLY_PHONE = re.compile(r"(?:(?:el|su|tu|your) )?(?:numero de )?" + _PHONE_WORD + r"(?: number)?")


def asks_phone(text: str) -> bool:
    """Does the message ask how to call the business?"""
    said = plain(text)
    return _ASKS_PHONE.search(said) is not None or _ONLY_PHONE.fullmatch(said) is not None
