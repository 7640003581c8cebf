"""The booking skill: a slot-filling flow (service, day, time → confirm → book), plus
listing, cancelling and rescheduling the customer's bookings. Availability and the
no-double-booking guarantee live in the repository and the database."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from hablo.plugins import FollowUp, IntentSpec, Reply, Skill, SkillContext, SkillResult, Turn
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.booking.availability import nearest_free
from hablo.skills.booking.repository import BookingInfo, BookingRepository
from hablo.skills.booking.texts import TEMPLATES
from hablo.skills.examples import load_examples

MAX_TIMES_SHOWN = 6
_ORDINALS = {
    "primera": 1,
    "primero": 1,
    "first": 1,
    "segunda": 2,
    "segundo": 2,
    "second": 2,
    "tercera": 3,
    "tercero": 3,
    "third": 3,
    "cuarta": 4,
    "fourth": 4,
    "quinta": 5,
}
_NUMBER = re.compile(r"(?<![\d:/])([1-9])(?![\d:/])")


class BookingSkill(Skill):
    name = "booking"
    intents = (
        IntentSpec("book", load_examples("book")),
        IntentSpec("cancel", load_examples("cancel")),
        IntentSpec("reschedule", load_examples("reschedule")),
        IntentSpec("my_bookings", load_examples("my_bookings")),
    )
    slots = ("service", "day", "time")
    templates = TEMPLATES

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        return _Flow(turn, ctx).run()

    def resume_prompt(self, state: Mapping[str, Any], ctx: SkillContext, language: str) -> str:
        question = _question_for(dict(state), ctx, language)
        return ctx.render("booking_resume", language, question=question) if question else ""


YES_NO = {"es": ("Sí", "No"), "en": ("Yes", "No")}


def _question_for(state: dict[str, Any], ctx: SkillContext, lang: str) -> str:
    """Re-ask where the flow stopped (after an interruption)."""
    step = state.get("step")
    service = _service(ctx, state.get("service_id"))
    if step == "service":
        return ctx.render("booking_ask_service", lang, services=[s.name for s in ctx.services()])
    if step == "day" and service:
        return ctx.render("booking_ask_day", lang, service=service.name)
    if step in ("confirm", "reschedule_confirm") and service and state.get("proposal"):
        when = ctx.format_datetime(datetime.fromisoformat(state["proposal"]), lang)
        return ctx.render(
            "booking_confirm",
            lang,
            service=service.name,
            when=when,
            price=ctx.format_money(service.price_minor, lang),
        )
    if step == "time" and service and state.get("day"):
        return _ask_time_text(ctx, service, date.fromisoformat(state["day"]), lang) or ""
    if step == "pick_option" and state.get("options"):
        options = [ctx.format_datetime(datetime.fromisoformat(o), lang) for o in state["options"]]
        return ctx.render("booking_options", lang, options=options)
    return ""


def _ask_time_text(ctx: SkillContext, service: ServiceInfo, day: date, lang: str) -> str | None:
    slots = _repo(ctx).free_slots(day, service, ctx.opening_hours(day), ctx.now())
    if not slots:
        return None
    shown = [f"{s.astimezone(_zone(ctx)):%H:%M}" for s in slots[:MAX_TIMES_SHOWN]]
    return ctx.render("booking_ask_time", lang, day=_day_text(ctx, day, lang), slots=shown)


def _zone(ctx: SkillContext) -> ZoneInfo:
    return ZoneInfo(ctx.tenant.timezone)


def _repo(ctx: SkillContext) -> BookingRepository:
    return ctx.bookings()


def _service(ctx: SkillContext, service_id: str | None) -> ServiceInfo | None:
    if not service_id:
        return None
    return next((s for s in ctx.services() if str(s.id) == service_id), None)


def _day_text(ctx: SkillContext, day: date, lang: str) -> str:
    from babel.dates import format_date

    return format_date(day, "EEEE d/M" if lang == "es" else "EEEE MMMM d", locale=lang)


class _Flow:
    """One turn of the booking conversation; `state` is the skill's private state."""

    def __init__(self, turn: Turn, ctx: SkillContext) -> None:
        self.turn = turn
        self.ctx = ctx
        self.lang = turn.language
        self.state: dict[str, Any] = dict(turn.state) if turn.in_flow else {}
        self.now = ctx.now()

    # -- entry ---------------------------------------------------------------------------

    def run(self) -> SkillResult:
        intent = self.turn.intent
        step = self.state.get("step")
        if intent == "my_bookings" and step not in ("pick_booking",):
            return self._list()
        if intent == "cancel":
            if self.state.get("mode") in ("book", "reschedule"):
                return self._say("booking_abandoned", flow=False, state={})
            return self._start_cancel()
        if intent == "reschedule" and self.state.get("mode") != "reschedule":
            return self._start_reschedule()
        if step in ("confirm", "reschedule_confirm", "confirm_cancel", "confirm_reminder"):
            if intent == "affirm":
                return self._confirmed()
            if intent == "deny":
                return self._denied()
        if step == "pick_booking":
            return self._picked_booking()
        if step == "pick_option":
            choice = self._option_choice()
            if choice is not None:
                return self._propose(choice)
        if not self.turn.in_flow:
            self.state = {"mode": "book"}
        absorbed = self._absorb_entities()
        if self.turn.in_flow and not absorbed and intent not in ("book", "reschedule"):
            result = self._advance()
            return SkillResult(
                replies=result.replies, state=result.state, flow=True, misunderstood=True
            )
        return self._advance()

    # -- slot filling --------------------------------------------------------------------

    def _absorb_entities(self) -> bool:
        found = False
        service = self.turn.entities.get("service")
        if isinstance(service, ServiceInfo):
            self.state["service_id"] = str(service.id)
            found = True
        when = self.turn.entities.get("when")
        if when is not None:
            local = when.start.astimezone(_zone(self.ctx))
            if when.has_date:
                self.state["day"] = local.date().isoformat()
                if not when.has_time:
                    self.state.pop("time", None)
            if when.has_time:
                self.state["time"] = f"{local:%H:%M}"
                if not when.has_date and "day" not in self.state:
                    self.state["day"] = local.date().isoformat()
            found = True
        return found

    def _advance(self) -> SkillResult:
        ctx, lang = self.ctx, self.lang
        service = _service(ctx, self.state.get("service_id"))
        if service is None:
            if self.state.get("mode") == "reschedule":
                service = _service(ctx, self.state.get("booking_service_id"))
            if service is None:
                self.state["step"] = "service"
                return self._say("booking_ask_service", services=[s.name for s in ctx.services()])
            self.state["service_id"] = str(service.id)
        if "day" not in self.state:
            self.state["step"] = "day"
            return self._say("booking_ask_day", service=service.name)
        day = date.fromisoformat(self.state["day"])
        if day < self.now.date():
            self.state.pop("day")
            self.state["step"] = "day"
            return self._say("booking_past")
        if not ctx.opening_hours(day):
            wanted = datetime.combine(day, time(12), _zone(ctx))
            return self._offer(wanted, service, "booking_closed_day", holiday=ctx.holiday(day))
        if "time" not in self.state:
            text = _ask_time_text(ctx, service, day, lang)
            if text is None:
                wanted = datetime.combine(day, time(12), _zone(ctx))
                return self._offer(
                    wanted,
                    service,
                    "booking_day_full",
                    day=_day_text(ctx, day, lang),
                    service=service.name,
                )
            self.state["step"] = "time"
            return SkillResult.say(text, state=self.state, flow=True)
        hour, minute = (int(x) for x in self.state["time"].split(":"))
        wanted = datetime.combine(day, time(hour, minute), _zone(ctx))
        free = _repo(ctx).free_slots(day, service, ctx.opening_hours(day), self.now)
        if wanted in free:
            return self._propose(wanted)
        return self._offer(wanted, service, "booking_taken")

    def _offer(
        self, wanted: datetime, offered: ServiceInfo, template: str, **values: Any
    ) -> SkillResult:
        repo = _repo(self.ctx)
        options = nearest_free(
            wanted,
            offered.duration_minutes,
            repo.policy,
            self.ctx.opening_hours,
            repo.busy_between,
            self.now,
            _zone(self.ctx),
            limit=3,
        )
        self.state.pop("time", None)
        if not options:
            self.state.pop("day", None)
            self.state["step"] = "day"
            return self._say("booking_no_options")
        self.state["options"] = [o.isoformat() for o in options]
        self.state["step"] = "pick_option"
        options_text = self.ctx.render(
            "booking_options",
            self.lang,
            options=[self.ctx.format_datetime(o, self.lang) for o in options],
        )
        return self._say(template, options_text=options_text, **values)

    def _option_choice(self) -> datetime | None:
        options = [datetime.fromisoformat(o) for o in self.state.get("options", [])]
        if not options:
            return None
        text = self.turn.text.casefold()
        number = _NUMBER.search(text)
        index = (
            int(number.group(1))
            if number
            else next((n for word, n in _ORDINALS.items() if word in text), None)
        )
        if index is not None and 1 <= index <= len(options):
            return options[index - 1]
        when = self.turn.entities.get("when")
        if when is not None and when.has_time:
            local = when.start.astimezone(_zone(self.ctx))
            for option in options:
                local_option = option.astimezone(_zone(self.ctx))
                same_day = not when.has_date or local_option.date() == local.date()
                if same_day and local_option.time() == local.time().replace(second=0):
                    return option
        return None

    def _propose(self, start: datetime) -> SkillResult:
        service = _service(self.ctx, self.state.get("service_id"))
        assert service is not None
        local = start.astimezone(_zone(self.ctx))
        self.state.update(
            day=local.date().isoformat(), time=f"{local:%H:%M}", proposal=start.isoformat()
        )
        self.state.pop("options", None)
        when = self.ctx.format_datetime(start, self.lang)
        if self.state.get("mode") == "reschedule":
            self.state["step"] = "reschedule_confirm"
            return self._ask_yes_no("booking_reschedule_confirm", service=service.name, when=when)
        self.state["step"] = "confirm"
        return self._ask_yes_no(
            "booking_confirm",
            service=service.name,
            when=when,
            price=self.ctx.format_money(service.price_minor, self.lang),
        )

    # -- confirmations -------------------------------------------------------------------

    def _confirmed(self) -> SkillResult:
        repo = _repo(self.ctx)
        step = self.state["step"]
        if step == "confirm_reminder":
            repo.confirm(uuid.UUID(self.state["booking_id"]), self.turn.contact_id)
            return self._say("booking_reminder_confirmed", flow=False, state={})
        if step == "confirm_cancel":
            booking = repo.get(uuid.UUID(self.state["booking_id"]), self.turn.contact_id)
            if booking is not None and repo.cancel(booking.id, self.turn.contact_id):
                return self._say(
                    "booking_cancelled", flow=False, state={}, booking=self._describe(booking)
                )
            return self._say("booking_none", flow=False, state={})
        service = _service(self.ctx, self.state.get("service_id"))
        assert service is not None
        start = datetime.fromisoformat(self.state["proposal"])
        when = self.ctx.format_datetime(start, self.lang)
        if step == "reschedule_confirm":
            moved = repo.reschedule(
                uuid.UUID(self.state["booking_id"]), self.turn.contact_id, start
            )
            if moved is not None:
                return self._say(
                    "booking_rescheduled", flow=False, state={}, service=service.name, when=when
                )
        else:
            # Paid online: the booking waits for the payment (its webhook confirms it).
            online = service.price_minor > 0 and self.ctx.payments().online()
            status = "pending" if online else "confirmed"
            booked = repo.book(
                self.turn.contact_id, service, start, self.turn.conversation_id, status
            )
            if booked is not None:
                done = self._say(
                    "booking_done", flow=False, state={}, service=service.name, when=when
                )
                if not online:
                    return done
                # The payment skill sends the link in this same turn.
                return replace(done, follow_up=FollowUp("pay", {"booking_id": str(booked.id)}))
        # Someone else took it between the proposal and the "sí".
        return self._offer(start, service, "booking_taken")

    def _denied(self) -> SkillResult:
        if self.state["step"] == "confirm_reminder":
            booking = _repo(self.ctx).get(uuid.UUID(self.state["booking_id"]), self.turn.contact_id)
            if booking is not None and _repo(self.ctx).cancel(booking.id, self.turn.contact_id):
                return self._say(
                    "booking_cancelled", flow=False, state={}, booking=self._describe(booking)
                )
            return self._say("booking_none", flow=False, state={})
        if self.state["step"] == "confirm_cancel":
            return self._say("booking_kept", flow=False, state={})
        for key in ("time", "proposal", "day"):
            self.state.pop(key, None)
        self.state["step"] = "day"
        return self._say("booking_denied")

    # -- my bookings, cancel, reschedule ---------------------------------------------------

    def _upcoming(self) -> list[BookingInfo]:
        return _repo(self.ctx).upcoming_for_contact(self.turn.contact_id, self.now)

    def _describe(self, booking: BookingInfo) -> str:
        return f"{booking.service_name}, {self.ctx.format_datetime(booking.starts_at, self.lang)}"

    def _list(self) -> SkillResult:
        bookings = self._upcoming()
        if not bookings:
            return self._say("booking_none", flow=False, state={})
        return self._say(
            "booking_list", flow=False, state={}, bookings=[self._describe(b) for b in bookings]
        )

    def _start_cancel(self) -> SkillResult:
        return self._choose_booking("cancel")

    def _start_reschedule(self) -> SkillResult:
        return self._choose_booking("reschedule")

    def _choose_booking(self, mode: str) -> SkillResult:
        bookings = self._upcoming()
        self.state = {"mode": mode}
        if not bookings:
            return self._say("booking_none", flow=False, state={})
        when = self.turn.entities.get("when")
        if len(bookings) > 1 and when is not None and when.has_date and mode == "cancel":
            day = when.start.astimezone(_zone(self.ctx)).date()
            same_day = [b for b in bookings if b.local_start(_zone(self.ctx)).date() == day]
            bookings = same_day or bookings
        if len(bookings) == 1:
            return self._with_booking(bookings[0])
        self.state["step"] = "pick_booking"
        self.state["bookings"] = [str(b.id) for b in bookings]
        return self._say("booking_pick", bookings=[self._describe(b) for b in bookings])

    def _picked_booking(self) -> SkillResult:
        ids = self.state.get("bookings", [])
        number = _NUMBER.search(self.turn.text)
        if number and 1 <= int(number.group(1)) <= len(ids):
            booking = _repo(self.ctx).get(
                uuid.UUID(ids[int(number.group(1)) - 1]), self.turn.contact_id
            )
            if booking is not None:
                return self._with_booking(booking)
        bookings = [b for b in self._upcoming() if str(b.id) in ids]
        result = self._say("booking_pick", bookings=[self._describe(b) for b in bookings])
        return SkillResult(
            replies=result.replies, state=result.state, flow=True, misunderstood=True
        )

    def _with_booking(self, booking: BookingInfo) -> SkillResult:
        self.state["booking_id"] = str(booking.id)
        if self.state["mode"] == "cancel":
            self.state["step"] = "confirm_cancel"
            return self._ask_yes_no("booking_cancel_confirm", booking=self._describe(booking))
        self.state["booking_service_id"] = str(booking.service_id)
        self.state["service_id"] = str(booking.service_id)
        if self._absorb_entities() and "day" in self.state:
            return self._advance()
        self.state["step"] = "day"
        return self._say("booking_reschedule_ask", booking=self._describe(booking))

    # -- helpers ---------------------------------------------------------------------------

    def _say(
        self, template: str, flow: bool = True, state: dict[str, Any] | None = None, **values: Any
    ) -> SkillResult:
        text = self.ctx.render(template, self.lang, **values)
        return SkillResult.say(text, state=self.state if state is None else state, flow=flow)

    def _ask_yes_no(self, template: str, **values: Any) -> SkillResult:
        """A yes/no question: buttons on WhatsApp, "1. Sí / 2. No" elsewhere."""
        text = self.ctx.render(template, self.lang, **values)
        choices = YES_NO.get(self.lang, YES_NO["en"])
        return SkillResult(replies=(Reply(text, choices=choices),), state=self.state, flow=True)
