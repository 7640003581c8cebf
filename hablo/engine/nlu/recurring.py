"""A standing appointment asked for ("todos los lunes a las 5", "every Monday at 5",
"cada 15 días", "weekly"): the bot books one visit at a time, and says so rather than
booking one Monday as if it had set up them all."""

from __future__ import annotations

import re

from hablo.engine.nlu.text import normalize

_DAYS = (
    r"(?:lunes|martes|miercoles|jueves|viernes|sabados?|domingos?|mondays?|tuesdays?"
    r"|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|dias|semanas?|weeks?|days?|mes"
    r"|months?)"
)
_RECURRING = re.compile(
    r"\b(?:todos\s+los|todas\s+las|cada|every|each)\s+(?:\w+\s+)?" + _DAYS + r"\b"
    r"|\b(?:semanalmente|quincenalmente|mensualmente|weekly|fortnightly|biweekly|monthly)\b"
    r"|\b(?:on|los)\s+" + _DAYS + r"\s+(?:de\s+cada\s+semana|every\s+week)\b"
    r"|\b(?:turno|cita|hora|horario|appointment|slot|booking|lesson|clase)\s+(?:fij[oa]|fixed"
    r"|recurrent\w*|recurring|standing|permanente)\b"
    r"|\b(?:fij[oa]|fixed|recurring|standing)\s+(?:turno|cita|appointment|slot|booking"
    r"|lesson|clase)\b"
    r"|\b(?:una|1)\s+vez\s+(?:a\s+la|por)\s+semana\b|\bonce\s+a\s+week\b"
)


# "¿abren todos los días?", "are you open every day?": the opening days, not a visit.
_OPENING = re.compile(
    r"\b(?:abr\w*|atiend\w*|trabaj\w*|open\w*|close\w*|cerr\w*|cierr\w*)\b"
)


def asks_recurring(text: str) -> bool:
    """Whether the customer asks for a visit that repeats (every week, each Monday)."""
    norm = normalize(text)
    return _RECURRING.search(norm) is not None and _OPENING.search(norm) is None
