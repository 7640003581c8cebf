"""Filling a booking's slots (service, day, time), read against the pending question."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from hablo.domain.booking.availability import nearest_free
from hablo.domain.booking.repository import BookingInfo
from hablo.engine.nlu.acts import (
    AFFIRM,
    DENY,
    adds_on,
    adds_to_request,
    asks_latest,
    asks_reminder,
    asks_shift,
    asks_which_days,
    corrects_day,
    means_own_booking,
    moves_the,
    prefers,
    reverts,
    shift_minutes,
    starts_no,
    starts_yes,
)
from hablo.engine.nlu.holder import holder_name
from hablo.engine.nlu.notice import asks_booking_notice
from hablo.engine.nlu.party import for_companion, names_their_people, party_size
from hablo.engine.nlu.recurring import asks_recurring
from hablo.engine.nlu.tentative import foresees_change
from hablo.engine.nlu.text import plain
from hablo.plugins import SkillResult
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.booking import reading
from hablo.skills.booking.again import RepeatAndSwap
from hablo.skills.booking.base import CONFIRM_STEPS, YES_NO_STEPS
from hablo.skills.booking.day_listing import DayListing
from hablo.skills.booking.parts_of_day import PartsOfDay
from hablo.skills.booking.pauses import holds_on
from hablo.skills.booking.periods import usual_period
from hablo.skills.booking.sizing import resized
from hablo.skills.booking.slots import (
    ask_time_text,
    minute_of_day,
    month_day,
    option_for_whom,
    option_named,
    repo_of,
    service_by_id,
    shown_times,
)
from hablo.skills.booking.time_answers import TimeAnswers
from hablo.skills.wording import say_clock, say_day, why_not_text

# A time the bot listed stays bookable this long although the minimum notice has since
# run out under it ("13:00" offered at 12:00:00, picked at 12:00:20 with one hour's notice).
OFFER_GRACE = timedelta(minutes=15)


class BookingFlow(PartsOfDay, DayListing, TimeAnswers, RepeatAndSwap):
    """One turn of the booking conversation (see skill.py for how it reads answers)."""

    def run(self) -> SkillResult:
        intent = self.turn.intent
        step = self.state.get("step") if self.turn.in_flow else None
        self._note_price()
        if intent == "my_bookings" and asks_reminder(self.turn.text):
            return self._reminder_info(step)
        if intent == "my_bookings" and asks_booking_notice(self.turn.text):
            return self._notice_info(step)
        holder = holder_name(self.turn.text) if intent == "my_bookings" else None
        if holder is not None:
            return self._named(holder, step)
        if step and holds_on(self.turn.text):
            return self._say("booking_hold_on")  # "esperá que me fijo": the question waits
        if step:
            answered = self._resized(step) or self._answer_pending(step)
            if answered is not None:
                return answered
        if intent == "my_bookings":
            if step and self.state.get("mode") == "book" and not self._upcoming():
                return self._resumed()  # "¿sigue en pie?" mid-booking: the one being made
            return self._list()
        if intent in ("cancel", "reschedule") and not step and foresees_change(self.turn.text):
            upcoming = self._upcoming()
            if upcoming:  # "capaz tenga que cancelar, te aviso": nothing to do yet
                booking = self._describe(upcoming[0]) if len(upcoming) == 1 else None
                return self._say("booking_change_later", flow=False, state={}, booking=booking)
        if intent == "cancel":
            mine = means_own_booking(self.turn.text)
            if self.state.get("mode") == "book" and step and not mine:
                return self._say("booking_abandoned", flow=False, state={})
            return self._choose_booking("cancel")
        if intent == "reschedule" and self.state.get("mode") != "reschedule":
            return self._moved_after_cancel() or self._choose_booking("reschedule")
        if intent == "book" and not step:
            added = (
                self._moves_named()
                or self._added_after_booking()
                or self._swapped()
                or self._again()
                or self._rebooked_after_cancel()
            )
            if added is not None:
                return added
        if intent in ("book", "reschedule") and not step:
            just = self._just_booked()
            if just is not None and self._changes_it(just):
                self.state = {"mode": "reschedule"}  # "mejor a las 3, ¿puede ser?"
                return self._with_booking(just)
        if intent == "book" and not step and self._corrects_booking():
            return self._choose_booking("reschedule")  # "me equivoqué, era el viernes"
        if intent == "book" and not self.turn.in_flow and for_companion(self.turn.text):
            joined = self._companion()
            if joined is not None:
                return joined
        if not self.turn.in_flow or (intent == "book" and step in (None, *YES_NO_STEPS)):
            self.state = {"mode": "book"}
        if asks_recurring(self.turn.text) and not self.state.get("one_visit"):
            # "todos los lunes a las 5": the first Monday, said to be only that one
            self.state["one_visit"] = True
            self.prefix.append(self.ctx.render("booking_one_at_a_time", self.lang))
        absorbed = self._absorb_entities()
        if self.turn.in_flow and not absorbed and intent not in ("book", "reschedule"):
            return replace(self._advance(), misunderstood=True)
        return self._advance()

    def _resized(self, step: str) -> SkillResult | None:
        """ "ah, it's a golden retriever" once a small dog's groom is chosen: the large
        dog's (its price said), at the time asked or proposed if it still fits, the
        question asked again; "he's a chihuahua" to the small dog's is heard, no change."""
        variant = resized(self.ctx, self.state, self.turn.text, self.turn.entities)
        if variant is None:
            return None
        price = self.ctx.format_money(variant.price_minor, self.lang)
        self.prefix.append(self.ctx.render("price_one", self.lang, service=variant, price=price))
        if str(variant.id) == self.state.get("service_id"):
            return self._answer_pending(step) or self._advance()
        self.state["service_id"] = str(variant.id)
        proposal = self.state.pop("proposal", None)
        if proposal:
            at = datetime.fromisoformat(proposal).astimezone(self.zone)
            self._set_day(at.date())
            self._set_time(f"{at:%H}", f"{at:%M}")
        if "when" in self.turn.entities:
            self._absorb_entities()  # "he's a lab, thursday at 10 then"
        return self._advance()

    def _resumed(self) -> SkillResult:
        """The pending question again, as "Sigamos con tu turno: …"."""
        asked = self._advance()
        last = asked.replies[-1]
        again = self.ctx.render("booking_resume", self.lang, question=last.text)
        return replace(asked, replies=(*asked.replies[:-1], replace(last, text=again)))

    def _added_after_booking(self) -> SkillResult | None:
        """ "agregame también barba después del corte", "can I add a beard trim right after
        my haircut?": another service right after the booking just made."""
        service = self.turn.entities.get("service")
        just = self._just_booked()
        if not isinstance(service, ServiceInfo) or just is None or service.id == just.service_id:
            return None
        if "when" in self.turn.entities or not adds_on(self.turn.text):
            return None
        self.state = {"mode": "book", "service_id": str(service.id)}
        return self._right_after(service, just.ends_at)

    def _moves_named(self) -> SkillResult | None:
        """ "can you move the nail trim to friday at 10:30?" holding a nail trim and a
        vaccination: the nail trim moves; no second nail trim is booked."""
        service, when = self.turn.entities.get("service"), self.turn.entities.get("when")
        if not isinstance(service, ServiceInfo) or when is None or not moves_the(self.turn.text):
            return None
        if len(self.turn.entities.get("services", ())) > 1:
            return None  # "cambiá la manicura por un brushing el viernes": another service
        held = [b for b in self._upcoming() if b.service_id == service.id]
        if len(held) != 1:
            return None
        self.state = {"mode": "reschedule"}
        return self._with_booking(held[0])

    def _changes_it(self, booking: BookingInfo) -> bool:
        """A day or time said right after booking as a change of it ("mejor a las 3",
        "en vez de las 10, ¿a las 11?", "me lo pasás una hora más tarde"), not a second
        booking ("y el sábado también", "¿y para mi hijo?") nor another service."""
        text = self.turn.text
        service = self.turn.entities.get("service")
        if isinstance(service, ServiceInfo) and service.id != booking.service_id:
            return False
        if adds_to_request(text) or for_companion(text):
            return False
        if reverts(text) and reading.to_hour(text) is not None:
            return True  # "can you put it back to 11 as it was?"
        said = "when" in self.turn.entities or shift_minutes(text) is not None
        return said and (prefers(text) or corrects_day(text) or reverts(text))

    def _corrects_booking(self) -> bool:
        """ "perdón, era para el viernes" / "mañana no puedo, ¿el viernes?" right after
        booking: another day for the booking held, not a second booking."""
        when = self.turn.entities.get("when")
        if when is None or not when.has_date or not corrects_day(self.turn.text):
            return False
        service = self.turn.entities.get("service")
        held = self._upcoming()
        if isinstance(service, ServiceInfo):
            held = [b for b in held if b.service_id == service.id]
        return bool(held)

    def _at_hour(self, hour: tuple[int, int]) -> SkillResult:
        """The proposal's day at another hour, read by opening hours (10 → 10:00); the
        proposal's own hour ("12" to "¿… a las 12:00?") is a yes."""
        proposed = datetime.fromisoformat(self.state["proposal"]).astimezone(self.zone)
        on = proposed.date()
        same = int(self._pick_hour(on, hour[0])) == proposed.hour and hour[1] == proposed.minute
        if same and not reading.checks_time(self.turn.text) and not self._asked_back():
            return self._confirmed()
        self.state.pop("proposal", None)
        self._set_day(on)
        self._set_time(self._pick_hour(on, hour[0]), f"{hour[1]:02d}")
        return self._advance()

    def _asked_back(self) -> bool:
        """ "today?", "12?" to a proposal of that very day or hour: checking it, not a yes."""
        text = self.turn.text
        return text.rstrip().endswith("?") and self.turn.intent != AFFIRM and not starts_yes(text)

    def _grown_party(self, text: str) -> SkillResult | None:
        """ "ah, pero somos 2" to "¿Te reservo Manicura…?": the same service for each,
        one after the other, asked again as one question."""
        party = party_size(text)
        proposal = self.state.get("proposal")
        if party < 2 or not proposal or self.state.get("mode") != "book":
            return None
        if self.state.get("then") or self.state.get("bundle"):
            return None
        self.state["then"] = [self.state["service_id"]] * (party - 1)
        return self._propose(datetime.fromisoformat(proposal).astimezone(self.zone))

    def _drops_from_proposal(self) -> SkillResult | None:
        """ "no, sin barba" to "¿Te reservo corte y barba…?": the rest, asked again."""
        gone = {str(s.id) for s in self.turn.entities.get("taken_back", ())}
        proposal = self.state.get("proposal")
        if not gone or not proposal or self.state.get("mode") != "book":
            return None
        asked = [self.state.get("service_id"), *self.state.get("then", [])]
        kept = [s for s in asked if s not in gone]
        if not kept or len(kept) == len(asked):
            return None
        self.state["service_id"], self.state["then"] = kept[0], kept[1:]
        self.state.pop("then_at", None)  # the times said were each person's
        return self._propose(datetime.fromisoformat(proposal).astimezone(self.zone))

    def _moved_by(self, text: str) -> SkillResult | None:
        """ "mejor una hora más tarde": the proposal moved by that much, asked again."""
        minutes = shift_minutes(text)
        proposal = self.state.get("proposal")
        if minutes is None or not proposal:
            return None
        moved = datetime.fromisoformat(proposal).astimezone(self.zone) + timedelta(minutes=minutes)
        self.state.pop("proposal", None)
        self.state.pop("window", None)
        self._set_day(moved.date())
        self._set_time(f"{moved:%H}", f"{moved:%M}")
        return self._advance()

    def _repeats_proposal(self, when: Any) -> bool:
        """ "a las 12" / "same time" to "¿Paso tu turno … a las 12:00?": that is a yes."""
        proposal = self.state.get("proposal")
        if proposal and reading.same_time(self.turn.text):
            return True
        if when is None or not proposal:
            return False
        proposed = datetime.fromisoformat(proposal).astimezone(self.zone)
        local = when.start.astimezone(self.zone)
        if not when.has_time:  # "mañana" to a proposal for tomorrow
            return (
                when.has_date
                and local.date() == proposed.date()
                and len(plain(self.turn.text).split()) <= 3
            )
        same_day = not when.has_date or local.date() == proposed.date()
        return same_day and local.time() == proposed.time()

    def _adds_service(self, service: Any) -> bool:
        """ "y barba también" while a haircut waits for its yes: both, one after the other
        (the barba joins the proposal instead of replacing the haircut)."""
        if not isinstance(service, ServiceInfo) or self.state.get("mode") != "book":
            return False
        if str(service.id) == self.state.get("service_id") or not adds_to_request(self.turn.text):
            return False
        then = list(self.state.get("then", []))
        held = service_by_id(self.ctx, self.state.get("service_id"))
        both = self.ctx.combined_service([held, service]) if held and not then else None
        if both is not None:  # "y también la barba" where "Corte + barba" exists: that one
            self.state["service_id"] = str(both.id)
            self.state.pop("proposal", None)
            return True
        if str(service.id) not in then:
            self.state["then"] = [*then, str(service.id)]
        self.state.pop("proposal", None)
        return True

    def _reminder_info(self, step: str | None) -> SkillResult:
        """ "¿me avisan el día antes?": whether and when the reminder comes; a booking in
        progress goes on with its question."""
        hours = repo_of(self.ctx).policy.reminder_hours_before
        return self._aside(self.ctx.render("booking_reminder_info", self.lang, hours=hours), step)

    def _notice_info(self, step: str | None) -> SkillResult:
        """ "¿con cuánta anticipación tengo que reservar?": the booking window's two ends."""
        policy = repo_of(self.ctx).policy
        minutes = policy.min_notice_minutes
        note = self.ctx.render(
            "booking_notice",
            self.lang,
            days=policy.max_days_ahead,
            hours=minutes // 60 if minutes % 60 == 0 else 0,
            minutes=minutes,
        )
        return self._aside(note, step)

    def _aside(self, note: str, step: str | None) -> SkillResult:
        """An answer about how booking works: a booking in progress goes on with its
        question."""
        if step and self.turn.in_flow:
            self.prefix.append(note)
            return self._advance()
        return self._result(note, flow=False, state={})

    def _note_price(self) -> None:
        """ "precio de tintura y si tienen turno el jueves", "¿cuánto sale?" mid-booking:
        the price is said before the booking's next question."""
        service = self.turn.entities.get("service")
        if isinstance(service, ServiceInfo) and reading.asks_price(self.turn.text):
            price = self.ctx.format_money(service.price_minor, self.lang)
            # price_one says the duration too: "¿cuánto tarda?" is asked as often.
            note = self.ctx.render("price_one", self.lang, service=service, price=price)
            self.prefix.append(note)

    def _answer_pending(self, step: str) -> SkillResult | None:
        """The message read as the answer to the pending question; None: it is not one."""
        text, ents = self.turn.text, self.turn.entities
        act = self.turn.intent if self.turn.intent in (AFFIRM, DENY) else None
        when, service = ents.get("when"), ents.get("service")
        if self.state.get("mode") == "reschedule" and reading.keeps_as_is(text):
            return self._say("booking_kept", flow=False, state={})  # "no nada, dejalo así"
        narrowed = self._narrowed(step)
        if narrowed is not None:
            return narrowed
        if step in CONFIRM_STEPS:
            dropped = self._drops_from_proposal()
            if dropped is not None:
                return dropped
            moved = self._moved_by(text)
            if moved is not None:
                return moved
            grown = self._grown_party(text)
            if grown is not None:
                return grown
            # "could it be 10?", or a bare "12" (its own hour: a yes; another: that hour)
            hour = (reading.new_hour(text) or reading.bare_hour(text)) if when is None else None
            if hour is not None and self.state.get("proposal"):  # "could it be 10?"
                return self._at_hour(hour)
            if when is not None and self.state.get("proposal"):
                # "no, el jueves trabajo. el viernes mejor": the day after the refused one
                proposed = datetime.fromisoformat(self.state["proposal"]).astimezone(self.zone)
                when = self._moved_to(when, proposed)
            if self._adds_service(service):
                return self._advance()
            if self._repeats_proposal(when) and reading.checks_time(text) and when is not None:
                # "wait is that 2pm?": yes, that time; the question again, nothing booked
                proposed = datetime.fromisoformat(self.state["proposal"])
                spoken = self.ctx.format_datetime(proposed, self.lang)
                self.prefix.append(self.ctx.render("booking_that_time", self.lang, when=spoken))
                return self._propose(proposed.astimezone(self.zone))
            if self._repeats_proposal(when) and not reading.turns_down(text):
                if self._asked_back():
                    # "today?" to "Shall I book … today at 1 PM?": checking, not a yes yet
                    proposed = datetime.fromisoformat(self.state["proposal"])
                    return self._propose(proposed.astimezone(self.zone))
                return self._confirmed()
            shift = asks_shift(text)
            if shift is not None and self.state.get("proposal") and when is None:
                proposed = datetime.fromisoformat(self.state["proposal"])
                return self._shifted(proposed.astimezone(self.zone), shift)
            if self._changes_proposal() or self._names_other_day(when):
                self.state.pop("proposal", None)
                self._absorb_entities()
                return self._advance()
            if act == AFFIRM or (starts_yes(text) and when is None and service is None):
                return self._confirmed()  # "sí, apuntámelo a nombre de Lucía"
            period = reading.window(text, None)
            # "no, mejor a la tarde", or "afternoon" alone: that day's afternoon
            other_part = starts_no(text) or (when is None and len(plain(text).split()) <= 4)
            if period is not None and self.state.get("proposal") and other_part:
                # "no, mejor a la tarde": that day's afternoon
                proposed = datetime.fromisoformat(self.state["proposal"]).astimezone(self.zone)
                for key in ("proposal", "time", "asked_time"):
                    self.state.pop(key, None)
                self.state["day"], self.state["window"] = proposed.date().isoformat(), list(period)
                return self._advance()
            if act == DENY or starts_no(text) or reading.turns_down(text):
                return self._denied()
            return None
        if step in YES_NO_STEPS:
            if act == AFFIRM or reading.confirms_cancel(step, text):
                return self._confirmed()
            if reading.confirms_coming(step, text):  # "ahí estaré" to the reminder
                return self._confirmed()
            if step == "confirm_reminder" and self.turn.intent == "cancel" and not ents:
                return self._denied()  # "no, no voy a poder ir": the "no", in words
            return self._denied() if act == DENY else None
        if step == "pick_booking":
            return self._picked_booking()
        if step == "move_or_new":
            return self._moved_or_new()
        if step == "pick_option":
            return self._picked_option(act)
        if step == "service" and not isinstance(service, ServiceInfo):
            # "for men" to "¿Cuál? Men's haircut, Women's haircut"; "the pads" to "Brake
            # pad replacement, Brake inspection"
            listed = self.state.get("services_listed", [])
            service = self._option_for_whom() or option_named(self.ctx, listed, text)
            if service is not None:
                self.turn = replace(self.turn, entities={**ents, "service": service})
        if step == "service" and isinstance(service, ServiceInfo):
            self._absorb_entities()
            return self._advance()
        listed = self.state.get("services_listed", [])
        index = reading.option_index(text, len(listed)) if step == "service" else None
        if index is not None and service is None:  # "la segunda" of the services listed
            self.state["service_id"] = listed[index - 1]
            return self._advance()
        if step == "service" and service is None and reading.asks_what_there_is(text):
            # "no sé, ¿qué tenés?": the services and their prices, then the question
            items = [
                (s, self.ctx.format_money(s.price_minor, self.lang)) for s in self.ctx.services()
            ]
            self.prefix.append(self.ctx.render("price_list", self.lang, items=items))
            return self._advance()
        if step == "service" and reading.wants_first(text) and not self.state.get("first"):
            self.state["first"] = True  # "whatever's earliest": once it is said for what
            self.prefix.append(self.ctx.render("booking_first_noted", self.lang))
            return self._advance()
        if step == "day":
            week_listed = self.state.pop("days_from", None)
            listed = self.state.get("days_listed")
            unsaid = "day" not in self.state and not self.state.get("last_day")
            if self.state.get("mode") == "reschedule" and not listed:
                unsaid = False  # "3pm" to "¿para qué día y hora lo paso?": the booking's day
            if when is not None and not when.has_date and unsaid:
                # "a las 17" to "¿qué día? (Tengo lugar: martes, miércoles…)": the hour is
                # kept, the day is still to be said (not today's by default); after "¿qué
                # otro día u horario?" it is the day refused's (see _absorb_entities)
                local = when.start.astimezone(self.zone)
                self._set_time(f"{local:%H}", f"{local:%M}")
                self.state["which_days"] = True
                if week_listed:
                    self.state["days_from"] = week_listed  # still that week's days
                return self._advance()
            if when is not None:
                self._absorb_entities()
                if week_listed and "weekday" in ents and "day" in self.state:
                    # "wednesday" to next week's days listed: that week's, not today
                    said = date.fromisoformat(self.state["day"])
                    while said < date.fromisoformat(week_listed):
                        said += timedelta(weeks=1)
                    self._set_day(said)
                kept = self.state.get("booking_time")
                if kept and not when.has_time and reading.keeps_time(text):
                    self._set_time(*kept.split(":"))  # "Tuesday at the same time"
                return self._advance()
            number = reading.day_of_month(text)
            if number is not None:
                day = month_day(self.now.date(), number)
                if day is not None:
                    self._set_day(day)
                    return self._advance()
            if reading.wants_earliest(text):
                return self._advance()  # "what's your first availability?": the soonest
            return None
        if step == "time":
            return self._answered_time(when)
        return None

    def _option_for_whom(self) -> ServiceInfo | None:
        """The one of the services the bot asked between that the answer says who it is
        for ("for men", "el de caballero"); None when it says nobody, or fits several."""
        return option_for_whom(self.ctx, self.state.get("service_options", []), self.turn.text)

    def _names_other_day(self, when: Any) -> bool:
        """ "no, el 30" to a proposal on the 31st: a bare day of the month, which the date
        reader leaves to the context, names another day."""
        proposal, on = self.state.get("proposal"), reading.day_mention(self.turn.text)
        if when is not None or not proposal or on is None:
            return False
        day = month_day(self.now.date(), on)
        proposed = datetime.fromisoformat(proposal).astimezone(self.zone).date()
        return day is not None and day != proposed

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

    def _absorb_entities(self) -> bool:
        found = False
        service = self.turn.entities.get("service")
        own_days = None
        if isinstance(service, ServiceInfo):
            self.state["service_id"] = str(service.id)
            found = True
            # "corte y barba": the others are booked right after, one question each.
            others = [s for s in self.turn.entities.get("services", ()) if s.id != service.id]
            both = self.ctx.combined_service([service, *others]) if others else None
            if both is not None and not names_their_people(self.turn.text):
                # "corte" and "barba" priced apart, then "los dos": "Corte + barba" if any
                service, others = both, []
                self.state["service_id"] = str(both.id)
            if others and self.state.get("mode", "book") == "book" and not self.state.get("later"):
                self.state["then"] = [str(s.id) for s in others]
            own_days = self.turn.entities.get("service_days")
            if own_days and self.state.get("mode", "book") == "book":
                # "corte el jueves y manicura el viernes": one booking on each day.
                self._book_on_own_days(own_days)
            party = party_size(self.turn.text)
            if party > 1 and not others and self.state.get("mode", "book") == "book":
                # "corte para mí y mi hijo": the same service again, right after.
                self.state["then"] = [str(service.id)] * (party - 1)
            own_times = self.turn.entities.get("own_times")
            if own_times and self.state.get("mode", "book") == "book" and self.state.get("then"):
                # "para mí a las 3 y para mi hija a las 4", "corte a las 10 y barba a las
                # 11": each at its own time, the earliest first
                order = sorted(range(len(own_times)), key=lambda i: own_times[i])
                asked = [self.state["service_id"], *self.state["then"]]
                if len(asked) == len(own_times) and len(set(asked)) == 1:
                    asked = [asked[0]] * len(own_times)
                    clocks = sorted(own_times)
                elif len(asked) == len(own_times):
                    asked = [asked[i] for i in order]
                    clocks = [own_times[i] for i in order]
                else:
                    clocks = []
                if clocks:
                    self.state["service_id"], self.state["then"] = asked[0], asked[1:]
                    self.state["then_at"] = [f"{c:%H:%M}" for c in clocks[1:]]
                    self.state["own_first"] = f"{clocks[0]:%H:%M}"
        elif self.turn.entities.get("services_then") and self.state.get("mode", "book") == "book":
            # "a cut and a blowout": the bot asks which cut; the blowout follows it.
            self.state["then"] = [str(s.id) for s in self.turn.entities["services_then"]]
        when = self.turn.entities.get("when")
        if own_days and self.state.get("mode", "book") == "book":
            when = own_days[0][1]
        elif (
            self.state.get("later")
            and when is not None
            and when.has_time
            and reading.for_all(self.turn.text)
        ):
            for item in self.state["later"]:  # "a las 10 los dos": every day at 10
                item[2] = item[2] or f"{when.start.astimezone(self.zone):%H:%M}"
        if when is None and self.state.get("mode", "book") == "book":
            period = usual_period(self.ctx, self.turn.text)
            if period is not None:  # "manicura, tiene que ser por la tarde"
                self.state["window"] = list(period)
        if when is None or not when.has_date:
            number = reading.day_mention(self.turn.text)
            day = month_day(self.now.date(), number) if number else None
            if day is not None:
                self._set_day(day)
                found = True
        if when is not None:
            local = when.start.astimezone(self.zone)
            # "¿qué días tenés libre esta semana? trabajo hasta las 5", "a balayage sometime
            # next week": that week's days (after 5), not its first day
            week = (
                when.has_date
                and reading.names_week(when.text)
                and (
                    asks_which_days(self.turn.text)
                    or not (when.has_time or "weekday" in self.turn.entities)  # "el martes"
                )
            )
            up_to = reading.days_up_to(self.turn.text) if when.has_date else None
            if week:
                self.state["which_days"] = True
                self.state["week_from"] = local.date().isoformat()
                self.state.pop("day", None)
            elif up_to is not None and not when.has_time:
                # "urgente antes del sábado": the days with room until then, not Saturday
                self.state["which_days"] = True
                self.state["days_until"] = (local.date() - timedelta(days=up_to)).isoformat()
                self.state.pop("day", None)
            elif when.has_date:
                self._set_day(local.date())
                period = reading.window(self.turn.text, None)
                if not when.has_time and (period or reading.wants_first(self.turn.text)):
                    # "mañana a la tarde", "la primera que tengas": no longer the hour
                    # asked before.
                    self.state.pop("time", None)
                    self.state.pop("asked_time", None)
                if not when.has_time and period is not None:
                    self.state["window"] = list(period)  # kept while the service is asked
            if when.has_time and reading.ends_by(self.turn.text):
                # "tengo que estar lista para las 12": over by then, whatever it takes.
                self.state["ends_by"] = local.hour * 60 + local.minute
                self.state.pop("time", None)
                self.state.pop("asked_time", None)
                self.state.pop("window", None)
                if not when.has_date and "day" not in self.state:
                    self.state["day"] = local.date().isoformat()
                return True
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
                first = self.state.pop("own_first", None)
                if first:  # "para mi hija a las 4 y para mí a las 3": 15:00 first
                    self._set_time(*first.split(":"))
                self.state.pop("window", None)
                self.state.pop("ends_by", None)
                if not when.has_date and "day" not in self.state:
                    # A time alone while moving a booking is on the booking's own day.
                    self.state["day"] = (
                        self.state.get("booking_day")
                        or self.state.get("last_day")
                        or local.date().isoformat()
                    )
            found = True
        return found

    def _book_on_own_days(self, own_days: Any) -> None:
        """The first service is booked now, each other one after it on its own day."""
        first = own_days[0][1].start.date() if own_days[0][1] is not None else None
        self.state["then"] = []
        later: list[list[str | None]] = []
        for service, when in own_days[1:]:
            local = when.start.astimezone(self.zone) if when is not None else None
            day = local.date().isoformat() if local is not None and when.has_date else None
            clock = f"{local:%H:%M}" if local is not None and when.has_time else None
            if not later and when is not None and when.start.date() == first:
                self.state["then"].append(str(service.id))  # "corte y barba el jueves"
            else:
                later.append([str(service.id), day, clock])
        self.state["later"] = later

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
        service = service_by_id(ctx, self.state.get("service_id"))
        refused = self._refuse_day()
        if refused is not None:
            return refused
        self._note_closed_period()
        if service is None:
            if self.state.get("mode") == "reschedule":
                service = service_by_id(ctx, self.state.get("booking_service_id"))
            if service is None:
                self.state["step"] = "service"
                free_days: list[str] = []
                if asks_which_days(self.turn.text):  # "¿qué días tenés?": once it is said for what
                    self.state["which_days"] = True
                    if "day" not in self.state and not self.state.get("week_from"):
                        free_days = self._days_for_any()  # "¿cuándo puedo ir?": the days, for what?
                if reading.wants_earliest(self.turn.text):  # "¿tienen cita ahorita?": for what
                    self.state["soonest"] = True
                narrowed = self.turn.entities.get("service_options")
                if narrowed:  # "una consulta": which of these two, until one is said
                    self.state["service_options"] = [str(s.id) for s in narrowed]
                kept = [service_by_id(ctx, i) for i in self.state.get("service_options", [])]
                options = narrowed or [s for s in kept if s is not None] or ctx.services()
                self.state["services_listed"] = [str(s.id) for s in options]  # "the 2nd one"
                return self._say(
                    "booking_ask_service",
                    services=[s.label(self.lang) for s in options],
                    when=self._said_when(),
                    free_days=free_days,
                )
            self.state["service_id"] = str(service.id)
        asked_soonest = self.state.pop("soonest", False) or reading.wants_earliest(self.turn.text)
        if "day" not in self.state:
            earliest = asked_soonest or self.state.get("first")
            soonest = self._soonest(service) if earliest else None
            if soonest is not None:  # "what's the soonest you can see me?"
                return self._propose(soonest)
            self.state["step"] = "day"
            week = self.state.get("week_from")  # kept: "a las 2" next re-lists that week
            asked = self.state.pop("which_days", False)
            days: list[str] = []
            if asked or asks_which_days(self.turn.text):
                since = date.fromisoformat(week) if week else None
                if week:
                    self.state["days_from"] = week  # the weekday answered is of that week
                until = self.state.pop("days_until", None)
                days = self._days_with_room(service, since, until and date.fromisoformat(until))
                self.state["days_listed"] = bool(days)  # a bare hour next is no day
            return self._say(
                "booking_ask_day",
                service=service.label(self.lang),
                free_days=days,
            )
        day = date.fromisoformat(self.state["day"])
        asked = self.state.get("time")
        wanted_time = time.fromisoformat(asked) if asked else None
        if not ctx.opening_hours(day):
            wanted = datetime.combine(day, wanted_time or time(10), self.zone)
            return self._offer(
                wanted,
                service,
                "booking_closed_day",
                day=say_day(self.ctx, day, self.lang),
                also=self._closed_sunday(day),
                holiday=ctx.holiday(day),
            )
        ends_by = self.state.get("ends_by")
        if wanted_time is None and ends_by is not None:
            # "done by 12": the latest start that is over by then (a 90-minute colour: 10:30).
            last_start = int(ends_by) - service.duration_minutes
            free = repo_of(ctx).free_slots(day, service, ctx.opening_hours(day), self.now)
            fitting = [s for s in free if minute_of_day(s, self.zone) <= last_start]
            if fitting:
                return self._propose(fitting[-1])
            self.state["window"] = [0, max(last_start + 1, 0)]
        latest = asks_latest(self.turn.text)
        first = reading.wants_first(self.turn.text) or self.state.get("first")
        if wanted_time is None and (latest or first):
            # "el lunes a primera hora", "la primera que tengas mañana a la tarde"
            free = repo_of(ctx).free_slots(day, service, ctx.opening_hours(day), self.now)
            span = self._period(self.turn.text, day) or self._window() or (0, 24 * 60)
            free = [s for s in free if span[0] <= minute_of_day(s, self.zone) < span[1]]
            if free:
                return self._propose(free[-1] if latest else free[0])
        if wanted_time is None:
            period = self._period(self.turn.text, day) or self._window()
            if period is not None:  # kept: "el primero" next reads the afternoon's first
                self.state["window"] = list(period)
            text = ask_time_text(ctx, service, day, self.lang, period)
            if text is None and period is not None:
                start = datetime.combine(day, time(max(period[0] // 60, 9)), self.zone)
                closing = self._closes_first(day, service, period[0])
                if closing is not None:  # a 90-minute colour "after 6" at a salon closing at 7
                    return self._offer(
                        start,
                        service,
                        "booking_past_closing",
                        service=service.label(self.lang),
                        minutes=service.duration_minutes,
                        close=say_clock(ctx, closing, self.lang),
                    )
                return self._offer(start, service, "booking_period_full")
            if text is None:
                wanted = datetime.combine(day, time(10), self.zone)
                return self._offer(
                    wanted,
                    service,
                    "booking_day_full",
                    day=say_day(self.ctx, day, self.lang),
                    service=service.label(self.lang),
                )
            self.state["step"] = "time"
            self.state["shown"] = [s.isoformat() for s in shown_times(ctx, service, day, period)]
            return self._result(text)
        wanted = datetime.combine(day, wanted_time, self.zone)
        repo = repo_of(ctx)
        if wanted in repo.free_slots(day, service, ctx.opening_hours(day), self.now):
            return self._propose(wanted)
        if self._was_offered(wanted) and wanted in repo.free_slots(
            day, service, ctx.opening_hours(day), self.now - OFFER_GRACE
        ):
            return self._propose(wanted)  # offered a minute ago: the notice then still holds
        intervals = ctx.opening_hours(day)
        reason = why_not_text(
            ctx, self.lang, wanted, service.duration_minutes, intervals, self.now, repo.policy
        )
        return self._offer(wanted, service, "booking_unavailable", reason=reason)

    def _was_offered(self, start: datetime) -> bool:
        said = [*self.state.get("shown", []), *self.state.get("options", [])]
        return any(datetime.fromisoformat(s) == start for s in said)

    def _companion(self) -> SkillResult | None:
        """ "¿y para mi hijo también?" after booking: the same service (or the one named)
        right after the customer's booking from this conversation. None: there is no
        such booking, or the message names a day or time (the usual flow reads it)."""
        if "when" in self.turn.entities:
            return None
        mine = [b for b in self._upcoming() if b.conversation_id == self.turn.conversation_id]
        if not mine:
            return None
        last = max(mine, key=lambda b: b.ends_at)
        named = self.turn.entities.get("service")
        service = named if isinstance(named, ServiceInfo) else None
        service = service or service_by_id(self.ctx, str(last.service_id))
        if service is None:
            return None
        self.state = {"mode": "book", "service_id": str(service.id)}
        return self._right_after(service, last.ends_at)

    def _said_when(self) -> str | None:
        """The day (and time) the customer already gave, said back while the service is
        asked for: "¿Qué servicio querés el jueves 11 a las 17:00?" shows it was heard."""
        if "day" not in self.state:
            return None
        day = date.fromisoformat(self.state["day"])
        if "time" not in self.state:
            return say_day(self.ctx, day, self.lang)
        moment = datetime.combine(day, time.fromisoformat(self.state["time"]), self.zone)
        return self.ctx.format_datetime(moment, self.lang)

    def _refuse_day(self) -> SkillResult | None:
        """A day that cannot be booked, said at once (before asking anything else):
        past, beyond the booking window, or closed while the service is still unknown."""
        if "day" not in self.state:
            return None
        day = date.fromisoformat(self.state["day"])
        last = self.now.date() + timedelta(days=repo_of(self.ctx).policy.max_days_ahead)
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
        self.state["services_listed"] = [str(s.id) for s in self.ctx.services()]
        self.state["step"] = "service" if template.endswith("service") else "day"
        if not self.state.get("service_id"):
            self.state["step"] = "service"
        return self._say(
            template,
            day=say_day(self.ctx, day, self.lang),
            also=self._closed_sunday(day),
            last=say_day(self.ctx, last, self.lang),
            holiday=self.ctx.holiday(day),
            services=services,
            ask_service=not self.state.get("service_id"),
        )

    def _closes_first(self, day: date, service: ServiceInfo, after: int) -> time | None:
        """The closing time on `day` when the service cannot end before it if started
        after minute `after` (not that the time is taken: it does not fit at all)."""
        hours = self.ctx.opening_hours(day)
        fits = any(
            max(a.hour * 60 + a.minute, after) + service.duration_minutes <= b.hour * 60 + b.minute
            for a, b in hours
        )
        if not hours or fits:
            return None
        return hours[-1][1]

    def _offer(
        self, wanted: datetime, offered: ServiceInfo, template: str, **values: Any
    ) -> SkillResult:
        repo = repo_of(self.ctx)
        replaced = self.state.get("replaces")  # a swap: the booking replaced is no obstacle
        busy = (
            repo.busy_between
            if not replaced
            else partial(repo.busy_between, exclude=uuid.UUID(replaced))
        )
        options = nearest_free(
            wanted,
            offered.duration_minutes,
            repo.policy,
            self.ctx.opening_hours,
            busy,
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
        service = service_by_id(self.ctx, self.state.get("service_id"))
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
        self.state.pop("bundle", None)
        chain = self._chain(service, start) if self.state.get("then") else []
        paid_online = self.ctx.payments().online() and any(
            s.price_minor > 0 for s in (service, *(f for f, _ in chain))
        )
        if chain and not paid_online:
            # "corte y barba", "para mí y mi hijo": one question, one "sí" for all.
            self.state["bundle"] = [[str(f.id), t.isoformat()] for f, t in chain]
            items = [self._item(service, start)] + [self._item(f, t) for f, t in chain]
            total = service.price_minor + sum(f.price_minor for f, _ in chain)
            return self._ask_yes_no(
                "booking_confirm_many",
                apart=bool(self.state.get("then_at")),
                bookings=items,
                price=self.ctx.format_money(total, self.lang),
            )
        return self._ask_yes_no(
            "booking_confirm",
            service=service.label(self.lang),
            when=when,
            price=self.ctx.format_money(service.price_minor, self.lang),
        )
