"""A cancellation or a change the customer only foresees ("capaz tenga que cancelar el
turno del jueves, te aviso", "I might have to cancel, I'll let you know"): nothing to
do yet. The booking stays; asking "¿Lo cancelo?" would push a decision not made."""

from __future__ import annotations

import re

from hablo.engine.nlu.text import plain

CHANGE_WORDS = (
    r"(?:cancel\w*|anul\w*|suspend\w*|cambi\w*|mov\w*|reprogram\w*|reagend\w*"
    r"|reschedul\w*|postpon\w*)"
)
# Maybe, in either language, before the change ("capaz tenga que cancelar").
_MAYBE = re.compile(
    r"\b(?:capaz|quizas?|quiza|tal vez|a lo mejor|puede (?:ser )?que|es posible que|posiblemente"
    r"|probablemente|no se si|might|may (?:have|need|be)|possibly|perhaps|maybe|probably"
    r"|not sure if|there s a chance|i think i ll)\b"
    r"(?:\s+\w+){0,4}?\s+" + CHANGE_WORDS + r"\b"
)
# ... or a word to come ("te aviso", "I'll let you know", "I'll confirm").
_LATER = re.compile(
    r"\b(?:te aviso|le aviso|les aviso|os aviso|te confirmo|le confirmo|les confirmo|te digo"
    r"|aviso (?:cualquier cosa|despues|mas tarde|luego|manana)|cualquier cosa (?:te|le|les) aviso"
    r"|i ll let (?:you|u) know|i will let (?:you|u) know|will let (?:you|u) know|i ll confirm"
    r"|i ll keep you posted|i ll get back to you|i ll tell you|let you know)\b"
)
# An order, whatever else is said ("no sé si voy a poder, cancelalo por las dudas",
# "cancel my appointment please, I'll let you know when I can rebook").
_ORDER = re.compile(
    r"\b(?:cancelalo|cancelala|cancelamelo|cancelamela|cancelame|cancela(?:lo)? nomas"
    r"|please cancel|cancel it|cancela (?:mi|el|la|los|las) (?:turno|cita|reserva|hora)"
    r"|anula (?:mi|el|la) (?:turno|cita|reserva))\b"
    r"|(?:^|\b(?:please|pls|porfa|por favor|can you|could you) )cancel(?:a)? (?:my|the|mi|el|la)\b"
)
# Said now unless hedged: "necesito cancelar" (not "capaz necesito cancelar").
_NOW = re.compile(
    r"\b(?:quiero cancelar|necesito cancelar|tengo que cancelar|i need to cancel"
    r"|i have to cancel|i want to cancel|i d like to cancel)\b"
)


def foresees_change(text: str) -> bool:
    """Whether a cancel or a move is only foreseen, to be confirmed later."""
    norm = plain(text)
    if re.search(r"\b" + CHANGE_WORDS + r"\b", norm) is None:
        return False
    if _ORDER.search(norm) or (_NOW.search(norm) and not _MAYBE.search(norm)):
        return False
    return bool(_MAYBE.search(norm) or _LATER.search(norm))
