"""Reading a customer's answer in the light of the booking flow's pending question.

The NLU reads a message alone; these readers know what was asked. After "¿a qué hora?"
a bare "5" is five o'clock; after a numbered list of times "3" is the third option but
"a las 3" is three o'clock; after "¿qué día?" a bare "22" is the 22nd.
"""

from __future__ import annotations

import re
from typing import Any

from hablo.engine.nlu.acts import (
    ASKING_WORDS,
    OTHER_DAY,
    SOONEST_WORDS,
    asks_cancel,
    starts_no,
    starts_yes,
)
from hablo.engine.nlu.datetimes import PERIOD_REFUSED
from hablo.engine.nlu.text import Phrase, normalize, plain

_ORDINALS = {
    "primera": 1, "primero": 1, "primer": 1, "first": 1, "1ra": 1, "1ro": 1, "1st": 1,
    "segunda": 2, "segundo": 2, "second": 2, "2da": 2, "2do": 2, "2nd": 2,
    "tercera": 3, "tercero": 3, "third": 3, "3ra": 3, "3ro": 3, "3rd": 3,
    "cuarta": 4, "cuarto": 4, "fourth": 4, "quinta": 5, "quinto": 5, "fifth": 5,
}  # fmt: skip
_LAST_WORDS = ("ultima", "ultimo", "last")
_OPTION_RE = re.compile(
    r"^(?:(?:la|el|lo|the|option|opcion|numero|number|nro|n|num|#)\s*)*"
    r"(?P<n>\d{1,2}|[a-z0-9]+)"
    r"(?:\s+(?:opcion|option|one|porfa|por favor|please|gracias|thanks|dale|esa|ese))*$"
)
_HOUR_RE = re.compile(
    r"^(?:(?:a|para|tipo|como|at|around|by)\s+)?(?:las\s+)?(?P<h>\d{1,2})(?:\s(?P<m>[0-5]\d))?"
    r"(?:\s*(?:hs|h|hrs|horas|hora))?(?:\s+(?:porfa|por favor|please|gracias|dale))*$"
)
_DAY_RE = re.compile(
    r"^(?:(?:el|para el|on the|the|for the)\s+)?(?:dia\s+)?(?P<d>\d{1,2})"
    r"(?:ro|ero|st|nd|rd|th)?$"
)
# "the first you have": the earliest free time (of the day, or of the range, said).
_FIRST = (
    r"lo antes posible|lo mas pronto|cuanto antes|el (?:mas )?(?:primero|temprano)"
    r"|lo mas temprano|el primer(?:o)? (?:libre|disponible|que haya)|asap|as soon as possible"
    r"|(?:el |la )?(?:primer|primera|proximo|proxima) (?:turno|cita|hueco|lugar|horario)"
    r" (?:libre|disponible|que (?:haya|tengas|tenes|tienes|tenga))|a primera hora"
    r"|(?:lo|la|el) primer[oa]? que (?:haya|tengas|tenes|tienes|tenga)"
    r"|next (?:available|opening|free)|the first (?:one |slot |time )?you have"
    r"|first thing|earliest|first available|soonest|cualquier (?:horario|hora|momento)"
    r"|any ?time (?:works|is (?:fine|ok|okay|good)|s (?:fine|ok|good))|whenever you have"
    r"|(?:a )?cualquier (?:hora|horario) (?:me sirve|me va|esta bien|va bien)"
    r"|la mas temprana|el mas temprano"
    r"|ahora mismo|ya mismo|right now|(?:tenes|tienes|hay) (?:turno|lugar|cita) ya"
    rf"|{SOONEST_WORDS}"
)
# "a primera hora", "la primera que tengas a la tarde": the first free time, not
# "any time before noon" (a range to choose from).
wants_first = Phrase(rf"\b(?:{_FIRST})\b")
# ... and the words that leave the choice to the bot ("lo antes posible", "cualquiera",
# "any"): the earliest of what is on the table.
wants_earliest = Phrase(
    rf"\b(?:{_FIRST}|cualquiera|any|whichever|whatever|whenever|no preference|doesn t matter"
    rf"|don t mind|me da igual|me da lo mismo|da igual|lo que sea"
    rf"|(?:el|la|lo) que (?:sea|haya|tengas|tenes|tienes|quieras|vos quieras|te quede comodo)"
    rf"|(?:elegi|elige|decidi|decide) (?:vos|tu)|you (?:choose|pick|decide)|your (?:call|choice))\b"
)
_PERIOD_RE = re.compile(
    r"\b(?:(?:a|por|en|de|durante)\s+la\s+(?P<es>manana|tarde|tardecita|noche)"
    r"|(?<!turno )(?<!cita )(?<!reserva )(?<!hora )(?<!dia )de\s+(?P<es2>tarde|manana)"
    r"|(?:in\s+the\s+)?(?P<part>late afternoon|early afternoon|late morning|early morning)"
    r"|in\s+the\s+(?P<en>morning|afternoon|evening)"
    r"|(?P<early>temprano|early|bien temprano|first thing)"
    r"|(?P<lunch>after lunch|despues (?:de|del) (?:almuerzo|almorzar|comer|mediodia))"
    r"|(?P<en2>morning|afternoon|evening))\b"
)
_GREETING_PERIOD = re.compile(
    r"^\s*(?:good\s+)?(?:morning|afternoon|evening)\s*[!,.]|\bgood\s+(?:morning|afternoon|evening)\b",
    re.IGNORECASE,
)
_PERIOD_HOURS = {
    # Noon itself is "mediodía": the afternoon starts at one (Spanish-speaking countries
    # lunch later still, but 13:00 is "la tarde" everywhere).
    "manana": (0, 12), "morning": (0, 12), "tarde": (13, 24), "tardecita": (15, 24),
    "afternoon": (12, 24), "noche": (18, 24), "evening": (17, 24),
    "late afternoon": (16, 24), "early afternoon": (12, 15), "late morning": (10, 12),
    "early morning": (0, 10),
    "temprano": (0, 11), "early": (0, 11), "bien temprano": (0, 10), "first thing": (0, 10),
    "after lunch": (13, 24), "despues de almuerzo": (13, 24), "despues del almuerzo": (13, 24),
    "despues de almorzar": (13, 24), "despues de comer": (13, 24),
    "despues del mediodia": (13, 24), "despues de mediodia": (13, 24),
}  # fmt: skip


