"""What a message means given the turns before it: "¿y el sábado?" asks the last question
again with a new day, "¿hasta qué hora?" is about the day just asked, "eso" / "el mismo"
is the service named last, and "¿tienen lugar el lunes?" right after a price is for that
service. The conversation's `context` ({"intent", "service", "day"}) carries it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any

from hablo.engine.dialogue import DialogueState
from hablo.engine.nlu.acts import is_follow_up, refers_to_same
from hablo.engine.nlu.datetimes import WhenMention
from hablo.engine.nlu.genders import counterpart, says_for_whom
from hablo.engine.nlu.pipeline import Understanding
from hablo.engine.nlu.text import normalize
from hablo.engine.nlu.unknown import NOT_OFFERED, UNKNOWN_FACT
from hablo.plugins.sdk import ServiceInfo

# Intents whose question a follow-up can repeat with a new value.
FOLLOW_UP_INTENTS = frozenset({"hours", "pricing", "location", "book", "my_bookings"})
# "what are your prices?", "la lista de precios": the whole list, whatever came before.
_WHOLE_LIST = re.compile(
    r"\b(?:precios|prices|lista|list|todos|todo|all|menu|servicios|services|tarifas|rates)\b"
)
# "Otra cosa, ¿cuánto dura más o menos?": how long the service just talked about takes.
# "quiero los dos", "both please", "las dos cosas": every service of the last answer.
_BOTH = re.compile(
    r"\b(?:los dos|las dos|ambos|ambas|los 2|las 2|las dos cosas|los tres|las tres|both"
    r"|the two|all three|the three|todo eso|all of them"
    # "pues me las hago el sábado", "book them for friday": them, the services just priced
    r"|me (?:las|los) (?:hago|hacen|haces|hace|haceis|hacés|reserv\w+|agend\w+|pong\w+)"
    r"|(?:hacer|reservar|agendar|sacar)(?:me|te|se|nos)?(?:las|los)"
    r"|(?:las|los) (?:reservo|agendo|hago)|book them|them both|do them|get them"
    r"|(?:i ll|ill|i will|we ll) take them"
    # "reservame todo para el lunes", "book it all": all of them too
    r"|(?:reserv|anot|agend|sac)\w* todo|quiero todo|todo junto|everything|all of it"
    r"|book (?:it |them )?all)\b"
)
# "quiero ir los dos el mismo día", "we'd come together": both services asked about, one
# visit (the day may come in a later message).
_TOGETHER = re.compile(
    r"\b(?:mismo dia|misma vez|juntos|juntas|junto|todo junto|same day|together|same visit)\b"
)
_HOW_LONG = re.compile(r"\b(?:cuanto (?:dura|tarda|demora|lleva)|how long)\b")
# A yes, an "ok", a "gracias", a laugh or a question the bot cannot answer between
# changes no subject: "¿cuánto sale la manicura?" … "genial, gracias" (or "does that
# include a wash?") … "dame un turno el viernes" is still for the manicure.
_KEEPS_TOPIC = frozenset({None, "affirm", "deny", "ack", "thanks", "laugh", UNKNOWN_FACT})
# Below this, a follow-up's own classification loses to the remembered topic.
TRUST_CLASSIFIER = 0.6
# Prices asked one after the other that "los tres" / "all three" can still mean.
_MOST_PRICED = 3


def with_context(
    understanding: Understanding,
    text: str,
    state: DialogueState,
    services: Sequence[ServiceInfo],
    now: datetime,
) -> Understanding:
    """The understanding completed from the conversation's context."""
    context = state.context
    intent = understanding.intent
    entities: dict[str, Any] = dict(understanding.entities)
    confidence = understanding.confidence
    topic = context.get("intent")
    carries = any(k in entities for k in ("when", "weekday", "service"))
    if (
        topic in FOLLOW_UP_INTENTS
        and not state.flow
        and carries
        and is_follow_up(text, _value_words(entities))
        and (intent is None or intent == topic or confidence < TRUST_CLASSIFIER)
    ):
        # A price is the same any day: "¿cuánto sale el corte?" … "¿y el sábado?" asks
        # for room that day (the service is carried below), not for the price again.
        only_a_day = topic == "pricing" and "service" not in entities
        intent = "book" if only_a_day else topic
        confidence = max(confidence, TRUST_CLASSIFIER)
    if (
        topic == "pricing"
        and intent in (None, "hours")  # "el lunes a primera hora" reads like the hours
        and not state.flow
        and isinstance(entities.get("when"), WhenMention)
        and "service" not in entities
        and _only_the_day(text, entities["when"])
    ):
        # "¿cuánto sale la coloración?" … "el miércoles": that service, booked that day
        intent, confidence = "book", TRUST_CLASSIFIER
    if (
        topic == "cancel"
        and intent in (None, "book")
        and "when" in entities
        and "service" not in entities
        and is_follow_up(text)
    ):
        # "anulá la pedicura del lunes" … "¿y el martes a la misma hora?": that booking
        # again on the day said (the booking skill books it like the one cancelled).
        intent, confidence = "reschedule", TRUST_CLASSIFIER
    if (
        topic in ("pricing", "hours")
        and (intent is None or (intent == "book" and confidence <= TRUST_CLASSIFIER))
        and not state.flow
        and "service" in entities
        and len(text.split()) <= 3
    ):
        # "cuánto sale" … (the list) … "el electro": the same question about that one
        intent, confidence = topic, TRUST_CLASSIFIER
    if (
        topic == "pricing"
        and intent in (None, "book")
        and not state.flow
        and "service" in entities
        and "when" not in entities
        and "?" in text
        and len(text.split()) <= 5
        and is_follow_up(text)
    ):
        # "how much is a GCSE maths lesson?" … "and for A levels?", "¿y para A level?":
        # the same question about that one, not a booking of it
        intent, confidence = "pricing", TRUST_CLASSIFIER
    if topic == NOT_OFFERED and intent is None and is_follow_up(text):
        if "service" in entities:
            # "¿hacen depilación?" … "¿y la de pareja?": that one we do; its price says so.
            intent, confidence = "pricing", TRUST_CLASSIFIER
        elif thing := " ".join(text.split()[1:]).strip(" ?¿!¡."):
            # "¿hacen depilación?" … "¿y alisado?": the same question about something else.
            intent, confidence = NOT_OFFERED, 1.0
            entities["thing"] = thing
    last = _service(services, context.get("service"))
    if (
        topic in ("pricing", "book")
        and not state.flow
        and "service" not in entities
        and last is not None
        and says_for_whom(text)
        and is_follow_up(text)
    ):
        # "¿cuánto sale el corte de hombre?" … "¿y para mujer?": the women's cut (the
        # same one where the business cuts for anyone).
        other = counterpart(services, last, text)
        if other is not None:
            intent, confidence = topic, max(confidence, TRUST_CLASSIFIER)
            entities["service"] = other
    several = [x for x in (_service(services, i) for i in context.get("services", ())) if x]
    # "¿cuánto sale el corte? ¿y la barba? quiero ir los dos el mismo día" … "el viernes"
    wanted_both = context.get("both") and intent == "book" and not state.flow
    if (
        len(several) > 1
        and "service" not in entities
        and (_BOTH.search(normalize(text)) or wanted_both)
    ):
        # "¿cuánto sale la coloración? ¿y el brushing?" … "quiero los dos el viernes"
        entities["service"], entities["services"] = several[0], tuple(several)
        if "when" in entities and intent in (None, "hours", "pricing") and not state.flow:
            # "los tres el viernes": a booking of them that day, not its opening hours
            intent, confidence = "book", max(confidence, TRUST_CLASSIFIER)
    remembered = _service(services, context.get("service"))
    options = entities.get("service_options") or ()
    if options and remembered not in options:
        # "¿cuánto sale el cambio de aceite? … ¿y me revisan los frenos el sábado?": the
        # brakes (which of them is asked), not the oil change again.
        remembered = None
    if "service" not in entities and remembered is not None:
        # "¿cuánto sale el corte? ¿y abren el sábado?" … "pasame un turno el sábado a las
        # 11 entonces": the service last asked about, also past a question on the hours
        # or the address (one named in a booking is not carried to the next booking).
        inquired = topic == "pricing" or (
            topic in ("hours", "location") and context.get("service_asked") == "pricing"
        )
        priced_then_book = intent == "book" and inquired and not state.flow
        # "¿hacen manicura?" … "¿cuánto sale?": the price of that one, not the list.
        bare_price = (
            intent == "pricing"
            and (len(text.split()) <= 6 or _HOW_LONG.search(normalize(text)) is not None)
            and topic is not None
            and not _WHOLE_LIST.search(normalize(text))
        )
        # In a booking flow only a bare price question is about its service ("quiero
        # turno para manicura el martes" … "¿cuánto sale?"): the flow reads the rest.
        # "¿cuánto sale el corte?" … "¿es lo mismo para hombre y mujer?": that one's
        for_whom = intent == "pricing" and bool(entities.get("for_whom")) and topic is not None
        if (refers_to_same(text) and not state.flow) or priced_then_book or bare_price or for_whom:
            entities["service"] = remembered
    day = context.get("day")
    said = entities.get("when")
    # "¿el sábado a qué hora abren? ¿y cuánto sale el brushing?" … "reservame a las 9":
    # the day of the hours asked, past the price asked after it
    hours_then_price = topic == "pricing" and context.get("day_asked") == "hours"
    asked_hours = intent == "book" and (topic == "hours" or hours_then_price) and not state.flow
    if asked_hours and day and "weekday" not in entities:
        # The booking is for the day just asked about: "¿abren mañana?" … "need a fade",
        # "what time do you close on Saturdays?" … "a haircut at 12:30 then?".
        on = date.fromisoformat(day)
        if said is None:
            entities["when"] = WhenMention(
                datetime.combine(on, time(0), now.tzinfo), True, False, ""
            )
        elif isinstance(said, WhenMention) and said.has_time and not said.has_date:
            clock = said.start.astimezone(now.tzinfo).time().replace(tzinfo=None)
            start = datetime.combine(on, clock, now.tzinfo)
            entities["when"] = WhenMention(start, True, True, said.text)
    if intent == "hours" and day and "when" not in entities and "weekday" not in entities:
        # "¿hasta qué hora?" right after "¿abren el viernes?" (or a booking for Friday):
        # still Friday.
        # A key of its own: a day said turns ago must not answer a flow's question.
        entities["context_day"] = date.fromisoformat(day)
    if intent == understanding.intent and entities == dict(understanding.entities):
        return understanding
    return replace(understanding, intent=intent, confidence=confidence, entities=entities)


