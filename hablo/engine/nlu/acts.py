"""Short conversational acts read by rule, before the classifier: yes / no, goodbye,
acknowledgement, laughter, "what can you do?", and follow-ups that lean on the previous
turn ("¿y el sábado?", "and for a beard trim?").

The classifier is good at requests and poor at these: "sí, gracias" scores as thanks,
"👍" normalises to nothing, "jaja" is out of scope. A rule is only trusted when the
whole message is the act plus polite filler, so "sí, pero a las 5" is left to the slot
readers (a yes with a correction).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from hablo.engine.nlu.text import Phrase, plain

AFFIRM = "affirm"
DENY = "deny"
GOODBYE = "goodbye"
ACK = "ack"
LAUGH = "laugh"
HELP = "help"
THANKS = "thanks"
# "no entendés nada", "this is useless": the customer is fed up with the bot.
COMPLAINT = "complaint"
_THANKS_RE = re.compile(r"\b(?:gracias|thanks|thank you|thx|ty)\b")

_YES = (
    "si|sii|sip|sis|see|sep|dale|de una|ok|okay|oka|okey|oki|okis|k|perfecto|perfect|confirmo"
    "|confirmado|confirmar|confirmalo|confirmame|confirm|confirmed|listo|genial|claro|obvio|exacto"
    "|correcto|joya|buenisimo|barbaro|excelente|va|vale|venga|sale|orale|andale|simon|bueno|bien"
    "|esta bien|me sirve|me queda bien|me viene bien|de acuerdo|por supuesto|seguro|afirmativo"
    "|yes|yeah|yep|yup|yea|ya|sure|great|correct|absolutely|of course|sounds good|go ahead"
    "|please do|do it|book it|reservalo|reservame|agendalo|agendame|anotame|anotalo|hecho|super"
    "|fine|alright|all right|cool|awesome|thats fine|that works|works for me|that s fine"
    "|bet|for sure|fosho|sounds great|deal|yessir|aight|ight|lets do it|let s do it"
    "|lovely|brilliant|ta|go on then|spot on|grand|smashing|perfecto entonces|de diez"
)
_NO = (
    "no|nop|nope|nah|noo|naa|mejor no|no gracias|para nada|negativo|not really|no thanks"
    "|no thank you|dont|no puedo|tampoco|ninguno|ninguna|none|neither"
)
# What may follow a yes/no without changing it ("sí, gracias", "dale, perfecto").
_FILLER = (
    "gracias|muchas gracias|mil gracias|thanks|thank you|thx|porfa|por favor|please|pls|plis"
    "|perfecto|genial|dale|buenisimo|bueno|listo|claro|obvio|joya|ok|vale|si|yes|sure|great"
    "|ahi|ahi va|entonces|asi|nomas|no mas|eso|seria|esta|confirmo|that|one|is|it|good|fine"
    "|cheers|mate|lovely|brilliant|ta|then"
)
_YES_RE = re.compile(rf"^(?:(?:{_YES})\b\s*)+(?:(?:{_FILLER})\b\s*)*$")
_NO_RE = re.compile(rf"^(?:{_NO})\b\s*(?:(?:{_FILLER})\b\s*)*$")
_GOODBYE_RE = re.compile(
    r"\b(?:chau|chao|chaito|adios|hasta luego|hasta pronto|hasta manana|hasta la proxima"
    r"|nos vemos|nos hablamos|bye|goodbye|see you|see ya|cya"
    r"|que tengas buen dia|have a (?:nice|good) (?:day|one))\b"
)
_HELP_RE = re.compile(
    r"\b(?:que (?:podes|puedes|puede|sabes|sabe) hacer|en que (?:me )?(?:podes|puedes|puede)"
    r" ayudar|que haces|para que servis|como funciona|what can you do|what do you do"
    r"|how does this work|what can i ask|help me|ayuda|help|menu|opciones)\b"
)
_HELP_TO_BOOK = re.compile(
    r"\b(?:book|booking|appointment|schedule|turno|cita|reservar|agendar|sacar|pedir hora)\b"
)
_LAUGH_RE = re.compile(
    r"^(?:(?:ja|je|ji|js|ha|he|lo+l|xd|lmao|jaj|jsj)+\s*)+(?:(?:ok|okay|dale|bueno|si|yes)\b\s*)*$"
)
# Frustration with the bot itself, not a request: a person is offered at once.
_COMPLAINT_RE = re.compile(
    r"\b(?:no (?:me )?(?:entendes|entiendes|entiende|entendiste|entendio|capt\w+) nada"
    r"|no (?:me )?(?:estas|esta) entendiendo|no (?:me )?entendes|no me entiendes"
    r"|no (?:sirve|sirves|servis) (?:para )?nada|que bot (?:mas )?(?:inutil|malo|tonto)"
    r"|(?:sos|eres|es) (?:un )?(?:inutil|desastre)|bot (?:inutil|de mierda)"
    r"|you (?:dont|do not|don t) (?:understand|get it)|(?:this|you) (?:is|are) useless"
    r"|useless bot|stupid bot|you re useless|youre useless)\b"
)
# Emoji and signs people send as "ok", with nothing else in the message.
_ACK_SIGNS = frozenset("👍👌🙌✅🙏😊🙂😀😁😃😄👏💪🤝❤♥💯✌🆗😉👋🏻🏼🏽🏾🏿\ufe0f")
_LAUGH_SIGNS = frozenset("😂🤣😆😅😹🏻🏼🏽🏾🏿\ufe0f")
# A raised hand ("🙋‍♀️", with its skin tone and gender joined on) opens a chat: hello.
_HELLO_SIGNS = frozenset("🙋🏻🏼🏽🏾🏿\u200d\u2640\u2642\ufe0f")
GREETING = "greeting"
ASK_AWAY = "ask_away"
# "una pregunta", "te hago una consulta", "quick question": the question comes next.
_QUESTION_COMING_RE = re.compile(
    r"^(?:(?:hola|holaa|buenas|buen dia|hi|hey|hello|disculpa|disculpe|perdon)\s+)*"
    r"(?:(?:te|le|les) (?:hago|queria hacer) )?(?:una|un par de|a|one|quick)\s+"
    r"(?:pregunta|preguntas|consulta|consultita|consultas|question|quick question)"
    r"(?:\s+(?:porfa|por favor|please))?$"
)

# "¿y el sábado?", "y para barba?", "and on sunday?", "what about friday?", "¿y mañana?"
_FOLLOW_UP_RE = re.compile(
    r"^(?:(?:ok|okay|bueno|dale|vale|ah)\s+)?"
    r"(?:y|e|and|what about|how about|o|or|entonces|tambien)\b"
)
# "eso", "el mismo", "ese", "that one", "the same": the service named last.
refers_to_same = Phrase(
    r"\b(?:eso|ese|esa|el mismo|lo mismo|la misma|ese servicio|ese mismo|that|that one"
    r"|the same|same one|same thing)\b"
)


def _signs(text: str, allowed: frozenset[str]) -> bool:
    stripped = "".join(ch for ch in text if not ch.isspace())
    return bool(stripped) and all(ch in allowed for ch in stripped)


def read_act(text: str) -> str | None:
    """The act a whole message is, or None when it says more than an act."""
    if _signs(text, _ACK_SIGNS):
        return AFFIRM
    if _signs(text, _HELLO_SIGNS):
        return GREETING
    if _QUESTION_COMING_RE.match(plain(text)):  # "una consulta": go ahead, ask
        return ASK_AWAY
    if _signs(text, _LAUGH_SIGNS):
        return LAUGH
    norm = plain(text)
    if not norm:
        return None
    if _COMPLAINT_RE.search(norm) and len(norm.split()) <= 10:
        return COMPLAINT
    if _YES_RE.match(norm):
        # "listo, gracias" is thanks; the engine reads it as a yes where one is awaited.
        return THANKS if _THANKS_RE.search(norm) and not starts_yes(norm) else AFFIRM
    if _NO_RE.match(norm):
        return DENY
    if _LAUGH_RE.match(norm):
        return LAUGH
    words = norm.split()
    if len(words) <= 8 and _GOODBYE_RE.search(norm) and not _asks_something(norm):
        return GOODBYE
    if len(words) <= 8 and _HELP_RE.search(norm) and not _THANKS_RE.search(norm):
        # "can you help me book a trial?", "ayuda para sacar un turno": a booking
        return None if _HELP_TO_BOOK.search(norm) else HELP
    return None


def waves_hello(act: str | None, messages_before: int) -> bool:
    """ "👋", "👍", "ok" opening a chat: a yes that answers no question of ours is a
    hello (`act` as read_act or the classifier read it)."""
    return act == AFFIRM and messages_before == 0


def _asks_something(norm: str) -> bool:
    return bool(re.search(r"\b(?:turno|cita|precio|cuanto|horario|hora|book|price)\b", norm))


_SHIFT_RE = re.compile(
    r"\b(?:(?P<later>mas tarde|mas tardecito|un (?:poco|rato|toque) (?:mas tarde|despues)"
    r"|later)|(?P<earlier>mas temprano|mas tempranito|un (?:poco|rato|toque) (?:antes"
    r"|mas temprano)|earlier|sooner))\b"
)
# A request, not a plan: "se puede más tarde?", not "más tarde te escribo".
_CAN_RE = re.compile(
    r"\b(?:se puede|(?:lo |la )?(?:puedo|podemos|podes|podrias|puedes|podria|pueden|podrian)"
    r"|pasar\w*|mover\w*|cambiar\w*|correr\w*|hay (?:algo|lugar|turno|cita)|tenes|tienes"
    r"|tienen|can (?:we|i|you)|could (?:we|i|you)|move|push|make it|do it|anything"
    # "nah, later than that", "something a bit earlier", "algo más tarde porfa"
    r"|than that|que eso|something|algo|a bit|a little|please|porfa|por favor)\b"
)


_SHIFT_BY_RE = re.compile(
    r"\b(?P<n>una|un|1|media|dos|2|tres|3|30|15|45|an|half an|a half)\s*"
    r"(?P<unit>horas?|hs|hrs?|hours?|minutos?|mins?|minutes?)?\s+"
    r"(?:mas\s+)?(?P<dir>mas tarde|despues|later|antes|mas temprano|earlier|before)\b"
)
_SHIFT_COUNTS = {"una": 1, "un": 1, "1": 1, "an": 1, "dos": 2, "2": 2, "tres": 3, "3": 3}


# "push it back an hour", "bring it forward half an hour": English moves by an amount.
_PUSH_BY_RE = re.compile(
    r"\b(?P<dir>push|move|put|bump)\w* (?:it |that |me |my appointment )?(?:back|forward)"
    r"(?: by)? (?P<n>an|half an|1|2|two|30|15|45) ?(?P<unit>hours?|hrs?|mins?|minutes?)\b"
    r"|\b(?P<fwd>bring)\w* (?:it |that )?forward(?: by)? (?P<n2>an|half an|1|30|15|45)"
    r" ?(?P<unit2>hours?|hrs?|mins?|minutes?)\b"
)


# "¿me lo adelantás media hora?", "atrasalo una hora", "¿puedo retrasar la cita una
# hora?": the verb says the direction (the booking may be named between them).
_MOVED_BY_VERB_RE = re.compile(
    r"\b(?P<dir>adelant|atras|retras)\w*"
    r"(?: (?:la|el|mi|tu|su) (?:cita|turno|reserva|hora|horario))? (?P<n>una|un|media|1|2|dos"
    r"|30|15|45)\s*"
    r"(?P<unit>horas?|hs|hrs?|minutos?|mins?)?\b"
)


def _moved_by_verb(norm: str) -> int | None:
    found = _MOVED_BY_VERB_RE.search(norm)
    if found is None:
        return None
    n, unit = found["n"], found["unit"] or ""
    if n == "media":
        minutes = 30
    elif n in ("30", "15", "45") and not unit.startswith("h"):
        minutes = int(n)
    elif unit.startswith(("h", "hora")) and n in _SHIFT_COUNTS:
        minutes = 60 * _SHIFT_COUNTS[n]
    else:
        return None
    return -minutes if found["dir"] == "adelant" else minutes


def _pushed_by(norm: str) -> int | None:
    """ "push it back an hour" -> 60, "bring it forward 30 minutes" -> -30."""
    found = _PUSH_BY_RE.search(norm)
    if found is None:
        return None
    n, unit = found["n"] or found["n2"], found["unit"] or found["unit2"]
    count = {"an": 1, "1": 1, "2": 2, "two": 2}.get(n)
    minutes = 30 if n == "half an" else 60 * count if unit.startswith("h") and count else None
    if minutes is None and n in ("30", "15", "45") and unit.startswith("m"):
        minutes = int(n)
    if minutes is None:
        return None
    earlier = found["fwd"] is not None or "forward" in found.group(0)
    return -minutes if earlier else minutes


def shift_minutes(text: str) -> int | None:
    """ "una hora más tarde" -> 60, "media hora antes" -> -30, "an hour later" -> 60,
    "push it back an hour" -> 60."""
    norm = plain(text)
    found = _SHIFT_BY_RE.search(norm)
    if found is None:
        pushed = _pushed_by(norm)
        return pushed if pushed is not None else _moved_by_verb(norm)
    n, unit = found["n"], found["unit"] or ""
    if n in ("media", "half an", "a half"):
        minutes = 30
    elif n in ("30", "15", "45"):
        if unit.startswith(("h", "hs")):
            return None
        minutes = int(n)
    elif unit.startswith(("hora", "hour", "hs", "hr")):
        minutes = 60 * _SHIFT_COUNTS[n]
    else:
        return None
    later = found["dir"] in ("mas tarde", "despues", "later")
    return minutes if later else -minutes


def asks_shift(text: str) -> str | None:
    """ "¿se puede más tarde?", "could we do it a bit earlier?": "later" or "earlier"
    than the time on the table (a proposal, or the customer's booking)."""
    norm = plain(text)
    found = _SHIFT_RE.search(norm)
    # "no, más tarde" to the times listed: a request too (a plan has more words)
    refused = norm.startswith(("no ", "nah ", "nope ")) and len(norm.split()) <= 4
    if found is None or not (_CAN_RE.search(norm) or text.rstrip().endswith("?") or refused):
        return None
    return "later" if found["later"] else "earlier"


_REMINDER_RE = re.compile(r"\b(?:recordatorios?|reminders?)\b")
_REMIND_RE = re.compile(r"\b(?:recorda\w*|recuerd\w*|avis\w*|remind\w*|text me|message me)\b")
_BEFORE_RE = re.compile(r"\b(?:antes|before|dia anterior|day before|previo|the day prior)\b")


def asks_reminder(text: str) -> bool:
    """ "¿me avisan el día antes?", "do you send reminders?": whether the business
    reminds customers of their bookings (not "¿me recordás a qué hora es mi turno?")."""
    norm = plain(text)
    return bool(_REMINDER_RE.search(norm) or (_REMIND_RE.search(norm) and _BEFORE_RE.search(norm)))


# "y barba también", "a beard trim too": one more thing, not instead.
adds_to_request = Phrase(r"\b(?:tambien|too|also|as well|ademas|plus)\b")


# "la más tarde que tengas", "the latest you have": the last free time (not a
# goodbye: "más tarde" is not "hasta luego").
asks_latest = Phrase(
    r"\b(?:(?:la|el|lo) mas tarde (?:que|posible|que haya)"
    r"|el ultimo (?:turno|horario) (?:que|libre|del|de la|de)"
    r"|(?:el|la) ultim[oa] (?:que (?:tengas|tenes|tienes|tengan|haya|hay)|del dia|disponible)"
    r"|a ultima hora|al final del dia|lo mas tarde que"
    r"|la ultima (?:cita|hora) (?:que|libre|del|de la)|the latest"
    r"|latest (?:slot|time|one|you have|i can|u got|you ve got)|last thing|end of the day"
    r"|last (?:slot|appointment) (?:you have|available)|^(?:la|el|lo) mas tarde$)"
)


# The whole message is a yes, maybe with thanks ("perfecto, gracias", "ok gracias").
says_yes = Phrase(_YES_RE)
# "no, mejor a las 5": a no that goes on with a correction.
starts_no = Phrase(rf"^(?:{_NO})\b")


# A yes that opens a message ("sí, gracias", "yes please") — "ok"/"listo" alone do not count.
_STRONG_YES = "si|sii|sip|yes|yeah|yep|yup|confirmo|confirmado|confirm|dale|de una|claro|sure"
starts_yes = Phrase(rf"^(?:{_STRONG_YES})\b")


# Words a follow-up may have besides its new value ("¿y para el sábado qué tal?").
_THIN = frozenset(
    [
        "y",
        "e",
        "and",
        "o",
        "or",
        "what",
        "about",
        "how",
        "entonces",
        "tambien",
        "too",
        "also",
        "el",
        "la",
        "los",
        "las",
        "lo",
        "un",
        "una",
        "para",
        "a",
        "al",
        "the",
        "on",
        "for",
        "of",
        "de",
        "del",
        "en",
        "por",
        "hay",
        "tenes",
        "tienes",
        "tienen",
        "que",
        "tal",
        "con",
        "mismo",
        "then",
        "si",
        "is",
        "it",
        "at",
        "las",
        "la",
        "dia",
        "day",
        "mejor",
        "better",
        "ok",
        "okay",
        "bueno",
        "dale",
        "morning",
        "afternoon",
        "evening",
        "tarde",
        "manana",
        "noche",
    ]
)


def is_follow_up(text: str, value_words: set[str] | None = None) -> bool:
    """A message that leans on the previous question ("¿y el sábado?"): "y"/"and" and
    nothing but the new value (`value_words`: the words of the entities found)."""
    norm = plain(text)
    if not _FOLLOW_UP_RE.match(norm) or len(norm.split()) > 7:
        return False
    if value_words is None:
        return True
    return all(w in _THIN or w in value_words for w in norm.split())


# "cancel mine", "cancelá mi turno", "la mía": the customer's booking, not one being made.
_OWN_BOOKING_RE = re.compile(
    r"\b(?:mine|my (?:appointment|booking|slot|reservation)|the one i (?:have|made|booked)"
    r"|mi (?:turno|cita|reserva|hora)|el mio|la mia|el que (?:tengo|saque|reserve)"
    r"|la que (?:tengo|saque|reserve))\b"
)
_CANCEL_RE = re.compile(r"\b(?:cancel\w*|anul\w*|dar de baja|da de baja|dame de baja)\b")


means_own_booking = Phrase(_OWN_BOOKING_RE)

# "¿tengo turno el viernes a las 10?", "do I have an appointment friday?", "am I booked
# in for Saturday?": asked of the bookings held, not for a new one (the "?" asks it).
_HELD_RE = re.compile(
    r"\b(?:(?:tengo|tenia|tenemos|teniamos) (?:(?:un|una|el|la|algun|alguna|mi) )?(?:turno|cita"
    r"|reserva)|(?:do|did) (?:i|we) (?:have|book) (?:(?:an|a|my|the) )?(?:appointment|booking"
    r"|slot|reservation)|(?:am i|are we|is my \w+) (?:booked|still booked|down)"
    r"|have i (?:got|booked) (?:(?:an|a|my) )?(?:appointment|booking|slot)"
    # "¿a qué hora era la sesión?", "what time was my lesson?": the time of one held
    r"|(?:a )?que (?:hora|dia) (?:(?:era|tenia|tengo|quedo|quedamos) (?:el |la |mi )?|es mi )"
    r"(?:turno|cita|reserva|sesion|clase|consulta)|what time (?:was|is) my (?:appointment|booking"
    r"|session|lesson|class))\b"
)


# "¿era a las 11 o a las 11:30?", "is it at 11 or 11:30?", "was it 10 or 10.30?": which of
# two times the booking held is at.
# A clock time said as a bare number ("10", "10 30", "5pm", "17hs"), folded text.
CLOCK_NUMBER = r"\d{1,2}(?: \d\d)?(?: ?(?:hs|h|am|pm))?"
_A_TIME = rf"(?:(?:a las|a la|at) )?{CLOCK_NUMBER}"
_EITHER_TIME_RE = re.compile(
    r"\b(?:era|es|fue|quedo|quedamos|quedaste|is it|was it|it s|it was|is mine|was mine"
    r"|is my \w+|was my \w+|mi (?:turno|cita|reserva) (?:es|era)|el turno (?:es|era))"
    rf" {_A_TIME} (?:o|or) {_A_TIME}\b"
    rf"|^{_A_TIME} (?:o|or) {_A_TIME} (?:era|es|was it|is it)\b"
)


def asks_if_booked(text: str) -> bool:
    return "?" in text and _HELD_RE.search(plain(text)) is not None


# "saqué turno para el jueves pero no sé a qué hora era", "I forgot what time my
# appointment is": the booking held, its time forgotten.
_FORGOT_WHEN_RE = re.compile(
    r"\b(?:no se|no me acuerdo|me olvide|olvide|no recuerdo|forgot|don t remember"
    r"|can t remember|cant remember|dont remember)\b.{0,20}"
    r"\b(?:a )?(?:que|what) (?:hora|dia|time|day)"
    r" (?:era|fue|tenia|quedo|quedamos|was|it was|my|mi|el turno|la cita"
    r"|tengo (?:el |la |mi )?(?:turno|cita))\b"
    # "no sé qué día es mejor", "I don't remember what day is best": a day to choose
    r"(?!.{0,12}\b(?:mejor|best|better|libre|free|conviene)\b)"
)


def asks_which_time_held(text: str) -> bool:
    """ "¿era a las 11 o a las 11:30?", "is it at 11 or 11:30?", "no sé a qué hora era":
    which time the customer's booking is at (its time is the answer), not a new one."""
    said = plain(text)
    return _EITHER_TIME_RE.search(said) is not None or _FORGOT_WHEN_RE.search(said) is not None


# "cancelalo directamente", "borralo porfa", "borrá ese", "anula la punción, por favor",
# "scratch the thursday one", "call it off": a cancellation said the way people say it.
_CANCEL_IT_RE = re.compile(
    r"\b(?:(?:cancel|anul|borr|elimin|quit)\w*(?:lo|la|melo|mela)\b"
    r"|(?:cancel|anul|borr|elimin)\w* (?:ese|esa|eso|el turno|la cita|la reserva|todo)\b"
    r"|(?:anula|anulame|cancela|cancelame|borra|borrame) (?:el|la|los|las) \w+"
    r"|scratch (?:that|it|the \w+ one|my)|call it off|cancel (?:it|that|the \w+ one))"
)
# "al final el viernes no puedo", "can't make it thursday anymore": a booking given up.
_GIVE_UP_RE = re.compile(
    r"\b(?:(?:al final|ya no|finalmente|siempre no|at the end)"
    r".{0,30}\bno (?:puedo|voy a poder|llego)"
    r"|(?:cant|can t|cannot|wont be able to) make it .{0,30}(?:anymore|after all)"
    r"|no (?:voy a poder|puedo) ir .{0,20}(?:al final|ya)"
    r"|no podre (?:ir|asistir|llegar)|no voy a poder (?:ir|asistir)"
    r"|ya no (?:la|lo) (?:ocupo|necesito)"
    r"|(?:won t|will not|wont) be able to make it|no longer need (?:it|the appointment))"
)


def asks_cancel(text: str) -> bool:
    """A cancellation of the customer's booking in everyday words (checked when the
    classifier has no sure reading, or thought it an answer)."""
    norm = plain(text)
    return bool(_CANCEL_IT_RE.search(norm) or _GIVE_UP_RE.search(norm))


# The word "cancel" in any form ("I have to cancel thursday", "cancelar el del viernes").
says_cancel = Phrase(_CANCEL_RE)


def cancels_own_booking(text: str) -> bool:
    """ "nah, cancel mine": a cancellation whatever the "nah" in front makes it look like."""
    norm = plain(text)
    return bool(_CANCEL_RE.search(norm) and _OWN_BOOKING_RE.search(norm))


# "no puedo el viernes", "can't do thursday": the day said is the one NOT wanted.
_CANT_ON_DAY = (
    r"\bno (?:puedo|podre|voy a poder|llego)(?: ir)? (?:el|este|esta|ese|manana|hoy)\b"
    r"|\bcan ?t (?:do|make it|come)(?: on)? (?:tomorrow|today|\w+day)\b"
)
cant_on_day = Phrase(_CANT_ON_DAY)


# "me equivoqué, era para el viernes", "quise decir el jueves", "mañana no puedo, ¿el
# viernes?", "sorry, I meant Friday": the day just given was wrong, another one is meant.
corrects_day = Phrase(
    r"\b(?:me equivoque|me confundi|quise decir|queria decir|perdon era|en realidad (?:era|es"
    r"|queria|lo queria|la queria)|no era (?:para )?(?:el|la|hoy|manana)|(?:era|es) para el"
    r"|i meant|i mean|my bad|my mistake|wrong day|(?:manana|hoy|\w+s?) no (?:puedo|me queda"
    r"|me viene)|can t do (?:tomorrow|today|\w+day)|cant do (?:tomorrow|today|\w+day)"
    r"|doesn t work|does not work|doesnt work|won t work|no longer works|can t make it"
    r"|cant make it|something came up|me surgio algo|surgio algo|se me complico"
    r"|(?:manana|hoy|\w+s?) no (?:llego|voy a llegar|voy a poder)|cambio de planes"
    r"|changed my mind|change of plans?|on second thought|cambie de (?:idea|opinion|planes)"
    r"|pensandolo (?:bien|mejor))\b"
    rf"|{_CANT_ON_DAY}"
)


# "ay me equivoqué, era barba", "perdona, quería pedicura", "sorry, I meant the beard
# trim": the service just said or booked was a mistake, another one is meant; the
# booking skill swaps the booking just made (skills/booking/again.py).
corrects_service = Phrase(
    r"\b(?:me equivoque|me confundi|me he equivocado|me he confundido|me he liado|me lie"
    r"|quise decir|queria decir|i meant|my bad|my mistake|wrong (?:service|one|thing)"
    r"|^eran? (?!para (?:sacar|pedir|reservar|agendar|consultar|preguntar|saber|ver)\b)"
    r"|en realidad (?:era|queria)|actually (?:i )?(?:meant|wanted|needed)"
    r"|(?:perdon|perdona|perdone|disculpa|disculpe|sorry|oops|ups|ay|uy)(?: \w+){0,2}?"
    r" (?:era|eran|queria|quise|meant|wanted|needed|necesitaba)"
    r"(?! (?:to |para )?(?:preguntar|saber|consultar|decirte|decirle|avisar|sacar|pedir"
    r"|reservar|agendar|ask|know|check|say|tell|book)))\b"
)


# "¿qué días tienen?", "¿cuándo tenés lugar?", "what days do you have?": the days, not one.
asks_which_days = Phrase(
    r"\b(?:que dias|cuando (?:tenes|tienes|tiene|tienen|hay) (?:lugar|turnos?|citas?|disponib\w*"
    r"|libre|hueco|algo)"
    # "¿qué día tenés libre?", "¿qué día hay lugar?"
    r"|que dia (?:tenes|tienes|tiene|tienen|hay|teneis) (?:libre|lugar|disponible|turno|hueco)"
    r"|cuando (?:tenes|tienes|tiene|tienen|hay)$|which days|what days|dias (?:libres|disponibles)"
    r"|available days|when (?:do you have|are you free|have you got)"
    r"|(?:tenes|tienes|tiene|tienen) disponibilidad$|que disponibilidad"
    # "¿cuándo puedo ir?", "¿qué día me podés atender?", "when can I come in?": asked of
    # the business's calendar, so the days with room answer it.
    r"|(?:cuando|que dia|para cuando) (?:(?:me|nos) )?(?:puedo|podria|podemos|podriamos)"
    r" (?:ir|pasar|venir|caer|darme una vuelta|agendar|reservar|sacar turno|pedir cita)"
    r"|(?:cuando|que dia|para cuando) (?:me|nos) (?:podes|podrias|puedes|podrias|puede|podria"
    r"|pueden|podrian|podeis|podriais) (?:atender|dar (?:turno|cita|hora)|hacer (?:un )?lugar"
    r"|meter|coger|recibir|agendar)"
    r"|(?:cuando|que dia|para cuando) (?:me|nos) (?:das|dan|darias|darian|dais|da|daria)"
    r" (?:turno|cita|hora|lugar)"
    r"|(?:cuando|que dia) (?:me|nos) (?:atendes|atiendes|atiende|atienden|atendeis|recibis"
    r"|recibes|recibe|reciben)"
    r"|(?:cuando|que dia) (?:tendrias|tendrian|tendrias|teneis|tenes|tienes|tienen|tiene|hay)"
    r" (?:un )?(?:hueco|espacio|lugarcito|lugar|turno|cita|disponible)"
    r"|when (?:can|could) (?:i|we) (?:come|pop|drop|stop|swing|get|book)"
    r"|when (?:can|could) you (?:see|fit|squeeze|take|book) (?:me|us)"
    # "no sé qué día, ¿qué me recomendás?", "not sure which day": the days with room help
    r"|no se (?:que|cual) dia|no se cuando|que dia me (?:recomendas|recomiendas|recomienda"
    r"|conviene)|not sure (?:what|which) day|(?:what|which) day (?:is|would be) (?:best|better)"
    r"|what day (?:can|could) (?:i|we|you)|when (?:are you|is there|do you have) (?:available"
    r"|room|space|anything free|an opening|openings)|when s (?:good|best) for you)\b"
)


# The stems of the Spanish verbs that move a booking ("pasar", "mover", "cambiar", "correr").
MOVE_STEMS = r"pas|mov|cambi|corr"
# Those verbs in any form, and the English ones: a booking moved ("pasámelo", "cambiar",
# "move"); "pasado mañana" is a day, not "pasar".
MOVE_VERBS = rf"(?!pasad[oa]s?\b)(?:{MOVE_STEMS})\w*|move|change|push"

# "mejor", "en vez de", "¿puede ser?", "instead", "could it be": another time preferred.
prefers = Phrase(
    r"\b(?:mejor|en vez|en lugar|prefer\w*|puede ser|podria ser|se puede"
    rf"|{MOVE_VERBS}|instead|rather|better|could it be|can it be|can we (?:do|make it)"
    r"|make it|dejalo para|dejamelo para|ponelo para|ponemelo para)\b"
)


# "otro día", "another day": a day other than the one on the table.
OTHER_DAY = r"\b(?:otro dia|otra fecha|another day|a different day|other day)\b"
# "mmm mejor otro día", "I'd rather another day" right after booking: that booking moves,
# its new day still to say.
prefers_other_day = Phrase(
    rf"\b(?:mejor|prefiero|preferiria|rather|better|prefer)\b.{{0,20}}{OTHER_DAY}"
    r"|\b(?:pasalo|pasamelo|cambialo|cambiamelo|move it|moverlo|cambiarlo|pasarlo)\b"
    rf".{{0,12}}{OTHER_DAY}"
)


# "déjalo a las 11 como estaba", "back to 11 as it was": the booking's time before a
# change, asked back.
reverts = Phrase(
    r"\b(?:como estaba|como (?:era|estaba) antes|como antes|as it was|as before"
    r"|(?:dejalo|dejala|dejamelo|dejamela|volvelo|vuelvelo|volvamos) (?:a|en) las"
    r"|(?:put|change|move) it back|back to)\b"
)


# "move the nail trim to friday", "pasame la manicura al sábado", "cambiá el corte para el
# lunes": a verb that moves, then the booking it moves (an article or "mi" opens it):
# a booking held, named, to be moved.
moves_the = Phrase(
    r"\b(?:move|moving|push|put|shift|bump|reschedule|change|switch"
    rf"|(?:{MOVE_STEMS}|reprogram)(?:a|e|ar|er|ame|eme|ale|ala|alo|amela|amelo|arme"
    r"|arla|arlo|ermela|ermelo|emos|amos|an|en|as|es|is|eis|ais))"
    r" (?:the|my|our|el|la|los|las|mi|mis|nuestro|nuestra)\b"
)


# "¿atienden feriados?", "do you open on bank holidays?": holidays in general.
asks_holidays = Phrase(
    r"\b(?:feriados?|festivos?|dias festivos|holidays|bank holidays?|public holidays?)\b"
)
# "¿trabajan el 24?", "¿atienden el sábado?", "are you open": about opening, with a day.
OPENING_WORDS = (
    r"abren|abris|abre|abrimos|atienden|atendes|atiende|trabajan|trabajas|trabaja|abiertos?"
    r"|abiertas?|cierran|cerrado|cerrados|open|opened|closed"
    # "what time do you close tomorrow?", "¿a qué hora cerráis?" mid-booking
    r"|close|closes|closing|cerrais|cierras|cerras|cierra"
)
asks_opening = Phrase(rf"\b(?:{OPENING_WORDS})\b")


# "listo, gracias y perdón jaja", "thanks, we'll book another time", "bueno no importa,
# llevo efectivo": the customer closes the topic; nothing is asked.
_LETS_GO_RE = re.compile(
    r"\b(?:no importa|no pasa nada|no te preocupes|no hay problema|never ?mind|don t worry"
    r"|dont worry|no worries|otro dia|another time|some other time|other day|mas adelante"
    r"|en otro momento|otra ocasion|otra vez sera|despues te (?:escribo|aviso)"
    r"|te aviso|i ll let you know|will let you know|llevo efectivo|pago en efectivo)\b"
)


_BOOK_LATER_RE = re.compile(
    r"\b(?:book|reserv\w*|agend\w*|sac\w*|ped\w*|pid\w*)(?: (?:it|one|a time|an appointment"
    r"|the appointment|un turno|el turno|turno|una cita|la cita|cita|hora))?"
    r" (?:en |for |on )?(?:another time|some other time|another day|other day|later|otro dia"
    r"|otro momento|mas adelante|mas tarde|otra ocasion|otra vez)\b"
)


_LEAVES_RE = re.compile(
    r"\b(?:otro dia (?:vengo|paso|te escribo|le escribo|escribo|reservo|saco|lo veo|sera)"
    r"|otra vez sera|mas adelante (?:te |le )?(?:escribo|vuelvo|reservo|aviso)"
    r"|(?:despues|luego|mas tarde) (?:te|le) (?:escribo|aviso|confirmo)"
    r"|(?:te|le) (?:aviso|confirmo|escribo) (?:despues|luego|mas tarde|mas adelante)"
    r"|lo (?:voy a )?(?:pienso|pensar|consulto|consultar)"
    r"|i ll (?:let you know|think about it|get back to you|come back|book another time)"
    r"|(?:i ll|i will|will) (?:call|text|message|ring|phone)(?: you| u)?(?: back)?"
    r"(?: later| back| tomorrow)|(?:talk|speak|chat) (?:to you |with you )?later|ttyl"
    r"|(?:te|le|los|las|les) (?:llamo|marco|hablo) (?:despues|luego|mas tarde)"
    r"|(?:llamo|marco) (?:despues|luego|mas tarde)"
    r"|maybe (?:another|some other) (?:time|day)"
    # "déjame pensarlo", "lo tengo que pensar", "lo hablo con mi marido y te confirmo",
    # "I'll have a think", "let me check with my wife and get back to you"
    r"|(?:dejame|deja|dejeme|dejenme|dejadme|permitime|permiteme|dame|deme) (?:que )?"
    r"(?:lo )?(?:pensarlo|pensar|piense|lo piense|consultarlo|consultar|ver(?:lo)? bien)"
    r"|lo (?:tengo|tendria|tendre) que (?:pensar|consultar|hablar|ver)"
    r"|tengo que (?:pensarlo|consultarlo|hablarlo|verlo)|(?:voy a|quiero) pensarlo"
    r"|\by (?:te|le|les|os) (?:aviso|digo|confirmo|escribo|cuento|marco)"
    r"(?: (?:algo|despues|luego|mas tarde|en un rato|al rato))?$"
    r"|(?:luego|despues|mas tarde|ahorita|ahi|al rato|en un rato) (?:te|le|les|os)"
    r" (?:digo|aviso|confirmo|escribo|marco)|ya (?:te|le|os) (?:digo algo|aviso|confirmo)"
    r"|(?:have|had) a (?:think|thought)|think (?:it|this) over|(?:need|want|have) to think"
    r"(?: about it| it over|$)|sleep on it"
    r"|(?:let me|i ll|i will|i need to|i have to|i ve got to|gotta) (?:check|ask|see|talk"
    r"|speak|look)\b.{0,40}\b(?:get back to you|let you know|come back to you|be in touch)"
    r"|(?:i ll|i will|we ll) be in touch)\b"
)
# "¿tenés…?", "¿hay…?", "any…?": words that ask for something (another day, time, slot).
ASKING_WORDS = r"tenes|tienes|tienen|hay|any"
# "¿se puede…?", "¿hay…?", "can I…?", "are you…?": words a question opens with, in
# either language. Each reader of questions adds its own: the question words of an open
# question (unknown.py), "también"/"presencial" of one about online sessions (remote.py).
QUESTION_OPENERS = r"se puede|pueden|tienen|tenes|hay|can|could|are"
# "¿tenés en otro momento?", "can we do another time": asks for another time, stays.
_STAYS_RE = re.compile(
    rf"\b(?:{ASKING_WORDS}|tiene|do you have|have you got|can we|could we"
    r"|podemos|podriamos|se puede|puede ser)\b"
)


def leaves_for_now(text: str) -> bool:
    """ "bueno, otro día vengo, gracias", "lo voy a pensar y le aviso", "I'll think about
    it": the customer leaves a pending question for now (not "¿y otro día?")."""
    norm = plain(text)
    return "?" not in text and bool(_LEAVES_RE.search(norm)) and not _STAYS_RE.search(norm)


def closes_topic(text: str) -> str | None:
    """THANKS or ACK for a short message that closes the topic without asking anything."""
    norm = plain(text)
    # "we'll book another time", "reservamos en otro momento": a plan, not a request.
    asked = _BOOK_LATER_RE.sub(" ", norm)
    if "?" in text or len(norm.split()) > 12 or _asks_something(asked):
        return None
    if _THANKS_RE.search(norm):
        return THANKS
    return ACK if _LETS_GO_RE.search(norm) or _LEAVES_RE.search(norm) else None


# "mismo horario", "same time": a detail of the request beside it, no question.
only_same_time = Phrase(
    r"^(?:y |and )?(?:a |en |at )?(?:la |el |the )?(?:mismo horario|misma hora|same time|mismo dia"
    r"(?: y (?:hora|horario))?|same day(?: and time)?)(?: porfa| please)?$"
)


# "lo más pronto", "¿puedo pasar ahora?", "asap": the soonest time there is.
SOONEST_WORDS = (
    r"lo mas pronto|lo antes posible|cuanto antes|primer (?:turno|hueco|lugar) libre"
    # "¿cuál es el primer horario que tienen?", "la primera cita disponible"
    r"|(?:primer|primera|proximo|proxima) (?:turno|cita|hueco|lugar|horario|espacio)"
    r" (?:libre|disponible|que (?:haya|hay|tengas|tenes|tienes|tenga|tengan|tienen|tiene))"
    r"|(?:turno|hora|horario|cita|hueco) mas (?:temprano|pronto)"
    r"|(?:pasar|ir|caer|venir|come|come in|drop in|pop in|walk in)"
    r" (?:ahora|ahorita|now|hoy mismo|ya)"
    r"|(?:lugar|turno|hueco|cita|espacio|slot|space|room|opening) (?:ahora|ahorita|now|ya mismo)"
    r"|soonest|earliest|first available|asap|as soon as possible"
    r"|(?:first|next) (?:availability|opening|free slot|slot)"
    # "¿me pueden atender ahorita?", "una consulta para ahorita", "ahorita se puede?"
    r"|(?:atender\w*|atienden|atiende|ver(?:me|lo|la)|see (?:me|us|him|her)) (?:ahora|ahorita|now)"
    r"|para (?:ahorita|ahora mismo|ya mismo)|^ahorita (?:se puede|puede ser|hay|tienen|tiene)"
    # "buenas, ahorita tienen espacio para un corte?", "right now do you have a slot?"
    r"|(?:ahorita|ahora mismo|right now) (?:tienen|tenes|tienes|tiene|teneis|hay|do you have"
    r"|have you got|you got) (?:(?:un|una|algo de|a|any) )?(?:lugar\w*|turno|hueco|cita|espacio"
    r"|room|space|slot|opening)"
    r"|^(?:pues |si |hoy )?(?:ahorita|ahora mismo)(?: mismo)?(?: si)?"
    r"(?: se puede| puede ser| porfa| por favor| de ser posible)?$"
)
wants_soonest = Phrase(rf"\b(?:{SOONEST_WORDS})\b")
# "¿a qué hora termino?", "what time will I be done?": when the booking ends.
asks_end = Phrase(
    r"\b(?:a que hora (?:termino|terminaria|salgo|saldria|estoy lista|estoy listo)"
    r"|what time (?:will i|would i|do i) (?:be done|finish|be finished|be out)"
    r"|when (?:will|would) i (?:be done|finish)"
    # "what time can I collect him?", "¿a qué hora paso a buscar el carro?": when it is over
    r"|(?:what time|when) (?:can|could|should|do|shall) (?:i|we) (?:collect|pick up|pick (?:him|her"
    r"|it|them) up|come back for|come for|get (?:him|her|it|them) back)"
    r"|(?:what time|when) (?:will|would) (?:he|she|it|they) be (?:ready|done)"
    r"|a que hora (?:lo |la |los |las )?(?:paso a buscar|paso a recoger|busco|retiro|recojo"
    r"|puedo (?:pasar a )?(?:buscar|recoger|retirar)(?:lo|la|los|las)?)"
    r"|(?:a que hora|cuando) (?:esta|estaria|estara) (?:listo|lista))\b"
)
# "agregame barba después del corte", "can I add a beard trim right after my haircut?"
adds_on = Phrase(
    # (not "don't add the beard", "no quiero agregar…", "do you add conditioner?")
    r"(?<!\bno )(?<!\bnot )(?<!don t )(?<!do you )(?<!no quiero )(?<!no me )(?<!no le )"
    r"\b(?:agregame|agregale|agregar|agregas|agregan|agregais|agregues|sumame|sumar|sumas"
    r"|add|right after (?:my|the)|straight after"
    r"|despues del? (?:corte|turno|mio)|after my|a continuacion|justo despues|right after"
    r"|inmediatamente despues|straight after that|right after that)\b"
)


# "otro igual", "uno igual para el viernes", "same again next week", "book another one".
same_again = Phrase(
    r"\b(?:otr[oa] (?:turno |cita )?(?:igual|asi|mas igual|de lo mismo)|un[oa] igual"
    r"|(?:repetir|repeti|repetimos)(?:lo|la)|repet\w* (?:el|la) (?:turno|cita|reserva)"
    r"|lo mismo (?:para el|para la|el|la|otra)|el mismo (?:turno|servicio) (?:para|el|la|otra)"
    r"|same (?:again|thing again|appointment again)|another one like (?:it|that|this)"
    r"|one more like (?:it|that|this)|(?:book|do) (?:it|that|the same) again)\b"
)
# "me arrepentí, volvé a reservarlo", "undo that", "I changed my mind, book it again".
undoes_cancel = Phrase(
    r"\b(?:me arrepenti|me arrepiento|volv\w* a (?:reserv|agend|anot|sac|pon)\w*"
    r"|(?:reservalo|reservamelo|agendalo|anotalo|ponelo) (?:de nuevo|otra vez|nuevamente)"
    r"|(?:lo|la) (?:quiero|necesito) (?:de nuevo|otra vez)|no lo canceles|no la canceles"
    r"|changed my mind|undo (?:it|that|the cancel\w*)|book it (?:again|back)|rebook"
    r"|(?:put|get) it back|un ?cancel)\b"
)


# "cambiá la manicura por un brushing", "change the manicure to a blow-dry".
_SWAP_FOR = re.compile(
    r"\b(?:cambi|reemplaz|switch|swap|change)\w*\b(?P<old>.*?)"
    r"\b(?:por(?! favor)|to|for|with|into)\b"
)
# "un brushing en vez de la manicura", "instead of the manicure, a blow-dry".
_INSTEAD_OF = re.compile(r"\b(?:en vez del?|en lugar del?|instead of|rather than)\b")
# "¿me la pasás a terapia de pareja?": the booking held, to another service.
_PASS_TO = re.compile(r"\b(?:(?:me )?(?:la|lo) pas\w*|pas\w*(?:la|lo|mela|melo))\b(?P<old>)\s+a\b")
_INSTEAD_END = re.compile(r"\b(?:instead|en su lugar|en cambio)\s*$")
_Found = TypeVar("_Found")


def swap_pair(
    text: str, finder: Callable[[str], _Found | None]
) -> tuple[_Found | None, _Found | None]:
    """(old, new) of "cambiá A por B" / "B en vez de A" / "instead of A, B"; (None, B)
    for "cambialo por B"; (None, None) when the message swaps nothing."""
    said = plain(text)
    m = _SWAP_FOR.search(said) or _PASS_TO.search(said)
    if m is not None:
        old = finder(m["old"]) if m["old"].strip() else None
        new = finder(said[m.end() :])
        return (old, new) if new is not None and new != old else (None, None)
    m = _INSTEAD_OF.search(said)
    if m is None:
        # "make it a blow-dry instead", "mejor un brushing en su lugar": the booking held
        late = _INSTEAD_END.search(said)
        return (None, finder(said[: late.start()])) if late else (None, None)
    before, after = said[: m.start()], said[m.end() :]
    new = finder(before) if before.strip() else None
    if new is not None:
        old = finder(after)
        return (old, new) if old != new else (None, None)
    # "en vez de la manicura, mejor un brushing": the first named goes, the second comes.
    words = after.split()
    for cut in range(1, len(words)):
        old, rest = finder(" ".join(words[:cut])), finder(" ".join(words[cut:]))
        if old is not None and rest is not None and old != rest:
            return old, rest
    return None, None


# "¿cuánto es en total?", "¿cuánto le debo?", "what's the total?", "how much do I owe you?":
# the price of everything asked or booked together, summed.
asks_total = Phrase(
    r"\b(?:en total|el total|the total|in total|altogether|all together|all in"
    r"|cuanto (?:te|le|les) debo|(?:how much|what) do i owe|what do we owe"
    r"|cuanto (?:es|sale|seria|saldria|cuesta|sería) (?:todo|los dos|las dos|ambos)"
    r"|how much (?:is|for|are) (?:it all|everything|both|the two))\b"
)


# "no pude ir a mi cita de ayer", "I missed my appointment yesterday": the day said is the
# visit missed, not the day wanted for the next one.
missed_visit = Phrase(
    r"\b(?:no (?:pude|pudimos|podia) (?:ir|venir|llegar|asistir)|no (?:fui|vine|llegue|asisti)"
    r"|falte|faltamos|no me presente|se me paso (?:el turno|la cita|la hora)"
    r"|me olvide (?:de ir|del turno|de la cita|de mi turno|de mi cita)"
    r"|missed (?:my|our|his|her|the)|couldn t (?:make it|come|go)|didn t (?:make it|show|come)"
    r"|no show|no showed|forgot (?:my|about my|to come|to show))\b"
)


# Where the clause about the missed visit ends: "…del lunes, me das otro para el viernes?"
_CLAUSES = re.compile(r"[,.;?!¿¡]+|\s(?:y|pero|asi que|así que|entonces|and|but|so)\s", re.I)


def after_missed_visit(text: str) -> str | None:
    """What follows the clause that tells of a missed visit ("no pude ir al turno del
    lunes, ¿me das otro para el viernes?" -> "me das otro para el viernes"): the day
    wanted is said there, if at all; None when the message tells of no missed visit."""
    clauses = _CLAUSES.split(text)
    for i, clause in enumerate(clauses):
        if missed_visit(clause):
            return " ".join(clauses[i + 1 :]).strip()
    return None


# "es la primera vez que voy", "I've never been before", "I'm a new patient".
first_time = Phrase(
    r"\b(?:(?:es|seria|sera|va a ser) (?:la|mi) primera vez|primera vez que"
    r"|nunca (?:fui|vine|he ido|he venido|me atendi|me he atendido)|first time|never been"
    r"|new (?:patient|client|customer|student)|pacientes? nuev[oa]s?|soy nuev[oa]"
    r"|haven t been (?:before|there|here)|i m new|we re new)\b"
)