_ACK_LEAD = re.compile(
    r"^(?:(?:vale|ok|okay|dale|bueno|si|yes|perfecto|perfect|genial|great|listo|entonces|then"
    r"|pues|mmm|eh|a ver|quiero|prefiero|i ll take|ill take|i want|i d like|id like|give me"
    r"|me quedo con|dame)\s+)+"
)
_PLEASE_TAIL = re.compile(
    r"(?:\s+(?:pls|plz|please|porfa|por favor|gracias|thanks|then|entonces))+$"
)


# "is 5 ok?", "how about 6:30?", "¿5 puede ser?", "las 4 te va?": an answer put as a question.
_ASKED_LEAD = re.compile(
    r"^(?:is|would|could|can you do|can we do|how about|what about|puede ser|podria ser"
    r"|seria)\s+(?=\d)"
)
_ASKED_TAIL = re.compile(
    r"\s+(?:ok|okay|works?|work for you|fine|good|possible|alright|any good|puede ser"
    r"|podria ser|se puede|esta bien|te sirve|sirve|te va|les va|va bien|anda|te queda bien)$"
)


def put_as_question(text: str) -> bool:
    """ "is 5 ok?", "¿5 puede ser?": a time the customer proposes, not a place in a list."""
    said = _unwrapped(text)
    core = _unasked(said)
    return core != said and _HOUR_RE.match(core) is not None


def _core(text: str) -> str:
    """The answer without "vale, …" before it or "…, please" after it, or the question
    put around it ("is 5 ok?")."""
    return _unasked(_unwrapped(text))


def _unwrapped(text: str) -> str:
    """Plain text without "vale, …" before it or "…, please" after it."""
    return _PLEASE_TAIL.sub("", _ACK_LEAD.sub("", plain(text)))


def _unasked(said: str) -> str:
    """An unwrapped answer without the question put around it ("is 5 ok?")."""
    return _ASKED_TAIL.sub("", _ASKED_LEAD.sub("", said))


def option_index(text: str, count: int) -> int | None:
    """1-based option a message picks from `count` offered ("2", "la tercera", "opción 1",
    "the last one"), or None. A clock time ("a las 3", "15hs") is not an option."""
    norm = _core(text)
    if not norm or count <= 0:
        return None
    if any(w in norm.split() for w in _LAST_WORDS) and len(norm.split()) <= 4:
        return count
    found = _OPTION_RE.match(norm)
    if found is None:
        return None
    word = found["n"]
    index = int(word) if word.isdigit() else _ORDINALS.get(word)
    return index if index is not None and 1 <= index <= count else None


