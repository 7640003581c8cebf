"""A customer who asks for a moment while booking ("esperá que me fijo", "hold on, let
me check"): told to take their time, the question stays where it was."""

from __future__ import annotations

import re

from hablo.engine.nlu.text import plain

_HOLD_ON_RE = re.compile(
    r"^(?:(?:ok|okay|dale|bueno|si|ah|uh|mmm|emm|eh|sorry|perdon)\s+)*"
    r"(?:(?:espera|espere|esperame|espereme|esperen|aguarda|aguarde|aguardame"
    r"|un (?:momento|momentito|segundo|seg|segundito|toque|minuto|minutito)"
    r"|dame un (?:segundo|minuto|momento|toque)|deme un (?:segundo|minuto|momento)"
    r"|dejame (?:ver|fijarme|chequear|pensar)|dejeme (?:ver|revisar|pensar)|me fijo"
    r"|hold on|hang on|one sec(?:ond)?|just a (?:sec|second|minute|moment)"
    r"|give me a (?:sec|second|minute|moment)|wait|let me (?:check|see|think))\b\s*)+"
    r"(?:\s+(?:que|y|and|to|i|porfa|por favor|please|un momento|un segundo|a sec"
    r"|me fijo|veo|chequeo|reviso|te digo|le digo|confirmo|check|see|let you know"
    r"|get back to you|ll|will|my|mi|la|el|agenda|calendar|diary|schedule))*$"
)


def holds_on(text: str) -> bool:
    """ "esperá que me fijo", "un segundo", "hold on, let me check my calendar"."""
    return bool(_HOLD_ON_RE.match(plain(text)))
