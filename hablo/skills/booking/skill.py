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

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hablo.engine.nlu.acts import AFFIRM, DENY, starts_no
from hablo.plugins import FollowUp, IntentSpec, Reply, Skill, SkillContext, SkillResult, Turn
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.booking import reading
from hablo.skills.booking.availability import nearest_free
from hablo.skills.booking.repository import BookingInfo, BookingRepository
from hablo.skills.booking.texts import TEMPLATES
from hablo.skills.examples import load_examples
from hablo.skills.wording import day_text, why_not

MAX_TIMES_SHOWN = 6
YES_NO = {"es": ("Sí", "No"), "en": ("Yes", "No")}
_CONFIRM_STEPS = ("confirm", "reschedule_confirm")
_YES_NO_STEPS = ("confirm_cancel", "confirm_reminder")


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

    def claims(self, turn: Turn, ctx: SkillContext) -> bool:
        """Whether the message answers the flow's pending question."""
        step = turn.state.get("step")
        ents = turn.entities
        when, service = ents.get("when"), ents.get("service")
        act = turn.intent if turn.intent in (AFFIRM, DENY) else None
        if step in _CONFIRM_STEPS:
            return act is not None or starts_no(turn.text) or bool(when or service)
        if step in _YES_NO_STEPS:
            return act is not None
        if step == "pick_option":
            count = len(turn.state.get("options", ()))
            return bool(
                act
                or when
                or service
                or reading.option_index(turn.text, count)
                or reading.wants_earliest(turn.text)
            )
        if step == "pick_booking":
            return bool(when or service or reading.option_index(turn.text, 9))
        if step == "service":
            return service is not None or bool(ents.get("service_options"))
        if step == "day":
            return when is not None or reading.day_of_month(turn.text) is not None
        if step == "time":
            return bool(
                when
                or reading.bare_hour(turn.text) is not None
                or reading.window(turn.text, when)
                or reading.wants_earliest(turn.text)
            )
        return False

    def resume_prompt(self, state: Mapping[str, Any], ctx: SkillContext, language: str) -> str:
        question = _question_for(dict(state), ctx, language)
        return ctx.render("booking_resume", language, question=question) if question else ""


def _question_for(state: dict[str, Any], ctx: SkillContext, lang: str) -> str:
    """Re-ask where the flow stopped (after an interruption)."""
    step = state.get("step")
    service = _service(ctx, state.get("service_id"))
    if step == "service":
        services = [s.label(lang) for s in ctx.services()]
        return ctx.render("booking_ask_service", lang, services=services)
    if step == "day" and service:
        return ctx.render("booking_ask_day", lang, service=service.label(lang))
    if step in _CONFIRM_STEPS and service and state.get("proposal"):
        when = ctx.format_datetime(datetime.fromisoformat(state["proposal"]), lang)
        return ctx.render(
            "booking_confirm",
            lang,
            service=service.label(lang),
            when=when,
            price=ctx.format_money(service.price_minor, lang),
        )
    if step == "time" and service and state.get("day"):
        return _ask_time_text(ctx, service, date.fromisoformat(state["day"]), lang) or ""
    if step == "pick_option" and state.get("options"):
        options = [ctx.format_datetime(datetime.fromisoformat(o), lang) for o in state["options"]]
        return ctx.render("booking_options", lang, options=options)
    return ""


def _ask_time_text(
    ctx: SkillContext,
    service: ServiceInfo,
    day: date,
    lang: str,
    period: tuple[int, int] | None = None,  # minutes of the day
) -> str | None:
    """ "¿A qué hora? …" with the free times of the day (of its afternoon, if asked)."""
    slots = _shown(ctx, service, day, period)
    if not slots:
        return None
    shown = [_clock(ctx, s, lang) for s in slots]
    return ctx.render("booking_ask_time", lang, day=day_text(day, lang), slots=shown)


def _spread(ctx: SkillContext, slots: list[datetime], lang: str) -> list[str]:
    return [_clock(ctx, s, lang) for s in _spread_slots(slots)]


def _spread_slots(slots: list[datetime]) -> list[datetime]:
    """Up to MAX_TIMES_SHOWN times spread over the day, not just the first ones."""
    if len(slots) > MAX_TIMES_SHOWN:
        step = (len(slots) - 1) / (MAX_TIMES_SHOWN - 1)
        slots = [slots[round(i * step)] for i in range(MAX_TIMES_SHOWN)]
    return slots