def ordinal_index(text: str, count: int) -> int | None:
    """Like `option_index`, but only words ("la tercera", "opción 2", "the last one", "la
    2": hours are "las"): after "¿a qué hora? 09:00, 11:00…" a bare "3" is three o'clock,
    not the third, and so is "la 1" (one o'clock)."""
    core = _core(text)
    if re.fullmatch(r"(?:el |the )?\d{1,2}(?: .*)?|la 1(?: .*)?", core):
        return None
    return option_index(text, count)


def bare_hour(text: str) -> tuple[int, int] | None:
    """The hour and minute of an answer to "¿a qué hora?" said as a bare number ("5",
    "17 hs", "11.30 please")."""
    found = _HOUR_RE.match(_core(text))
    if found is None:
        return None
    hour, minute = int(found["h"]), int(found["m"] or 0)
    return (hour, minute) if 0 <= hour <= 23 else None


def day_of_month(text: str) -> int | None:
    """The day of an answer to "¿qué día?" said as a bare number ("22", "el 31")."""
    found = _DAY_RE.match(_core(text))
    if found is None:
        return None
    day = int(found["d"])
    return day if 1 <= day <= 31 else None


# "turno para corte el 31": in a booking request a bare "el 31" is the 31st.
_DAY_MENTION_RE = re.compile(
    r"\b(?:el|para el|del|the|on the|for the)\s+(?:dia\s+)?(?P<d>\d{1,2})"
    r"(?:ro|ero|st|nd|rd|th)?\b(?!\s*(?:[/:.,-]\d|hs?\b|horas?|hrs?|am|pm|personas?|people))"
)


def day_mention(text: str) -> int | None:
    """The day of the month a booking request names as "el 31", "the 16th"."""
    found = _DAY_MENTION_RE.search(normalize(text))  # keeps ":" and "/": "el 10:30" is a time
    if found is None:
        return None
    day = int(found["d"])
    return day if 1 <= day <= 31 else None


_TO_HOUR_RE = re.compile(
    r"\b(?:to|till|para las|a las)\s+(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\b(?![:/.,]\d)"
)


def to_hour(text: str) -> tuple[int, int] | None:
    """ "push it to 3", "pasalo a las 4": the hour (and minutes) a booking moves to."""
    found = _TO_HOUR_RE.search(normalize(text))
    if found is None or int(found["h"]) > 23:
        return None
    return int(found["h"]), int(found["m"] or 0)


# "same time", "a la misma hora" to a proposal that keeps the time: a yes.
same_time = Phrase(
    r"^(?:(?:si|yes|ok|dale|yeah|yep)\s+)?(?:a\s+)?(?:la\s+)?(?:misma hora|same time)"
    r"(?:\s+(?:esta bien|please|porfa|is fine|works))?$"
)


# "el martes a la misma hora", "Tuesday at the same time": the time already held.
keeps_time = Phrase(
    r"\b(?:(?:a |en )?(?:la )?misma hora|mismo horario|(?:at )?(?:the )?same time)\b"
)


_NEW_HOUR_RE = re.compile(
    r"\b(?:could it be|can it be|could we do|can we do|make it|how about|what about|rather"
    r"|puede ser a las|podria ser a las|mejor a las|y a las|mejor|better at|better)"
    r"\s+(?:at\s+)?(?P<h>\d{1,2})(?::(?P<m>\d{2}))?(?!\s*(?:am|pm|hs|h)\b)(?![\d:/])"
)


def new_hour(text: str) -> tuple[int, int] | None:
    """ "actually could it be 10", "mejor 5": another hour, bare, for the proposal."""
    found = _NEW_HOUR_RE.search(plain(text))
    if found is None or int(found["h"]) > 23:
        return None
    return int(found["h"]), int(found["m"] or 0)


# "push it to the following week", "pasalo a la semana siguiente": same day, +7.
week_later = Phrase(
    r"\b(?:(?:to |for |a |para )?(?:the )?(?:following|next) week"
    r"|la semana (?:siguiente|que viene|proxima)|a la otra semana"
    r"|una semana (?:despues|mas tarde)|a week later)\b"
)


# "esta semana", "la semana que viene", "this week", "next week": a date mention that is a
# whole week rather than a day ("esta semana" reads as today).
names_week = Phrase(r"\b(?:semana|week)\b")

