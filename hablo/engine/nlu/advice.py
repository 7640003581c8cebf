"""A customer who asks the business to recommend something ("¿qué me recomendás?", "no sé
qué hacerme en el pelo", "what would you suggest?"): no service named yet, and no price
or booking asked; what the business does, and a person to advise, is the answer."""

from __future__ import annotations

import re

from hablo.engine.nlu.text import plain

RECOMMEND = "recommend"

# The business asked, in the second or third person ("¿qué me recomendás?"), not the
# customer's own advice ("lo que te recomiendo") or a past one ("el que me recomendaron").
_ADVISE = (
    r"(?:recomendas|recomiendas|recomienda|recomiendan|recomendais|recomendarias|recomendaria"
    r"|recomendarian|aconsejas|aconseja|aconsejan|aconsejais|aconsejarias|aconsejaria"
    r"|aconsejarian|sugeris|sugieres|sugiere|sugieren|sugeririas|sugeriria|sugeririan)"
)
_ASKS_ADVICE = re.compile(
    r"\b(?:"
    r"(?<!lo )(?<!la )(?<!el )(?:que|cual|cuales)(?: (?P<what>(?!me |nos )[a-z]+))?"
    rf" (?:me |nos )?(?:{_ADVISE}|conviene)"
    r"|(?:me|nos) (?:podes|puedes|puede|pueden|podrias|podria|podrian) (?:recomendar|aconsejar"
    r"|sugerir)"
    r"|recomendame|recomiendame|recomiendeme|recomiendenme|aconsejame|aconsejeme"
    rf"|(?:me|nos) {_ADVISE}"
    r"|no se (?:que|cual) (?:hacerme|elegir|pedir|reservar|sacar|me conviene|hacer con mi)"
    r"|(?:what|which)(?: (?P<what_en>[a-z]+))? (?:do|would|should|could) you (?:recommend"
    r"|suggest|advise)"
    r"|(?:any|got any|have any) (?:recommendations?|suggestions?)"
    r"|(?:can|could) you (?:recommend|suggest)"
    r"|not sure what (?:to get|to book|i want|i need|to have done)"
    r"|(?:what|which) (?:one )?should i (?:get|book|go for|choose)"
    r")"
)
# What a business is asked to recommend ("¿qué tratamiento me recomendás?"), besides the
# services it names; "¿qué serie me recomendás?" is small talk, not a question for it.
_TRADE = frozenset(
    (
        *("servicio", "servicios", "tratamiento", "tratamientos", "opcion", "opciones"),
        *("corte", "cortes", "color", "colores", "tinte", "peinado", "look", "estilo"),
        *("procedimiento", "sesion", "sesiones", "clase", "clases", "paquete", "plan"),
        *("cosa", "cosas", "producto", "productos", "algo", "alguno", "alguna"),
        *("service", "services", "treatment", "treatments", "option", "options", "cut"),
        *("style", "colour", "package", "session", "class", "lesson", "product", "one"),
        *("something", "anything"),
    )
)
# When, not what: "¿qué día me conviene para el corte?" asks about days or times.
_WHEN_WORDS = frozenset(
    (
        *("dia", "dias", "fecha", "horario", "horarios", "hora", "horas", "turno", "turnos"),
        *("day", "days", "date", "time", "times", "slot", "slots"),
    )
)
# Words that bring in the thing recommended: "una serie", "a good restaurant".
_DETERMINERS = frozenset(
    ("un", "una", "unos", "unas", "el", "la", "los", "las", "algun", "a", "an", "the", "some")
)


def asks_advice(text: str, names_service: bool = False) -> bool:
    """Does the message ask the business what to choose? `names_service`: it names some
    of the business's services ("¿qué me recomendás, brushing o coloración?")."""
    said = plain(text)
    for found in _ASKS_ADVICE.finditer(said):
        what = found["what"] or found["what_en"]
        if what in _WHEN_WORDS:
            continue  # "¿qué horario me recomendás para la coloración?"
        if what and what not in _TRADE and not names_service:
            continue  # "¿qué serie me recomendás?"
        rest = said[found.end() :].split()
        brings = rest and rest[0] in _DETERMINERS and len(rest) > 1 and rest[1] not in _TRADE
        if brings and not names_service:
            continue  # "me recomendás una serie?", "can you recommend a restaurant?"
        return True
    return False