def _shown(
    ctx: SkillContext, service: ServiceInfo, day: date, period: tuple[int, int] | None
) -> list[datetime]:
    """The times "¿a qué hora?" lists, so "la tercera" can pick one."""
    slots = _repo(ctx).free_slots(day, service, ctx.opening_hours(day), ctx.now())
    if period is not None:
        zone = _zone(ctx)
        slots = [s for s in slots if period[0] <= _minute_of_day(s, zone) < period[1]]
    return _spread_slots(slots)


def _clock(ctx: SkillContext, moment: datetime, lang: str) -> str:
    local = moment.astimezone(_zone(ctx))
    if lang == "en":
        return f"{local:%I:%M %p}".lstrip("0")
    return f"{local:%H:%M}"


def _minute_of_day(moment: datetime, zone: ZoneInfo) -> int:
    local = moment.astimezone(zone)
    return local.hour * 60 + local.minute


def _zone(ctx: SkillContext) -> ZoneInfo:
    return ZoneInfo(ctx.tenant.timezone)


def _repo(ctx: SkillContext) -> BookingRepository:
    return ctx.bookings()


def _service(ctx: SkillContext, service_id: str | None) -> ServiceInfo | None:
    if not service_id:
        return None
    return next((s for s in ctx.services() if str(s.id) == service_id), None)