def says_both(text: str) -> bool:
    """ "los dos", "both", "quiero ir los dos el mismo día": all the services just asked
    about, together."""
    said = normalize(text)
    return bool(_BOTH.search(said) or _TOGETHER.search(said))


def remember(
    state: DialogueState, understanding: Understanding, skill: str | None, text: str = ""
) -> None:
    """Keep what this turn was about for the next one's follow-ups."""
    context = dict(state.context)
    if skill is not None and understanding.intent in (*FOLLOW_UP_INTENTS, NOT_OFFERED, "cancel"):
        context["intent"] = understanding.intent
    elif skill is not None and understanding.intent not in _KEEPS_TOPIC:
        context.pop("intent", None)
    service = understanding.entities.get("service")
    if isinstance(service, ServiceInfo):
        before = _priced_before(state.context, understanding.intent)
        context["service"] = str(service.id)
        # Under which question it was named: a price asked for carries into a booking.
        context["service_asked"] = understanding.intent
        named = [str(x.id) for x in understanding.entities.get("services") or (service,)]
        # "el corte" … "¿y la barba?" … "quiero las dos cosas": both prices asked count.
        ids = list(dict.fromkeys([*before, *named]))[-_MOST_PRICED:]
        _keep_together(context, ids)
        context.pop("both", None)
        if len(ids) > 1 and understanding.intent == "pricing" and says_both(text):
            context["both"] = True  # "¿corte y barba? quiero ir los dos el mismo día"
    when = understanding.entities.get("when")
    if isinstance(when, WhenMention) and when.has_date:
        context["day"] = when.start.date().isoformat()
        context["day_asked"] = understanding.intent  # under which question it was said
    weekday = understanding.entities.get("weekday")
    if isinstance(weekday, int) and not (isinstance(when, WhenMention) and when.has_date):
        context.pop("day", None)
    state.context = context


