"""The trade's words in the other language: services are often named in one only, and a
customer says "corte de mujer" (Women's haircut), "uñas" (the manicure or the pedicure),
"una clase de prueba" (Trial lesson). nlu/unknown.py tries a question's thing in these
spellings; nlu/services.py indexes each word of a name under the other language's words
for it. Written as the matcher normalises (lowercase, no accents, ñ kept). Only words
that name a service and nothing else in everyday speech ("baño" is also the bathroom,
"cambio" moves a booking): a word missing here is only not found, a wrong one finds a
service nobody asked for."""

from __future__ import annotations

# A word or phrase -> its alternatives, each tried on its own.
GLOSSARY: dict[str, tuple[str, ...]] = {
    "uñas de los pies": ("pedicure", "pedicura"),
    "uñas de las manos": ("manicure", "manicura"),
    "uñas": ("nails", "manicure", "manicura", "pedicure", "pedicura"),
    "nails": ("uñas", "manicura", "pedicura"),
    # the verb only ("baño" is also the bathroom)
    "bañar": ("bath",),
    "bañarlo": ("bath",),
    "bañarla": ("bath",),
    "corte": ("haircut", "cut"),
    "cortes": ("haircut", "cut"),
    "haircut": ("corte",),
    "cut": ("corte",),
    "trim": ("haircut", "corte"),
    "mujer": ("women",),
    "dama": ("women",),
    "señora": ("women",),
    "hombre": ("men",),
    "caballero": ("men",),
    "women": ("mujer", "dama"),
    "men": ("hombre", "caballero"),
    "niño": ("kids",),
    "niños": ("kids", "pediatrica", "infantil"),
    "big": ("large",),
    "grande": ("large",),
    "grandes": ("large",),
    "large": ("grande",),
    "kids": ("niños",),
    "secado": ("blowout", "blow dry"),
    "peinado": ("blowout", "blow dry"),
    "blowout": ("brushing", "secado"),
    "tinte": ("colour", "color", "balayage"),
    "color": ("colour", "coloracion", "balayage", "root touch up"),
    "colour": ("color", "coloracion", "balayage", "root touch up"),
    "coloracion": ("colour", "color", "balayage"),
    # Highlights are a colouring: the highlights service where there is one, else colour.
    "mechas": ("highlights", "balayage", "coloracion", "color"),
    "reflejos": ("highlights", "mechas", "balayage", "coloracion", "color"),
    "highlights": ("mechas", "balayage", "colour", "color"),
    "raices": ("root",),
    "raiz": ("root",),
    "pestañas": ("lash",),
    "lashes": ("pestañas",),
    "cejas": ("eyebrow", "brow"),
    "brows": ("cejas",),
    "eyebrows": ("cejas",),
    "depilacion": ("waxing", "hair removal"),
    "waxing": ("depilacion",),
    "masaje": ("massage",),
    "masajes": ("massage",),
    "massage": ("masaje",),
    "facial": ("limpieza facial",),
    "frenos": ("brake",),
    "brakes": ("frenos",),
    "aceite": ("oil",),
    "oil": ("aceite",),
    "revision": ("check up", "checkup", "inspection"),
    "chequeo": ("check up", "checkup", "inspection"),
    "control": ("check up", "checkup"),
    "check up": ("revision", "consulta"),
    "checkup": ("revision", "consulta"),
    "consultation": ("consulta",),
    "consulta": ("consultation",),
    "vacunas": ("vaccinations", "shots"),
    "shots": ("vacunas",),
}


# A word of an English service name -> the Spanish words for it, to find the service by
# (nlu/services.py): words of one meaning only ("tinte" may be the balayage or the root
# touch-up, "niño" a kids' cut or a paediatric visit: the questions' spellings above read
# those, and the sizes, genders and children's services have their own readers).
_NAME_WORDS: dict[str, tuple[str, ...]] = {
    "lesson": ("clase", "leccion"),
    "class": ("clase",),
    "trial": ("prueba",),
    "maths": ("matematicas", "matematica", "mates"),
    "math": ("matematicas", "matematica", "mates"),
    "english": ("ingles",),
    "exam": ("examen",),
    "preparation": ("preparacion",),
    "haircut": ("corte",),
    "root": ("raiz", "raices"),
    "vaccination": ("vacuna", "vacunacion", "vacunar"),
    "cleaning": ("limpieza",),
    # "teeth cleaning" is the Dental cleaning (said in plain words, either language)
    "dental": ("dientes", "diente", "teeth", "tooth"),
    "sick": ("enfermo", "enferma"),
    "massage": ("masaje",),
    "manicure": ("manicura",),
    "pedicure": ("pedicura",),
    "beard": ("barba",),
    "nail": ("uñas", "uña", "unas"),
    "shave": ("afeitado",),
    "whitening": ("blanqueamiento",),
    "extraction": ("extraccion",),
    "therapy": ("terapia",),
    "eyebrow": ("cejas", "ceja"),
    "lash": ("pestañas", "pestanas"),
}
_SPANISH_NAME_WORDS: dict[str, tuple[str, ...]] = {}
for _english, _spanish in _NAME_WORDS.items():
    for _word in _spanish:
        _SPANISH_NAME_WORDS[_word] = (*_SPANISH_NAME_WORDS.get(_word, ()), _english)


def translations(word: str) -> tuple[str, ...]:
    """The other language's words for a word of a service name (normalised), if any."""
    return _NAME_WORDS.get(word, ()) + _SPANISH_NAME_WORDS.get(word, ())