class _Flow:
    """One turn of the booking conversation; `state` is the skill's private state."""

    def __init__(self, turn: Turn, ctx: SkillContext) -> None:
        self.turn = turn
        self.ctx = ctx
        self.lang = turn.language
        self.state: dict[str, Any] = dict(turn.state) if turn.in_flow else {}
        self.now = ctx.now()
        self.zone = _zone(ctx)
        self.prefix: list[str] = []  # said before the question (a price asked on the way)

    # -- entry ---------------------------------------------------------------------------

    def run(self) -> SkillResult:
        intent = self.turn.intent
        step = self.state.get("step") if self.turn.in_flow else None
        if step:
            answered = self._answer_pending(step)
            if answered is not None:
                return answered
        if intent == "my_bookings":
            return self._list()
        if intent == "cancel":
            if self.state.get("mode") in ("book", "reschedule") and step:
                return self._say("booking_abandoned", flow=False, state={})
            return self._choose_booking("cancel")
        if intent == "reschedule" and self.state.get("mode") != "reschedule":
            return self._choose_booking("reschedule")
        if not self.turn.in_flow or (intent == "book" and step in (None, *_YES_NO_STEPS)):
            self.state = {"mode": "book"}
        absorbed = self._absorb_entities()
        if self.turn.in_flow and not absorbed and intent not in ("book", "reschedule"):
            return replace(self._advance(), misunderstood=True)
        return self._advance()

    def _answer_pending(self, step: str) -> SkillResult | None:
        """The message read as the answer to the pending question; None: it is not one."""
        text, ents = self.turn.text, self.turn.entities
        act = self.turn.intent if self.turn.intent in (AFFIRM, DENY) else None
        when, service = ents.get("when"), ents.get("service")
        if step in _CONFIRM_STEPS:
            if self._changes_proposal():
                self.state.pop("proposal", None)
                self._absorb_entities()
                return self._advance()
            if act == AFFIRM:
                return self._confirmed()
            if act == DENY or starts_no(text):
                return self._denied()
            return None
        if step in _YES_NO_STEPS:
            if act == AFFIRM:
                return self._confirmed()
            return self._denied() if act == DENY else None
        if step == "pick_booking":
            return self._picked_booking()
        if step == "pick_option":
            return self._picked_option(act)
        if step == "service" and isinstance(service, ServiceInfo):
            if reading.asks_price(text):
                price = self.ctx.format_money(service.price_minor, self.lang)
                self.prefix.append(
                    self.ctx.render(
                        "booking_price_note",
                        self.lang,
                        service=service.label(self.lang),
                        price=price,
                    )
                )
            self._absorb_entities()
            return self._advance()
        if step == "day":
            if when is not None:
                self._absorb_entities()
                return self._advance()
            number = reading.day_of_month(text)
            if number is not None:
                day = _month_day(self.now.date(), number)
                if day is not None:
                    self._set_day(day)
                    return self._advance()
            return None
        if step == "time":
            return self._answered_time(when)
        return None

    def _answered_time(self, when: Any) -> SkillResult | None:
        text = self.turn.text
        if when is not None:
            self._absorb_entities()
            return self._advance()
        service = _service(self.ctx, self.state.get("service_id"))
        if service is None or "day" not in self.state:
            return None
        day = date.fromisoformat(self.state["day"])
        shown = [datetime.fromisoformat(s) for s in self.state.get("shown", [])]
        index = reading.ordinal_index(text, len(shown))
        if index is not None:  # "la tercera" of the times just listed
            return self._propose(shown[index - 1])
        hour = reading.bare_hour(text)
        if hour is not None:
            self._set_time(self._pick_hour(day, hour), "00")
            return self._advance()
        slots = _repo(self.ctx).free_slots(day, service, self.ctx.opening_hours(day), self.now)
        if reading.wants_earliest(text) and slots:
            return self._propose(slots[0])
        period = reading.window(text, None)
        if period is not None:
            fitting = [s for s in slots if period[0] <= _minute_of_day(s, self.zone) < period[1]]
            if fitting:
                self.state["shown"] = [s.isoformat() for s in _spread_slots(fitting)]
                return self._say(
                    "booking_ask_time",
                    day=day_text(day, self.lang),
                    slots=_spread(self.ctx, fitting, self.lang),
                )
            return self._offer(
                datetime.combine(day, time(max(period[0] // 60, 9)), self.zone),
                service,
                "booking_period_full",
            )
        return None

    def _picked_option(self, act: str | None) -> SkillResult | None:
        options = [datetime.fromisoformat(o) for o in self.state.get("options", [])]
        when = self.turn.entities.get("when")
        if when is not None and when.has_time:
            local = when.start.astimezone(self.zone)
            for option in options:
                same_day = not when.has_date or option.astimezone(self.zone).date() == local.date()
                if same_day and option.astimezone(self.zone).time() == local.time():
                    return self._propose(option)
            if not when.has_date and options:
                # "a las 3" after a list: that hour on the day the options are about.
                self.state["day"] = options[0].astimezone(self.zone).date().isoformat()
                self._set_time(f"{local:%H}", f"{local:%M}")
                return self._advance()
            self._absorb_entities()
            return self._advance()
        index = reading.option_index(self.turn.text, len(options))
        if index is not None:
            return self._propose(options[index - 1])
        if reading.wants_earliest(self.turn.text) and options:
            return self._propose(options[0])
        if when is not None or isinstance(self.turn.entities.get("service"), ServiceInfo):
            self._absorb_entities()
            return self._advance()
        if act == AFFIRM and options:
            texts = [self.ctx.format_datetime(o, self.lang) for o in options]
            return self._say("booking_which_option", options=texts)
        if act == DENY:
            return self._denied()
        return None

    def _changes_proposal(self) -> bool:
        """ "no, mejor a las 5", "mejor brushing": a new value for a confirmed slot."""
        when, service = self.turn.entities.get("when"), self.turn.entities.get("service")
        proposal = self.state.get("proposal")
        if isinstance(service, ServiceInfo) and str(service.id) != self.state.get("service_id"):
            return True
        if when is None or not proposal:
            return False
        proposed = datetime.fromisoformat(proposal).astimezone(self.zone)
        local = when.start.astimezone(self.zone)
        if when.has_time and local.time() != proposed.time():
            return True
        return bool(when.has_date and local.date() != proposed.date())

    # -- slot filling --------------------------------------------------------------------

    def _absorb_entities(self) -> bool:
        found = False
        service = self.turn.entities.get("service")
        if isinstance(service, ServiceInfo):
            self.state["service_id"] = str(service.id)
            found = True
            # "corte y barba": the others are booked right after, one question each.
            others = [s for s in self.turn.entities.get("services", ()) if s.id != service.id]
            if others and self.state.get("mode", "book") == "book":
                self.state["then"] = [str(s.id) for s in others]
        when = self.turn.entities.get("when")
        if when is None or not when.has_date:
            number = reading.day_mention(self.turn.text)
            day = _month_day(self.now.date(), number) if number else None
            if day is not None:
                self._set_day(day)
                found = True
        if when is not None:
            local = when.start.astimezone(self.zone)
            if when.has_date:
                self._set_day(local.date())
            bounded = reading.window(self.turn.text, when) if when.has_time else None
            if bounded is not None:
                # "después de las 5", "any time before noon": a range, not a time.
                self.state["window"] = list(bounded)
                self.state.pop("time", None)
                self.state.pop("asked_time", None)
                if not when.has_date and "day" not in self.state:
                    self.state["day"] = local.date().isoformat()
            elif when.has_time:
                self._set_time(f"{local:%H}", f"{local:%M}")
                self.state.pop("window", None)
                if not when.has_date and "day" not in self.state:
                    self.state["day"] = local.date().isoformat()
            found = True
        return found

    def _window(self) -> tuple[int, int] | None:
        """The range of the day the customer accepts, said earlier ("after 5")."""
        found = self.state.get("window")
        return (int(found[0]), int(found[1])) if found else None

    def _set_day(self, day: date) -> None:
        """A new day keeps the time the customer asked for ("¿y el lunes?")."""
        self.state["day"] = day.isoformat()
        self.state.pop("proposal", None)
        if self.state.get("asked_time"):
            self.state["time"] = self.state["asked_time"]
        else:
            self.state.pop("time", None)

    def _set_time(self, hour: str, minute: str) -> None:
        self.state["time"] = self.state["asked_time"] = f"{int(hour):02d}:{int(minute):02d}"

    def _pick_hour(self, day: date, hour: int) -> str:
        """A bare hour: the reading that falls in opening hours (5 → 17:00 at a salon)."""
        readings = (
            [hour]
            if hour == 0 or hour >= 12
            else [hour + 12, hour]
            if hour <= 7
            else [hour, hour + 12]
        )
        for h in readings:
            if any(a <= time(h) < b for a, b in self.ctx.opening_hours(day)):
                return str(h)
        return str(readings[0])

    def _advance(self) -> SkillResult:
        ctx = self.ctx
        service = _service(ctx, self.state.get("service_id"))
        refused = self._refuse_day()
        if refused is not None:
            return refused
        if service is None:
            if self.state.get("mode") == "reschedule":
                service = _service(ctx, self.state.get("booking_service_id"))
            if service is None:
                self.state["step"] = "service"
                options = self.turn.entities.get("service_options") or ctx.services()
                return self._say(
                    "booking_ask_service", services=[s.label(self.lang) for s in options]
                )
            self.state["service_id"] = str(service.id)
        if "day" not in self.state:
            self.state["step"] = "day"
            return self._say("booking_ask_day", service=service.label(self.lang))
        day = date.fromisoformat(self.state["day"])
        asked = self.state.get("time")
        wanted_time = time.fromisoformat(asked) if asked else None
        if not ctx.opening_hours(day):
            wanted = datetime.combine(day, wanted_time or time(10), self.zone)
            return self._offer(
                wanted,
                service,
                "booking_closed_day",
                day=day_text(day, self.lang),
                holiday=ctx.holiday(day),
            )
        if wanted_time is None:
            period = reading.window(self.turn.text, None) or self._window()
            text = _ask_time_text(ctx, service, day, self.lang, period)
            if text is None and period is not None:
                start = datetime.combine(day, time(max(period[0] // 60, 9)), self.zone)
                return self._offer(start, service, "booking_period_full")
            if text is None:
                wanted = datetime.combine(day, time(10), self.zone)
                return self._offer(
                    wanted,
                    service,
                    "booking_day_full",
                    day=day_text(day, self.lang),
                    service=service.label(self.lang),
                )
            self.state["step"] = "time"
            self.state["shown"] = [s.isoformat() for s in _shown(ctx, service, day, period)]
            return self._result(text)
        wanted = datetime.combine(day, wanted_time, self.zone)
        repo = _repo(ctx)
        if wanted in repo.free_slots(day, service, ctx.opening_hours(day), self.now):
            return self._propose(wanted)
        reason = why_not(
            wanted,
            service.duration_minutes,
            ctx.opening_hours(day),
            self.now,
            repo.policy,
            self.lang,
        )
        return self._offer(wanted, service, "booking_unavailable", reason=reason)

    def _refuse_day(self) -> SkillResult | None:
        """A day that cannot be booked, said at once (before asking anything else):
        past, beyond the booking window, or closed while the service is still unknown."""
        if "day" not in self.state:
            return None
        day = date.fromisoformat(self.state["day"])
        last = self.now.date() + timedelta(days=_repo(self.ctx).policy.max_days_ahead)
        template = None
        if day < self.now.date():
            template = "booking_past"
        elif day > last:
            template = "booking_too_far"
        elif not self.ctx.opening_hours(day) and not self.state.get("service_id"):
            template = "booking_closed_ask_service"
        if template is None:
            return None
        self.state.pop("day")
        self.state.pop("time", None)
        services = [s.label(self.lang) for s in self.ctx.services()]
        self.state["step"] = "service" if template.endswith("service") else "day"
        if not self.state.get("service_id"):
            self.state["step"] = "service"
        return self._say(
            template,
            day=day_text(day, self.lang),
            last=day_text(last, self.lang),
            holiday=self.ctx.holiday(day),
            services=services,
            ask_service=not self.state.get("service_id"),
        )

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
            self.zone,
            limit=3,
        )
        self.state.pop("time", None)
        self.state.pop("proposal", None)
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

    def _propose(self, start: datetime) -> SkillResult:
        service = _service(self.ctx, self.state.get("service_id"))
        assert service is not None
        local = start.astimezone(self.zone)
        self.state.update(
            day=local.date().isoformat(), time=f"{local:%H:%M}", proposal=start.isoformat()
        )
        self.state.pop("options", None)
        when = self.ctx.format_datetime(start, self.lang)
        if self.state.get("mode") == "reschedule":
            self.state["step"] = "reschedule_confirm"
            return self._ask_yes_no(
                "booking_reschedule_confirm", service=service.label(self.lang), when=when
            )
        self.state["step"] = "confirm"
        return self._ask_yes_no(
            "booking_confirm",
            service=service.label(self.lang),
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
                    "booking_rescheduled",
                    flow=False,
                    state={},
                    service=service.label(self.lang),
                    when=when,
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
                    "booking_done",
                    flow=False,
                    state={},
                    service=service.label(self.lang),
                    when=when,
                )
                if not online:
                    return self._and_then(done, booked.ends_at)
                # The payment skill sends the link in this same turn.
                return replace(done, follow_up=FollowUp("pay", {"booking_id": str(booked.id)}))
        # Someone else took it between the proposal and the "sí".
        return self._offer(start, service, "booking_taken")

    def _and_then(self, done: SkillResult, after: datetime) -> SkillResult:
        """After booking one of several services asked together, propose the next one
        right after it (or the nearest free times that day)."""
        queue = list(self.state.get("then", []))
        following = _service(self.ctx, queue.pop(0)) if queue else None
        if following is None:
            return done
        self.state = {"mode": "book", "service_id": str(following.id), "then": queue}
        repo = _repo(self.ctx)
        day = after.astimezone(self.zone).date()
        free = repo.free_slots(day, following, self.ctx.opening_hours(day), self.now)
        if after in free:
            nxt = self._propose(after)
        else:
            nxt = self._offer(
                after, following, "booking_next_options", service=following.label(self.lang)
            )
        return replace(nxt, replies=done.replies + nxt.replies)

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
        for key in ("time", "asked_time", "proposal", "day", "options"):
            self.state.pop(key, None)
        self.state["step"] = "day"
        return self._say("booking_denied")

    # -- my bookings, cancel, reschedule ---------------------------------------------------

    def _upcoming(self) -> list[BookingInfo]:
        return _repo(self.ctx).upcoming_for_contact(self.turn.contact_id, self.now)

    def _describe(self, booking: BookingInfo) -> str:
        service = _service(self.ctx, str(booking.service_id))
        name = service.label(self.lang) if service else booking.service_name
        return f"{name}, {self.ctx.format_datetime(booking.starts_at, self.lang)}"

    def _list(self) -> SkillResult:
        bookings = self._upcoming()
        if not bookings:
            return self._offer_to_book("booking_none")
        return self._say(
            "booking_list", flow=False, state={}, bookings=[self._describe(b) for b in bookings]
        )

    def _offer_to_book(self, template: str) -> SkillResult:
        result = self._say(template, flow=False, state={})
        return replace(result, meta={"offer": "book"})

    def _choose_booking(self, mode: str) -> SkillResult:
        bookings = self._upcoming()
        self.state = {"mode": mode}
        if not bookings:
            return self._offer_to_book("booking_none")
        if len(bookings) > 1:
            bookings = self._matching(bookings) or bookings
        if len(bookings) == 1:
            return self._with_booking(bookings[0])
        self.state["step"] = "pick_booking"
        self.state["bookings"] = [str(b.id) for b in bookings]
        return self._say("booking_pick", bookings=[self._describe(b) for b in bookings])

    def _matching(self, bookings: list[BookingInfo]) -> list[BookingInfo]:
        """The bookings a message singles out by day ("el del martes") or service."""
        when = self.turn.entities.get("when")
        service = self.turn.entities.get("service")
        weekday = self.turn.entities.get("weekday")
        found = bookings
        if when is not None and when.has_date:
            day = when.start.astimezone(self.zone).date()
            found = [b for b in found if b.local_start(self.zone).date() == day]
        elif isinstance(weekday, int):
            found = [b for b in found if b.local_start(self.zone).weekday() == weekday]
        if isinstance(service, ServiceInfo):
            found = [b for b in found if b.service_id == service.id]
        return found if len(found) < len(bookings) else []

    def _picked_booking(self) -> SkillResult:
        ids = self.state.get("bookings", [])
        bookings = [b for b in self._upcoming() if str(b.id) in ids]
        bookings.sort(key=lambda b: ids.index(str(b.id)))
        index = reading.option_index(self.turn.text, len(ids))
        if index is not None:
            chosen = next((b for b in bookings if str(b.id) == ids[index - 1]), None)
            if chosen is not None:
                return self._with_booking(chosen)
        matching = self._matching(bookings)
        if len(matching) == 1:
            return self._with_booking(matching[0])
        result = self._say("booking_pick", bookings=[self._describe(b) for b in bookings])
        return replace(result, misunderstood=True)

    def _with_booking(self, booking: BookingInfo) -> SkillResult:
        self.state["booking_id"] = str(booking.id)
        if self.state["mode"] == "cancel":
            self.state["step"] = "confirm_cancel"
            return self._ask_yes_no("booking_cancel_confirm", booking=self._describe(booking))
        self.state["booking_service_id"] = str(booking.service_id)
        self.state["service_id"] = str(booking.service_id)
        own = booking.local_start(self.zone)
        when = self.turn.entities.get("when")
        if when is not None and when.start.astimezone(self.zone).date() != own.date():
            self.state["asked_time"] = f"{own:%H:%M}"  # "pasalo al viernes": same time
            if self._absorb_entities() and "day" in self.state:
                return self._advance()
        self.state["step"] = "day"
        return self._say("booking_reschedule_ask", booking=self._describe(booking))

    # -- helpers ---------------------------------------------------------------------------

    def _result(
        self,
        text: str,
        flow: bool = True,
        state: dict[str, Any] | None = None,
        choices: tuple[str, ...] = (),
    ) -> SkillResult:
        replies = [Reply(t) for t in self.prefix]
        replies.append(Reply(text, choices=choices))
        return SkillResult(
            replies=tuple(replies), state=self.state if state is None else state, flow=flow
        )

    def _say(
        self, template: str, flow: bool = True, state: dict[str, Any] | None = None, **values: Any
    ) -> SkillResult:
        return self._result(self.ctx.render(template, self.lang, **values), flow, state)

    def _ask_yes_no(self, template: str, **values: Any) -> SkillResult:
        """A yes/no question: buttons on WhatsApp, "1. Sí / 2. No" elsewhere."""
        text = self.ctx.render(template, self.lang, **values)
        return self._result(text, choices=YES_NO.get(self.lang, YES_NO["en"]))


def _month_day(today: date, day: int) -> date | None:
    """A bare day of the month: this month's if not past, else next month's."""
    for offset in (0, 1, 2):
        month = (today.month - 1 + offset) % 12 + 1
        year = today.year + (today.month - 1 + offset) // 12
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found >= today:
            return found
    return None