# "urgente antes del sábado", "can I get in before friday?": the days up to that one, not
# that one ("by friday", "a más tardar el viernes" include it).
_BEFORE_DAY = re.compile(
    r"\b(?:(?P<before>antes del?|before)|(?:by|no later than|a mas tardar(?: el)?|como mucho"
    r"(?: el)?|maximo(?: el)?))\s+(?:(?:this|next|the|este|esta|el|la)\s+)?"
    r"(?:lunes|martes|miercoles|jueves|viernes|sabado|domingo|monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday|finde|fin de semana|weekend|\d{1,2}(?:st|nd|rd|th)?\b)"
)


def days_up_to(text: str) -> int | None:
    """How many days before the day a message names the booking must be: 1 for "antes
    del sábado", 0 for "by saturday"; None when it names no such limit."""
    found = _BEFORE_DAY.search(plain(text))
    if found is None:
        return None
    return 1 if found["before"] else 0


def lone_number(text: str) -> int | None:
    """The one small number of a short answer ("ok 4 then", "dale, 3"), or None."""
    words = plain(text).split()
    numbers = [w for w in words if w.isdigit() and len(w) <= 2]
    return int(numbers[0]) if len(numbers) == 1 and len(words) <= 4 else None


def bare_number(text: str) -> int | None:
    """A number said alone ("2", "2 porfa", "ok 3"): an hour or a place in a list,
    whichever the list makes it; "a las 2", "2pm", "14 hs" are hours."""
    core = _core(text)
    return int(core) if re.fullmatch(r"\d{1,2}", core) else None


# "a las 10 no puedo", "10 doesn't work for me": the time on the table refused.
turns_down = Phrase(
    r"\b(?:no (?:puedo|me sirve|me queda|me viene|llego|voy a poder)|can t|cannot|cant"
    r"|doesn t work|does not work|won t work)\b"
)


_OTHER_DAY_RE = re.compile(OTHER_DAY)


_ASKING_RE = re.compile(rf"^(?:y|and|what about|how about)\b|\b(?:{ASKING_WORDS})\b")


def asks_other_day(text: str) -> bool:
    """ "¿y otro día?", "no me sirve ninguno, ¿otro día?": a question, not "otro día
    vengo" (which closes the topic)."""
    norm = plain(text)
    return bool(_OTHER_DAY_RE.search(norm)) and (
        "?" in text or turns_down(text) or bool(_ASKING_RE.search(norm))
    )


# "¿no tenés otro horario?", "any other times?": more of the day's free times.
asks_other_times = Phrase(
    r"\b(?:otros? horarios?|otras? horas?|otro turno|otras opciones|otra opcion"
    r"|other (?:times?|slots?|options?)|another (?:slot|time slot)|different times?"
    r"|(?:any|anything) else|(?:do|have|get|try) (?:another|a different) time"
    r"|en otro (?:momento|horario))\b"
)


def confirms_cancel(step: str, text: str) -> bool:
    """ "cancelalo nomás", "yes cancel it", "sí, anulala" to "¿Cancelo tu turno…?"."""
    cancelling = step in ("confirm_cancel", "confirm_cancel_all")
    return cancelling and (asks_cancel(text) or starts_yes(text))


# "ahí estaré", "nos vemos mañana", "I'll be there": coming, said to a reminder.
_COMING = Phrase(
    r"(?<!\bno )(?<!\bnot )\b(?:ahi|alli|aca|alla) (?:estare|estaremos|voy a estar|vamos a estar"
    r"|nos vemos|estoy|estamos)|(?<!\bno )\b(?:asistire|voy a ir|voy sin falta|sin falta"
    r"|cuenten conmigo|cuente conmigo|cuenta conmigo|nos vemos|(?:alli|ahi) voy)"
    r"|\b(?:i ll be there|ill be there|i will be there|we ll be there|see you (?:tomorrow|then"
    r"|there|soon|manana)|count me in|i ll come|i will come|i m coming|still coming)\b"
)


def confirms_coming(step: str, text: str) -> bool:
    """ "ahí estaré", "see you tomorrow" to the reminder's "¿Confirmás que venís?"."""
    return step == "confirm_reminder" and _COMING(text) and not starts_no(text)


