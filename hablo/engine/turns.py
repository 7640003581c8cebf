"""One turn's logic: understand the message, pick the skill (dialogue policy), run it
contained, and say what to write. Pure of actors and threads, so tests can drive it
directly; the ConversationActor wraps it in the per-conversation order and the
one-transaction commit."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from hablo.db.enums import ConversationStatus
from hablo.engine.after_commit import AFTER_COMMIT, AfterCommit
from hablo.engine.assist import AssistedTurn
from hablo.engine.context import EngineSkillContext
from hablo.engine.dialogue import (
    AFFIRM,
    DENY,
    HUMAN,
    MISUNDERSTANDINGS_BEFORE_HUMAN,
    DialogueState,
    is_exit,
    is_short_answer,
    picked_choice,
    route,
)
from hablo.engine.followups import remember, remember_parts, says_both, with_context
from hablo.engine.metrics import SKILL_ERRORS
from hablo.engine.nlu.acts import (
    ACK,
    COMPLAINT,
    GOODBYE,
    GREETING,
    adds_on,
    adds_to_request,
    is_follow_up,
    leaves_for_now,
    only_same_time,
    read_act,
    says_yes,
    starts_yes,
    waves_hello,
)
from hablo.engine.nlu.gifts import asks_gift
from hablo.engine.nlu.pipeline import Understanding
from hablo.engine.nlu.text import normalize
from hablo.engine.skill_calls import BudgetedCalls, CallOverrun, call_inline
from hablo.engine.skillset import TenantRuntime
from hablo.engine.store import LockedConversation
from hablo.plugins.loader import is_builtin
from hablo.plugins.sdk import FollowUp, Skill, SkillResult, Turn

log = logging.getLogger(__name__)
DEFAULT_SKILL_BUDGET_S = 5.0
DEFAULT_HANDOFF_TIMEOUT_MIN = 60


@dataclass(frozen=True)
class TurnOutcome:
    language: str
    intent: str | None
    confidence: float
    skill: str | None
    replies: tuple[str, ...]
    new_state: dict[str, Any] | None
    new_status: ConversationStatus | None
    error: str | None
    # Choices and media per reply, aligned with `replies` (None: plain text).
    reply_extras: tuple[dict[str, Any] | None, ...] = ()
    # Slow work the skills asked for, to run once this turn committed.
    after_commit: tuple[AfterCommit, ...] = ()
    # LLM mode: the model that understood this turn, to phrase `replies` once it committed.
    assisted: AssistedTurn | None = None


class SkillOverrun(Exception):
    """A skill ran past its time budget inside a turn's transaction, which was given up:
    the caller commits an apology turn instead (`overrun_record`)."""

    def __init__(self, skill: str, budget_s: float) -> None:
        super().__init__(f"skill {skill} overran its budget of {budget_s:.1f}s")
        self.skill = skill


# Third-party and remote skills run on these helper threads, so their budget is enforced
# even when they hang (one set per process); the built-in ones run inline.
SKILL_CALLS = BudgetedCalls()


class _Turn:
    """Mutable scratchpad of one turn; becomes a TurnOutcome."""

    def __init__(
        self, understanding: Understanding, state: DialogueState, conn: Connection | None = None
    ) -> None:
        self.conn = conn
        self.understanding = understanding
        self.state = state
        self.replies: list[str] = []
        self.extras: dict[int, dict[str, Any]] = {}  # reply index -> choices/media
        self.skill: str | None = None
        self.status: ConversationStatus | None = None
        self.error: str | None = None
        self.after_commit: list[AfterCommit] = []

    def outcome(self, assisted: AssistedTurn | None = None) -> TurnOutcome:
        u = self.understanding
        extras = tuple(self.extras.get(i) for i in range(len(self.replies)))
        last = extras[-1] if extras else None
        # Only the newest message's choices can be answered by number.
        self.state.choices = list((last or {}).get("choices") or [])
        return TurnOutcome(
            u.language,
            u.intent,
            u.confidence,
            self.skill,
            tuple(self.replies),
            self.state.dump(),
            self.status,
            self.error,
            extras if any(extras) else (),
            tuple(self.after_commit),
            assisted,
        )


def run_turn(
    runtime: TenantRuntime,
    conversation: LockedConversation,
    text: str,
    conn: Connection | None = None,
    assisted: AssistedTurn | None = None,
) -> TurnOutcome:
    """`assisted`: LLM mode's understanding, asked before this transaction began
    (engine/assisted_turn.py); its phrasing is left to the caller, after the commit."""
    ctx = runtime.services.for_turn(conn)
    now = ctx.now()
    state = DialogueState.load(conversation.state)
    said, text = text, runtime.nlu.respell(text)
    # "2" after a numbered list of choices means the second choice.
    choice = picked_choice(text, state.choices)
    text = choice or text
    understanding = runtime.nlu.understand(
        text if choice is None else runtime.nlu.respell(choice),
        now,
        runtime.profile.opening_hours,
        conversation.language,
        said=said,
    )
    if waves_hello(understanding.intent, conversation.message_count):
        understanding = replace(understanding, intent=GREETING)
    if conversation.status == ConversationStatus.WAITING_HUMAN and not handoff_expired(
        state, ctx, now
    ):
        # A human owns this conversation: the bot stays silent (and spends no tokens).
        return _Turn(understanding, state).outcome()
    if assisted is not None:
        understanding = assisted.understanding
    services = runtime.profile.services
    turn = _Turn(understanding, state, conn)
    parts = (
        _questions(runtime, text, now, conversation, understanding) if assisted is None else None
    )
    for part, part_understanding in parts or [(text, understanding)]:
        turn.understanding = with_context(part_understanding, part, state, services, now)
        _decide(runtime, turn, part, conversation, ctx, now)
        remember(turn.state, turn.understanding, turn.skill, part)
        if turn.status == ConversationStatus.WAITING_HUMAN:
            break  # handed to a person: the bot says nothing more
    if parts:
        remember_parts(turn.state, [u for _, u in parts], text)
    if parts and turn.state.flow:
        turn.state.offer = None  # the last question asked is the flow's, not an offer
    if parts:
        _drop_repeats(turn)
    _no_loops(runtime, turn, ctx)
    return turn.outcome(assisted)


def _decide(
    runtime: TenantRuntime,
    turn: _Turn,
    text: str,
    conversation: LockedConversation,
    ctx: EngineSkillContext,
    now: datetime,
) -> None:
    """The dialogue policy: which skill answers, flows, exits and the human offer."""
    understanding = turn.understanding
    lang = understanding.language
    if conversation.status == ConversationStatus.WAITING_HUMAN and turn.status is None:
        turn.status = ConversationStatus.OPEN  # once, not once per question of the message
        turn.state.handoff_at = None
        turn.replies.append(ctx.render("handoff_back", lang))

    awaited = turn.state.flow or turn.state.offer or turn.state.offered_human
    yes_no = bool(turn.state.choices) and read_act(turn.state.choices[0]) == AFFIRM
    if awaited and yes_no and understanding.intent == GOODBYE and starts_yes(text):
        # "sí, nos vemos mañana" to "¿Confirmás que venís?" is the answer, with a goodbye.
        turn.understanding = understanding = replace(understanding, intent=AFFIRM)
    # A goodbye the classifier scored ("lo que tengas" looks like "que tengas buen día")
    # leaves a flow only if the flow does not read it as the answer it waits for. The
    # flow's claim is asked once: nothing below changes a goodbye turn's understanding or
    # state before the claim is used again (the rewrites to AFFIRM are of other turns).
    claimed: bool | None = None
    said_goodbye = False
    if understanding.intent == GOODBYE:
        said_goodbye = read_act(text) == GOODBYE
        if not said_goodbye:
            claimed = _claimed(runtime, turn, text, conversation, ctx)
            said_goodbye = not claimed
    # "bueno, otro día vengo": as good as a goodbye to the question pending.
    leaving = said_goodbye or (leaves_for_now(text) and "when" not in understanding.entities)
    if turn.state.flow and (is_exit(text) or leaving):
        if leaving and GOODBYE in runtime.by_intent:
            turn.state.flow = None  # "perfecto, ¡hasta luego!" mid-booking: let them go
            _run_skill(runtime, runtime.by_intent[GOODBYE], turn, text, conversation, ctx, now)
            return
        turn.state.flow = None
        turn.state.misunderstood = 0
        turn.replies.append(ctx.render("flow_exit", lang))
        return

    if understanding.intent == COMPLAINT:
        _complained(runtime, turn, text, conversation, ctx, now)
        return
    if (
        awaited
        and understanding.intent == "thanks"
        and (starts_yes(text) or (yes_no and says_yes(text)))
    ):
        # "dale, gracias" to a question is the answer, with manners; so is "perfecto,
        # gracias" to a yes/no question.
        turn.understanding = understanding = replace(understanding, intent=AFFIRM)
    if turn.state.offered_human and understanding.intent in (AFFIRM, DENY):
        turn.state.offered_human = False
        turn.state.misunderstood = 0
        if understanding.intent == DENY:
            turn.replies.append(ctx.render("human_declined", lang))
            return
        handoff = runtime.by_intent.get(HUMAN)
        if handoff is not None:
            _run_skill(runtime, handoff, turn, text, conversation, ctx, now)
        return

    if claimed is None:
        claimed = _claimed(runtime, turn, text, conversation, ctx)
    offer, turn.state.offer = turn.state.offer, None
    if offer and not claimed and understanding.intent == AFFIRM and offer in runtime.by_intent:
        # "sí" to "¿Querés sacar uno?": the offered request, as if asked.
        turn.understanding = understanding = replace(understanding, intent=offer)
    if not turn.state.flow and understanding.intent in (AFFIRM, DENY) and ACK in runtime.by_intent:
        # A yes or no to nothing pending ("ok", "👍", "no, gracias"): an acknowledgement.
        turn.understanding = understanding = replace(understanding, intent=ACK)
    unknown = understanding.intent is None and not turn.state.flow
    chosen = route(
        understanding.intent,
        understanding.confidence,
        is_short_answer(text, understanding.entities),
        turn.state,
        runtime.skills,
        runtime.by_intent,
        claimed,
    )
    if chosen.skill is None:
        turn.replies.append(ctx.render("fallback", lang, example=_example_service(ctx, lang)))
        result = SkillResult(misunderstood=True)
    else:
        result = _run_skill(runtime, chosen.skill, turn, text, conversation, ctx, now)
        follow_up = result.follow_up
        helper = runtime.by_intent.get(follow_up.intent) if follow_up else None
        if helper is not None and helper is not chosen.skill:
            # The skill asked another to add to this turn (a new booking → its payment link).
            # Contained like any skill and not chained further, so skills cannot loop; the
            # turn stays the first skill's.
            _run_skill(runtime, helper, turn, text, conversation, ctx, now, follow_up)
            turn.skill = chosen.skill.name
    if chosen.resume is not None and turn.state.flow == chosen.resume.name:
        prompt = _resume_prompt(chosen.resume, turn, ctx)
        if prompt:
            turn.replies.append(prompt)
    _count_misunderstanding(turn, result, unknown)
    if (
        turn.state.misunderstood >= MISUNDERSTANDINGS_BEFORE_HUMAN
        and not turn.state.offered_human
        and HUMAN in runtime.by_intent
    ):
        turn.replies.append(ctx.render("offer_human", lang))
        turn.state.offered_human = True


def _complained(
    runtime: TenantRuntime,
    turn: _Turn,
    text: str,
    conversation: LockedConversation,
    ctx: EngineSkillContext,
    now: datetime,
) -> None:
    """ "No entendés nada": a person is offered now, not after more misunderstandings
    (with no handoff skill, the customer is told what the bot can do)."""
    lang = turn.understanding.language
    if HUMAN not in runtime.by_intent:
        turn.replies.append(ctx.render("fallback", lang, example=_example_service(ctx, lang)))
        return
    if turn.state.offered_human:  # asked twice: hand over
        turn.state.offered_human = False
        _run_skill(runtime, runtime.by_intent[HUMAN], turn, text, conversation, ctx, now)
        return
    turn.replies.append(ctx.render("offer_human", lang))
    turn.state.offered_human = True


def _run_skill(
    runtime: TenantRuntime,
    skill: Skill,
    turn: _Turn,
    text: str,
    conversation: LockedConversation,
    ctx: EngineSkillContext,
    now: datetime,
    follow_up: FollowUp | None = None,
) -> SkillResult:
    """Run one skill, contained: an exception or an overrun rolls back what the skill
    wrote (its savepoint), records the error and apologises; the turn goes on."""
    u = turn.understanding
    request = Turn(
        text=text,
        language=u.language,
        intent=follow_up.intent if follow_up else u.intent,
        confidence=1.0 if follow_up else u.confidence,
        entities=follow_up.entities if follow_up else u.entities,
        state=turn.state.skill_state(skill.name),
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        in_flow=follow_up is None and turn.state.flow == skill.name,
    )
    budget = float(ctx.tenant_setting("skill_time_budget_s", DEFAULT_SKILL_BUDGET_S))
    call = call_inline if is_builtin(type(skill)) else SKILL_CALLS.call
    try:
        result = call(lambda: skill.handle(request, ctx), budget)
        if not isinstance(result, SkillResult):
            raise TypeError(f"handle() returned {type(result).__name__}, not SkillResult")
    except CallOverrun as exc:
        log.error("skill %s overran in conversation %s: %s", skill.name, conversation.id, exc)
        if turn.conn is not None:
            # The whole transaction is given up and the caller commits an apology instead.
            # A skill still running may be writing through the turn's connection: it is
            # closed (row lock released now, a late write fails on a closed connection).
            if exc.running:
                turn.conn.invalidate()
            SKILL_ERRORS.labels(skill.name).inc()
            raise SkillOverrun(skill.name, budget) from None
        return _skill_failed(skill, turn, ctx, f"skill {skill.name} failed: SkillOverrun")
    except Exception as exc:  # a skill error never kills a conversation
        ctx.finish(keep=False)
        log.error(
            "skill %s failed in conversation %s: %s: %s",
            skill.name,
            conversation.id,
            type(exc).__name__,
            exc,
            exc_info=True,
        )
        return _skill_failed(skill, turn, ctx, f"skill {skill.name} failed: {type(exc).__name__}")
    ctx.finish(keep=True)
    turn.skill = skill.name
    for reply in result.replies:
        extras = reply.extras()
        if extras:
            turn.extras[len(turn.replies)] = extras
        turn.replies.append(reply.text)
    if result.state is not None:
        turn.state.skills[skill.name] = dict(result.state)
    later = result.meta.get(AFTER_COMMIT) if result.meta else None
    if later is not None:
        turn.after_commit.append(later)
    if result.flow is True:
        turn.state.flow = skill.name
    elif result.flow is False and turn.state.flow == skill.name:
        turn.state.flow = None
    offer = result.meta.get("offer") if result.meta else None
    if isinstance(offer, str):
        turn.state.offer = offer
    if result.handoff:
        turn.status = ConversationStatus.WAITING_HUMAN
        turn.state.handoff_at = now.isoformat()
        turn.state.flow = None
    return result


def _skill_failed(skill: Skill, turn: _Turn, ctx: EngineSkillContext, error: str) -> SkillResult:
    SKILL_ERRORS.labels(skill.name).inc()
    turn.error = error
    turn.skill = skill.name
    turn.replies.append(ctx.render("skill_error", turn.understanding.language))
    return SkillResult()


# Parts of one message that each ask something ("un turno el jueves a las 17\n¿aceptan
# efectivo?"): lines, and sentences ending in "?".
_PARTS = re.compile(
    r"\n+|(?<=[?!.])\s+|:?\s+\d\)\s*|,?\s+(?:y|e|and)\s+(?=(?:si|tenes|tenés|tienen|tenéis|teneis|hay|donde"
    r"|dónde|hasta|a que|a qué|cuanto|cuánto|cual|cuál|me|where|what|how|do you|can|could"
    r"|would|is there|are you|have you|when)\b)"
    # "cuánto sale la coloración, hasta qué hora abren los sábados y si tienen lugar…"
    r"|,\s+(?=(?:hasta qu[eé] hora|a qu[eé] hora|qu[eé] horarios?|cu[aá]nto (?:sale|cuesta|es"
    r"|cobran|vale)|d[oó]nde (?:est[aá]n|quedan)|si (?:tienen|tenés|tenes|tienes|hay|abren"
    r"|atienden)|what time|what are your|what s your|how much|where are|do you have"
    r"|are you open|when do you)\b)",
    re.IGNORECASE,
)
# "precios y dirección": split on a bare "y" only when each side is its own sure question.
_AND = re.compile(r"\s+(?:y|e|and)\s+", re.IGNORECASE)
_SURE = 0.6
_NOT_A_QUESTION = frozenset({None, "greeting", "thanks", ACK, AFFIRM, DENY, "laugh", "ask_away"})
_FLOW_INTENTS = frozenset({"book", "cancel", "reschedule"})


def _priced_in_turn(understood: list[tuple[str, Understanding]]) -> list[tuple[str, Understanding]]:
    """ "¿cuánto sale el corte? ¿y la barba?": the "¿y la barba?" after a price asks its
    price too (alone it reads as nothing)."""
    read: list[tuple[str, Understanding]] = []
    for piece, u in understood:
        before = read[-1][1].intent if read else None
        asked = u.intent is None and "service" in u.entities and is_follow_up(piece)
        if before == "pricing" and asked:
            u = replace(u, intent="pricing", confidence=1.0)
        read.append((piece, u))
    return read


# A price asked in words ("¿y cuánto sale la manicura también?"), not a service added.
_PRICE_WORDS = re.compile(r"\b(?:cuanto|precio|sale|salen|cuesta|vale|how much|price|cost)\b")


def _also_wanted(piece: str, understood: Understanding, whole: Understanding) -> bool:
    """ "turno para el jueves para corte y si puede ser también manicura": the part
    after "y si" adds a service to the booking asked (its "si" is "if"), no price."""
    return (
        whole.intent == "book"
        and understood.intent == "pricing"
        and "service" in understood.entities
        and adds_to_request(piece)
        and not _PRICE_WORDS.search(normalize(piece))
    )


def _hours_apart(asks: list[tuple[str, Understanding]]) -> bool:
    """ "¿qué días atienden? ¿y a qué hora cierran los sábados?": two questions on the
    hours, about different days (the week, then Saturday), each answered."""
    if len(asks) < 2 or any(u.intent != "hours" for _, u in asks):
        return False
    days = [_day_asked(u) for _, u in asks]
    return len(set(days)) == len(days)


def _day_asked(understanding: Understanding) -> object:
    when = understanding.entities.get("when")
    return when.start.date() if when is not None else understanding.entities.get("weekday")


def _questions(
    runtime: TenantRuntime,
    text: str,
    now: datetime,
    conversation: LockedConversation,
    whole: Understanding,
) -> list[tuple[str, Understanding]] | None:
    """The message's separate questions, each understood alone, requests that start a
    flow last (so the turn ends on the flow's question); None when it asks one thing
    (unless the whole reads as a greeting that carries one question: "hola, ¿cómo
    estás? quería consultar si atienden feriados" asks about holidays)."""
    if whole.intent == "reschedule" and whole.confidence >= 1.0:
        return None  # "I have to cancel thursday. could I do saturday instead?": one move
    if whole.intent == "unknown_fact" and asks_gift(text):
        return None  # "¿hacéis tarjetas regalo? para un masaje": the gift's, not a booking
    hours, language = runtime.profile.opening_hours, conversation.language
    read: dict[str, Understanding] = {}  # both splitters often cut the same pieces
    named = any(k in whole.entities for k in _NAMES)
    for splitter, strict in ((_PARTS, False), (_AND, True)):
        pieces = [p.strip() for p in splitter.split(text) if p.strip()]
        if not 2 <= len(pieces) <= 5:
            continue
        for p in pieces:
            if p not in read:
                read[p] = runtime.nlu.understand(p, now, hours, language, service_beside=named)
        understood = _priced_in_turn([(p, read[p]) for p in pieces])
        asks = [
            (p, u)
            for p, u in understood
            if u.intent not in _NOT_A_QUESTION
            # "¿atienden por obra social? tengo OSDE": "tengo" is no question about bookings
            and not (u.intent == "my_bookings" and not _BOOKING_WORDS.search(normalize(p)))
            and not only_same_time(p)  # "…¿para el sábado siguiente? mismo horario"
            and not _said_not_asked(p, u, text)  # "¿una cita para mi niño? tiene fiebre"
            and not _also_wanted(p, u, whole)  # "… y si puede ser también manicura"
        ]
        if strict and (
            len(asks) != len(pieces)
            or any(u.intent in _FLOW_INTENTS or u.confidence < _SURE for _, u in asks)
        ):
            continue  # "turno para corte y barba" is one request, not two
        if len({u.intent for _, u in asks}) >= 2 or _hours_apart(asks):
            shared = _share_service(_share_day(asks), [u for _, u in understood])
            return sorted(shared, key=lambda pu: pu[1].intent in _FLOW_INTENTS)
        if not strict and whole.intent == "greeting" and len(asks) == 1:
            return asks
    return None


def _said_not_asked(piece: str, understood: Understanding, text: str) -> bool:
    """A piece read as "do you have X?" that is told, not asked: the customer marks
    questions with "?" and this one has none ("tiene fiebre" is the child's fever)."""
    return understood.intent == "unknown_fact" and "?" in text and not piece.rstrip().endswith("?")


_BOOKING_WORDS = re.compile(
    r"\b(?:turnos?|citas?|reservas?|hora|appointments?|bookings?|agend\w*|cuando|when)\b"
)


def _drop_repeats(turn: _Turn) -> None:
    """ "¿cuánto salen las esculpidas y cuánto tardan?": two questions, one answer; say
    it once."""
    seen: set[str] = set()
    kept: list[str] = []
    extras = {}
    for i, reply in enumerate(turn.replies):
        if reply in seen:
            continue
        seen.add(reply)
        if i in turn.extras:
            extras[len(kept)] = turn.extras[i]
        kept.append(reply)
    turn.replies[:] = kept
    turn.extras = extras


def _share_day(asks: list[tuple[str, Understanding]]) -> list[tuple[str, Understanding]]:
    """ "¿Abren el sábado? Y si hay turno para barba": the request is for the day the
    other question named (said once, it holds for the whole message)."""
    dated = [u.entities["when"] for _, u in asks if "when" in u.entities]
    dated = [w for w in dated if w.has_date]
    if len(dated) != 1:
        return asks
    return [
        (p, replace(u, entities={**u.entities, "when": dated[0]}))
        if u.intent in _FLOW_INTENTS and "when" not in u.entities
        else (p, u)
        for p, u in asks
    ]


_NAMES = ("service", "services", "service_options")


def _share_service(
    asks: list[tuple[str, Understanding]], told: list[Understanding]
) -> list[tuple[str, Understanding]]:
    """ "¿cuánto sale la coloración? … y si tienen lugar el jueves": the request is for
    the one service the message's other parts named, told or asked ("My son is sitting
    the 11+ in September. How much would that be and do you have space on Saturday?");
    so is a price asked of nothing ("can I get a blow dry today? also how much is it?")."""
    named = {
        u.entities["service"]
        for u in told
        if "service" in u.entities and not any(k in u.entities for k in _NAMES[1:])
    }
    if named:
        asks = _also_booked(asks, named)
    if len(named) == 2:
        asks = _added_after(asks, named)
        # "how much is a haircut? and the beard? I'd like both on the same day"
        return _both_booked(
            asks, [u.entities["service"] for u in told if u.entities.get("service") in named]
        )
    options = {u.entities["service_options"] for _, u in asks if "service_options" in u.entities}
    several = {u.entities["services"] for _, u in asks if "services" in u.entities}
    shared: dict[str, Any]
    if len(named) == 1:
        shared = {"service": next(iter(named))}
    elif not named and len(options) == 1 and not several:
        # "how much for brakes … and can you do it tomorrow?": which of those two
        shared = {"service_options": next(iter(options))}
    elif not named and len(several) == 1 and not options:
        # "¿cuánto cuesta el láser de piernas y axilas juntas? ¿y hay hueco el viernes?"
        both = next(iter(several))
        shared = {"service": both[0], "services": both}
    else:
        return asks
    return [
        (p, replace(u, entities={**u.entities, **shared}))
        if u.intent in (*_FLOW_INTENTS, "pricing") and not any(k in u.entities for k in _NAMES)
        else (p, u)
        for p, u in asks
    ]


def _added_after(
    asks: list[tuple[str, Understanding]], named: set[Any]
) -> list[tuple[str, Understanding]]:
    """ "¿cuánto sale la barba? ¿me la agregás después del corte?": what is added is the
    service the other question named (the beard), after the one this part names (the
    haircut, booked)."""
    added = []
    for piece, u in asks:
        own = u.entities.get("service")
        others = [s for s in named if s != own]
        alone = "services" not in u.entities and "when" not in u.entities
        if u.intent == "book" and own in named and len(others) == 1 and alone and adds_on(piece):
            u = replace(u, entities={**u.entities, "service": others[0]})
        added.append((piece, u))
    return added


def _both_booked(
    asks: list[tuple[str, Understanding]], named: list[Any]
) -> list[tuple[str, Understanding]]:
    """A request that names no service but says "both" ("quiero los dos", "I'd like both
    on the same day"): the two services the message asked about, in the order said."""
    two = tuple(dict.fromkeys(named))
    return [
        (p, replace(u, entities={**u.entities, "service": two[0], "services": two}))
        if u.intent in _FLOW_INTENTS and not any(k in u.entities for k in _NAMES) and says_both(p)
        else (p, u)
        for p, u in asks
    ]


def _also_booked(
    asks: list[tuple[str, Understanding]], named: set[Any]
) -> list[tuple[str, Understanding]]:
    """ "¿cuánto me cobran por el cambio de aceite? y si también le pueden checar los
    frenos, ¿tienen espacio el sábado?": the booking is for both, the one asked about
    first, then the one it adds ("también", "also"); when what it adds may be one of
    several ("brakes": the inspection or the pads), which one is asked, the other after."""
    shared = []
    for piece, understood in asks:
        ents = understood.entities
        own, options = ents.get("service"), ents.get("service_options") or ()
        before = [s for s in named if s != own and s not in options]
        adds = understood.intent == "book" and adds_to_request(piece) and len(before) == 1
        if adds and own in named and not any(k in ents for k in _NAMES[1:]):
            both = {**ents, "service": before[0], "services": (before[0], own)}
            understood = replace(understood, entities=both)
        elif adds and options and own is None and "services_then" not in ents:
            understood = replace(understood, entities={**ents, "services_then": (before[0],)})
        shared.append((piece, understood))
    return shared


def _example_service(ctx: EngineSkillContext, lang: str) -> str | None:
    """A service of this business to show in help texts (never another trade's)."""
    services = ctx.services()
    return services[0].label(lang) if services else None


def _claimed(
    runtime: TenantRuntime,
    turn: _Turn,
    text: str,
    conversation: LockedConversation,
    ctx: EngineSkillContext,
) -> bool:
    """Whether the active flow's skill reads this message as the answer it waits for."""
    skill = runtime.skills.get(turn.state.flow) if turn.state.flow else None
    if skill is None:
        return False
    u = turn.understanding
    request = Turn(
        text=text,
        language=u.language,
        intent=u.intent,
        confidence=u.confidence,
        entities=u.entities,
        state=turn.state.skill_state(skill.name),
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        in_flow=True,
    )
    try:
        return bool(skill.claims(request, ctx))
    except Exception:
        log.exception("claims() of %s failed", skill.name)
        return False


def _no_loops(runtime: TenantRuntime, turn: _Turn, ctx: EngineSkillContext) -> None:
    """The same question twice in a row is rephrased; a third time a person is offered."""
    if not turn.replies or turn.status is not None:
        return
    digest = hashlib.sha256("\n".join(turn.replies).encode()).hexdigest()[:16]
    same = digest == turn.state.last_reply and turn.state.flow is not None
    turn.state.last_reply = digest
    turn.state.repeats = turn.state.repeats + 1 if same else 0
    lang = turn.understanding.language
    if turn.state.repeats == 1:
        turn.replies.insert(0, ctx.render("rephrase", lang))
        turn.extras = {i + 1: e for i, e in turn.extras.items()}
    elif turn.state.repeats >= 2 and HUMAN in runtime.by_intent and not turn.state.offered_human:
        turn.replies.append(ctx.render("offer_human", lang))
        turn.state.offered_human = True


def _resume_prompt(skill: Skill, turn: _Turn, ctx: EngineSkillContext) -> str:
    try:
        return skill.resume_prompt(
            turn.state.skill_state(skill.name), ctx, turn.understanding.language
        )
    except Exception:
        log.exception("resume_prompt of %s failed", skill.name)
        return ""


def _count_misunderstanding(turn: _Turn, result: SkillResult, unknown: bool) -> None:
    if unknown or result.misunderstood:
        turn.state.misunderstood += 1
    else:
        turn.state.misunderstood = 0
        turn.state.offered_human = False


def handoff_expired(state: DialogueState, ctx: EngineSkillContext, now: datetime) -> bool:
    """Nobody wrote within the tenant's handoff timeout: the bot may answer again (here on
    the customer's next message, and in the periodic job that tells them so)."""
    if not state.handoff_at:
        return False
    minutes = float(ctx.tenant_setting("handoff_timeout_minutes", DEFAULT_HANDOFF_TIMEOUT_MIN))
    return now - datetime.fromisoformat(state.handoff_at) > timedelta(minutes=minutes)