def _priced_before(context: dict[str, Any], intent: str | None) -> list[str]:
    """The services whose prices were asked just before, when this is one more price."""
    if intent != "pricing" or context.get("intent") != "pricing":
        return []
    return list(context.get("services") or ([context["service"]] if "service" in context else []))


def remember_parts(state: DialogueState, parts: Sequence[Understanding], text: str = "") -> None:
    """A message asked about several services, one question each ("¿cuánto sale la
    coloración? ¿y el brushing?"): "los dos" next means all of them; when the message
    says it wants them together ("quiero ir los dos el mismo día"), a day said next
    books all of them."""
    named = [u.entities.get("service") for u in parts]
    ids = list(dict.fromkeys(str(x.id) for x in named if isinstance(x, ServiceInfo)))
    if len(ids) > 1:  # one or none: what remember() kept for the parts stays
        context = dict(state.context)
        _keep_together(context, ids)
        if says_both(text):
            context["both"] = True
        state.context = context
    topics = [u.intent for u in parts if u.intent in (*FOLLOW_UP_INTENTS, NOT_OFFERED)]
    if topics and "intent" not in state.context:
        # "¿cuánto cuesta el blanqueamiento? ¿se puede pagar en cuotas?" … "¿y una
        # limpieza?": the price asked is still the topic, the payment answered beside it
        state.context = {**state.context, "intent": topics[-1]}