# "no, mejor déjela como está", "leave it as it is": a move declined, the booking stays.
keeps_as_is = Phrase(
    r"\b(?:(?:dejal[oa]|dejel[oa]|dejamel[oa]|dejemosl[oa]) (?:como (?:esta|estaba)|asi)"
    r"|(?:que )?(?:quede|se quede) (?:como esta|asi)|no (?:lo|la) (?:cambies|cambie|muevas|mueva)"
    r"|leave it(?: as it is| as is| then)?$|keep it(?: as it is| as is)?$|leave it as (?:it )?is"
    r"|keep it as (?:it )?is|never ?mind)\b"
)


# "cancelame todo", "los dos", "cancel both": every booking held.
means_all = Phrase(
    r"\b(?:todo|todos|todas|los dos|las dos|ambos|ambas|los tres|las tres|all|both|all of them"
    r"|everything)\b"
)


# "cancel the second one", "el primero", "la última": a booking singled out by its place
# in the customer's list (days and hours are not: "the first you have" is wants_first).
_BOOKING_ORDINAL_RE = re.compile(
    r"\b(?:el|la|the|my|mi)\s+(?P<w>primer[oa]?|segund[oa]|tercer[oa]?|ultim[oa]|first"
    r"|second|third|last)\b(?!\s+(?:hora|hour|thing|libre|disponible|available|que|you|dia"
    r"|day|semana|week))"
)
# "no, the other one", "no no, el otro": of two bookings, the one not just named.
means_other = Phrase(
    r"\b(?:el otro|la otra|the other|other one|not that one|ese no|esa no)\b"
    r"(?!\s+(?:dia|day|semana|week|mes|month))"
)


def booking_ordinal(text: str, count: int) -> int | None:
    """1-based place of the booking a message names by order ("the second one") among
    `count` listed, or None."""
    found = _BOOKING_ORDINAL_RE.search(plain(text))
    if found is None:
        return None
    word = found["w"]
    index = count if word in _LAST_WORDS else _ORDINALS.get(word)
    return index if index is not None and 1 <= index <= count else None


def period_hours(text: str) -> tuple[int, int] | None:
    """The hours a period names ("a la tarde" -> 13..24), or None ("good morning!" and a
    "morning!" opening the message greet: no period)."""
    said = plain(_GREETING_PERIOD.sub(" ", text))
    for found in _PERIOD_RE.finditer(said):
        if PERIOD_REFUSED.search(said, 0, found.start()):
            continue  # "no puedo a la mañana, después de las 4": not the morning
        word = next(g for g in found.groups() if g)
        return _PERIOD_HOURS[word]
    return None



# "tengo que estar lista para las 12", "I need to be done by 12": the service must END
# by the time said, not start at it.
ends_by = Phrase(
    r"\b(?:(?:estar|estes?|quedar|quede|quedes|este|estoy) (?:list[oa]s?|pronto)"
    r"|list[oa]s? (?:para|antes de)|(?:termin|acab)\w* (?:para|antes de|a) las?"
    r"|(?:me tengo que|tengo que|debo|necesito) (?:salir|irme|ir me)|me tengo que ir"
    r"|(?:done|finished|ready|out of there|out) (?:by|before)"
    r"|(?:have|need|got) to (?:leave|go|be out)(?! (?:my|the|it|him|her|them|off|a|an)\b)"
    r"(?: by| at| before)?"
    # "tengo que estar en el trabajo a las 2", "I need to be at work by 2"
    r"|(?:tengo que|debo|necesito) estar en (?:el|la|mi|lo) \w+(?: de \w+)? (?:a|para) las?"
    r"|(?:have|need|got) to be (?:at|in) (?:work|the office|school|class|my \w+|the \w+)"
    r" (?:by|at|before)"
    # "a las 12 tengo un casamiento", "I have to pick up my kids at 3"
    r"|a las? \d{1,2}(?: \d\d)? (?:tengo|entro|me caso|trabajo|me tengo que)"
    r"|tengo (?:un|una|el|la) (?:casamiento|boda|evento|fiesta|reunion|entrevista|vuelo|clase"
    r"|cumple\w*|compromiso) (?:a las?|para las?)"
    r"|(?:have|got) (?:a|an|my) (?:wedding|event|party|meeting|interview|flight|class|shift)"
    r" (?:at|by)|(?:pick up|collect) (?:my |the )?(?:kids|children|son|daughter|kid|boy|girl)"
    r"(?: from school)? at|at \d{1,2}(?: \d\d)?(?: ?(?:am|pm))? i (?:have|ve got|need to))\b"
)


# "a las 10 los dos", "10am for both": the time holds for every booking asked.
for_all = Phrase(
    r"\b(?:los dos|las dos|ambos|ambas|los 2|las 2|todos|todas|both|for all|all of them"
    r"|cada uno|cada dia|each|same time (?:both|each|for))\b"
)


