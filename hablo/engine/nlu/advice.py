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
    r"|aconsejarian|sugeris|sugieres|sugiere|sugieren|sugeris|sugeririas|sugeriria"
    r"|sugeririan|conviene)"
)
_ASKS_ADVICE = re.compile(
    r"\b(?:"
    r"(?<!lo )(?<!la )(?<!el )(?:que|cual|cuales)(?: [a-z]+)? (?:me |nos )?" + _ADVISE +
    r"|(?:me|nos) (?:podes|puedes|puede|pueden|podrias|podria|podrian) (?:recomendar|aconsejar"
    r"|sugerir)"
    r"|recomendame|recomiendame|recomiendeme|recomiendenme|aconsejame|aconsejeme"
    r"|(?:me|nos) " + _ADVISE + r" (?:algo|alguno|alguna|uno|una)"
    r"|no se (?:que|cual) (?:hacerme|elegir|pedir|reservar|sacar|me conviene|hacer con mi)"
    r"|(?:what|which)(?: one| service| treatment)? (?:do|would|should|could) you (?:recommend"
    r"|suggest|advise)"
    r"|(?:any|got any|have any) (?:recommendations?|suggestions?)"
    r"|(?:can|could) you (?:recommend|suggest) (?:something|anything|one|a service)"
    r"|not sure what (?:to get|to book|i want|i need|to have done)"
    r"|(?:what|which) (?:one )?should i (?:get|book|go for|choose)"
    r")"
)


def asks_advice(text: str) -> bool:
    """Does the message ask the business what to choose?"""
    return _ASKS_ADVICE.search(plain(text)) is not None