def _keep_together(context: dict[str, Any], ids: list[str]) -> None:
    """The one writer of context["services"]: the services the customer has in mind
    together, which "los dos" / "all three" next mean; one alone is no list."""
    if len(ids) > 1:
        context["services"] = ids
    else:
        context.pop("services", None)


# What may stand around a day said alone: "ok, el miércoles entonces", "friday then".
_AROUND_A_DAY = re.compile(
    r"(?:(?:ok|okay|oki|dale|vale|bueno|listo|genial|perfecto|great|cool|y|and|el|la|los|para"
    r"|on|for|this|next|then|entonces|pues|mejor|maybe|quizas|tal vez|porfa|please|pls"
    r"|a las|at|el dia|a primera hora|primera hora|first thing|temprano|early|lo antes posible"
    r"|por la manana|por la tarde|in the morning|in the afternoon|de manana|de tarde)\s*)*"
)


def _only_the_day(text: str, when: WhenMention) -> bool:
    """ "el miércoles", "ok friday then": a day (and time) and nothing else, no question."""
    said = normalize(text)
    if "?" in text or not when.text:
        return False
    rest = said.replace(normalize(when.text), " ")
    return _AROUND_A_DAY.fullmatch(" ".join(rest.split())) is not None


def _value_words(entities: dict[str, Any]) -> set[str]:
    """The words that carry the entities' values ("sabado", "10", "corte", "pelo")."""
    found: set[str] = set()
    when = entities.get("when")
    if isinstance(when, WhenMention):
        found.update(normalize(when.text).split())
    service = entities.get("service")
    if isinstance(service, ServiceInfo):
        for phrase in (service.name, *service.synonyms, *(n for _, n in service.names)):
            found.update(normalize(phrase).split())
    weekday = entities.get("weekday")
    if isinstance(weekday, int):
        found.update(_WEEKDAY_WORDS[weekday])
    return found


# Weekday words as customers write them (the NLU found the weekday; these are its words).
_WEEKDAY_WORDS = (
    ("lunes", "monday", "mon"), ("martes", "tuesday", "tue"), ("miercoles", "wednesday", "wed"),
    ("jueves", "thursday", "thu"), ("viernes", "friday", "fri"), ("sabado", "saturday", "sat"),
    ("domingo", "sunday", "sun"),
)  # fmt: skip


def _service(services: Sequence[ServiceInfo], service_id: Any) -> ServiceInfo | None:
    return next((s for s in services if str(s.id) == service_id), None)
