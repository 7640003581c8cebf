"""The other language's words for the words of service names: a Spanish-speaking
customer of an English-named business asks for "una clase de prueba" (Trial lesson) or
"un corte de hombre" (Men's haircut). Only words that name a service and nothing else in
everyday speech ("baño" is also the bathroom, "uñas" reads as "unas", "cambio" moves a
booking): a word missing here is only not found, a wrong one finds a service nobody
asked for. Written as the matcher normalises (lowercase, no accents, ñ kept)."""

from __future__ import annotations

# English name word -> the Spanish words for it.
_EN_ES: dict[str, tuple[str, ...]] = {
    "lesson": ("clase", "leccion"),
    "class": ("clase",),
    "trial": ("prueba",),
    "maths": ("matematicas", "matematica", "mates"),
    "math": ("matematicas", "matematica", "mates"),
    "english": ("ingles",),
    "exam": ("examen",),
    "preparation": ("preparacion",),
    "haircut": ("corte",),
    "balayage": ("mechas", "reflejos"),
    "root": ("raiz", "raices"),
    "vaccination": ("vacuna", "vacunacion"),
    "cleaning": ("limpieza",),
    "sick": ("enfermo", "enferma"),
    "massage": ("masaje",),
    "manicure": ("manicura",),
    "pedicure": ("pedicura",),
    "beard": ("barba",),
    "shave": ("afeitado",),
    "whitening": ("blanqueamiento",),
    "extraction": ("extraccion",),
    "therapy": ("terapia",),
    "eyebrow": ("cejas", "ceja"),
    "lash": ("pestañas", "pestanas"),
}
_ES_EN: dict[str, set[str]] = {}
for _en, _words in _EN_ES.items():
    for _es in _words:
        _ES_EN.setdefault(_es, set()).add(_en)


def translations(word: str) -> tuple[str, ...]:
    """The other language's words for a word of a service name (normalised), if any."""
    return _EN_ES.get(word, ()) + tuple(sorted(_ES_EN.get(word, ())))
