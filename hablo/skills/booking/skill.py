"""The booking skill: a slot-filling flow (service, day, time → confirm → book), plus
listing, cancelling and rescheduling the customer's bookings. Availability and the
no-double-booking guarantee live in the repository and the database.

While the flow waits for an answer, the pending question decides how a message is read
(`claims` tells the engine so, whatever the classifier thought): after "¿para qué
servicio?" a service name fills the service, after a list of times "3" is the third
option and "a las 3" is three o'clock, after "¿te reservo…?" "sí, gracias" is a yes and
"no, mejor a las 5" changes the time and asks again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from hablo.engine.nlu.acts import (
    AFFIRM,
    DENY,
    asks_latest,
    asks_opening,
    asks_shift,
    shift_minutes,
    starts_no,
)
from hablo.engine.nlu.party import party_size
from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from hablo.skills.booking import reading
from hablo.skills.booking.base import CONFIRM_STEPS, YES_NO_STEPS
from hablo.skills.booking.flow import BookingFlow
from hablo.skills.booking.moving import new_or_change
from hablo.skills.booking.pauses import holds_on
from hablo.skills.booking.periods import window_of
from hablo.skills.booking.slots import ask_time_text, option_for_whom, service_by_id
from hablo.skills.examples import load_examples


class BookingSkill(Skill):
    name = "booking"
    intents = (
        IntentSpec("book", load_examples("book")),
        IntentSpec("cancel", load_examples("cancel")),
        IntentSpec("reschedule", load_examples("reschedule")),
        IntentSpec("my_bookings", load_examples("my_bookings")),
    )
    slots = ("service", "day", "time")

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        return BookingFlow(turn, ctx).run()

    def claims(self, turn: Turn, ctx: SkillContext) -> bool:
        """Whether the message answers the flow's pending question."""
        step = turn.state.get("step")
        ents = turn.entities
        when, service = ents.get("when"), ents.get("service")
        act = turn.intent if turn.intent in (AFFIRM, DENY) else None
        text = turn.text
        if turn.intent == "hours" and asks_opening(text):
            return False  # "¿a qué hora cierran el sábado?" mid-booking: a question of its own
        if step and holds_on(text):
            return True  # "esperá que me fijo": the question waits
        if step in ("service", "day", "pick_option", *CONFIRM_STEPS) and reading.window(text, when):
            return True  # "tiene que ser por la tarde": the times offered from now on
        if step in CONFIRM_STEPS:
            return (
                act is not None
                or starts_no(text)
                or bool(when or service)
                or reading.same_time(text)
                or reading.new_hour(text) is not None
                or reading.bare_hour(text) is not None
                or shift_minutes(text) is not None
                or asks_shift(text) is not None
                or party_size(text) > 1
            )
        if step in YES_NO_STEPS:
            return (
                act is not None
                or reading.confirms_cancel(step, text)
                or reading.confirms_coming(step, text)
            )
        if step == "pick_option":
            count = len(turn.state.get("options", ()))
            return bool(
                act
                or when
                or service
                or reading.option_index(turn.text, count)
                or reading.wants_earliest(turn.text)
                or asks_latest(turn.text)
                or reading.lone_number(turn.text) is not None
            )
        if step == "pick_booking":
            return bool(when or service or reading.option_index(turn.text, 9))
        if step == "move_or_new":
            return new_or_change(text) is not None
        if step == "service":
            listed = len(turn.state.get("services_listed", ()))
            kept = turn.state.get("service_options", [])
            return (
                service is not None
                or bool(ents.get("service_options"))
                or option_for_whom(ctx, kept, text) is not None  # "for men"
                or reading.wants_first(text)  # "whatever's earliest": for what, then
                or reading.asks_what_there_is(text)  # "no sé, ¿qué tenés?"
                or reading.option_index(turn.text, listed) is not None  # "the 2nd one"
            )
        if step == "day":
            return (
                when is not None
                or reading.day_of_month(turn.text) is not None
                or reading.wants_earliest(turn.text)
            )
        if step == "time":
            return bool(
                when
                or reading.bare_hour(turn.text) is not None
                or reading.window(turn.text, when)
                or reading.wants_earliest(turn.text)
                or asks_latest(turn.text)
                or asks_shift(turn.text) is not None  # "¿algo más tarde?"
                or reading.asks_other_times(turn.text)
                or reading.asks_other_day(turn.text)
            )
        return False

    def resume_prompt(self, state: Mapping[str, Any], ctx: SkillContext, language: str) -> str:
        question = _question_for(dict(state), ctx, language)
        return ctx.render("booking_resume", language, question=question) if question else ""


def _question_for(state: dict[str, Any], ctx: SkillContext, lang: str) -> str:
    """Re-ask where the flow stopped (after an interruption)."""
    step = state.get("step")
    service = service_by_id(ctx, state.get("service_id"))
    if step == "service":
        services = [s.label(lang) for s in ctx.services()]
        return ctx.render("booking_ask_service", lang, services=services, when=None)
    if step == "day" and service:
        return ctx.render("booking_ask_day", lang, service=service.label(lang))
    if step in CONFIRM_STEPS and service and state.get("proposal"):
        when = ctx.format_datetime(datetime.fromisoformat(state["proposal"]), lang)
        return ctx.render(
            "booking_confirm",
            lang,
            service=service.label(lang),
            when=when,
            price=ctx.format_money(service.price_minor, lang),
        )
    if step == "time" and service and state.get("day"):
        day = date.fromisoformat(state["day"])  # the part of the day asked still holds
        return ask_time_text(ctx, service, day, lang, window_of(state)) or ""
    if step == "pick_option" and state.get("options"):
        options = [ctx.format_datetime(datetime.fromisoformat(o), lang) for o in state["options"]]
        return ctx.render("booking_options", lang, options=options)
    return ""