_BOUND = r"\s+(?:\d|noon|midday|mediodia|la una|las (?:dos|tres|cuatro|cinco|seis|siete))"
_BEFORE_RE = re.compile(
    r"\b(?:antes del?(?: las?| la)?|before|hasta(?: las?| el)?|until|till"
    r"|no mas tarde de(?: las?)?)" + _BOUND
)
_AFTER_RE = re.compile(
    r"\b(?:despues del?(?: las?| la)?|after|desde(?: las?)?|a partir del?(?: las?)?"
    r"|pasadas las|later than)" + _BOUND
)


# "trabajo hasta las 5", "salgo del laburo a las 5", "I work until 5", "I get off at 5":
# busy until then, so free AFTER it (not "before 5" for its "hasta").
_BUSY_UNTIL_RE = re.compile(
    r"\b(?:(?:trabajo|laburo|curro|estudio|estoy (?:en (?:el|la|mi) )?(?:trabajo|laburo|curro"
    r"|oficina|facu|facultad|escuela|colegio|clase|clases)|i work|i m at work|im at work"
    r"|i am at work|i m working|im working|i am working|i m in the office|i have work"
    r"|i m in class)\s+(?:hasta|until|till|til|to)(?: las?)?"
    r"|(?:salgo|salimos)(?: de(?:l)? (?:trabajo|laburo|curro|oficina|facu|escuela|colegio))?"
    r" (?:a las?|tipo|como a las?)|(?:i )?(?:get|am|m) (?:off|out)(?: of work| work)? (?:at|around)"
    r"|(?:i )?(?:finish|leave) work (?:at|around))" + _BOUND
)


def window(text: str, when: Any) -> tuple[int, int] | None:
    """The minutes of the day a customer accepts: "a la tarde" (13:00-24:00), "antes de
    las 12" / "any time before noon" (until 12:00), "después de las 5" and "trabajo
    hasta las 5" (from 17:00)."""
    if when is not None and getattr(when, "has_time", False):
        said = plain(text)
        minute = when.start.hour * 60 + when.start.minute
        if _BUSY_UNTIL_RE.search(said):
            return (minute, 24 * 60)
        if _BEFORE_RE.search(said):
            return (0, minute)
        if _AFTER_RE.search(said):
            return (minute, 24 * 60)
        return None  # "a las 3 de la tarde" is three o'clock, not the afternoon
    hours = period_hours(text)
    return None if hours is None else (hours[0] * 60, hours[1] * 60)


# "¿cuánto sale?", "¿cuánto tarda?", "how long does it take?". A bare "vale" / "sale" is
# Spain's and Mexico's "OK" ("vale, ¿y el jueves?"): a price only after "cuánto" / "qué".
asks_price = Phrase(
    r"\b(?:cuanto|precio|(?:que|q) (?:sale|vale)|cuesta|how much|price|cost|tarda|dura|demora"
    r"|how long)\b"
)


# "wait is that 2pm?", "¿o sea a las 2 de la tarde?", "¿es a las 10 de la mañana?": the
# time proposed, checked (a question), not accepted.
_CHECKS_RE = re.compile(
    r"\b(?:wait|hold on|is that|is it|that s|that is|so it s|so that s|espera|espere|o sea"
    r"|es a las|seria a las|entonces es|entonces seria|es de la|de la tarde|de la manana"
    r"|de la noche|in the (?:morning|afternoon|evening)|pm|am)\b"
)


def checks_time(text: str) -> bool:
    """ "wait is that 2pm?" to "Shall I book … at 2:00 PM?": the time asked back, to be
    answered (and the question asked again), not a yes."""
    return "?" in text and not starts_yes(text) and _CHECKS_RE.search(plain(text)) is not None


# "no sé, ¿qué tenés?", "what do you have?", "not sure, what are the options?" to "¿para
# qué servicio?": the services, with their prices, before asking again.
asks_what_there_is = Phrase(
    r"\b(?:que (?:tenes|tienes|tienen|tiene|hay|hacen|haces|ofrecen|ofreces|servicios)"
    r"|no se que (?:pedir|hacerme|elegir|quiero)|que me (?:recomendas|recomiendas|ofreces)"
    r"|what do you (?:have|do|offer)|what (?:have you got|are the options|options)"
    r"|what services|not sure what|dunno what)\b"
)
