"""The booking conversation after a proposal: confirming, and the customer's bookings —
listing, cancelling one (by number, day or service), moving one."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta

from hablo.domain.booking.availability import BusyRange
from hablo.domain.booking.repository import BookingInfo
from hablo.engine.nlu.acts import (
    asks_end,
    asks_shift,
    cant_on_day,
    shift_minutes,
    swap_pair,
)
from hablo.engine.nlu.datetimes import WhenMention, extract_when
from hablo.engine.nlu.holder import holder_name
from hablo.engine.nlu.remote import is_remote
from hablo.engine.nlu.text import normalize
from hablo.plugins import FollowUp, SkillResult
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.booking import reading
from hablo.skills.booking.base import FlowBase
from hablo.skills.booking.moving import CHANGE, new_or_change, points_at_booking
from hablo.skills.booking.slots import repo_of, service_by_id
from hablo.skills.wording import say_clock

# The next of several services asked together starts this close to the end of the one
# before, or the customer is offered times.
_RIGHT_AFTER = timedelta(minutes=30)
# "mismo día y hora", "same day": the booking's weekday, a week on.
_SAME_DAY = re.compile(r"\b(?:mismo dia|same day)\b")
# "del sábado para el sábado siguiente": the same weekday of the week after.
_FOLLOWING = re.compile(r"\b(?:siguiente|following|de la otra semana|next week s)\b")
# How long after booking "mejor a las 3" still means that booking rather than a new one.
JUST_BOOKED = timedelta(hours=3)


class ManageBookings(FlowBase):
    def _confirmed(self) -> SkillResult:
        repo = repo_of(self.ctx)
        step = self.state["step"]
        if step == "confirm_reminder":
            repo.confirm(uuid.UUID(self.state["booking_id"]), self.turn.contact_id)
            return self._say("booking_reminder_confirmed", flow=False, state={})
        if step == "confirm_cancel_all":
            held = {str(b.id): b for b in self._upcoming()}
            gone = [
                self._describe(held[i])
                for i in self.state.get("bookings", [])
                if i in held and repo.cancel(held[i].id, self.turn.contact_id)
            ]
            if gone:
                return self._say("booking_cancelled_all", flow=False, state={}, bookings=gone)
            return self._say("booking_none", flow=False, state={})
        if step == "confirm_cancel":
            booking = repo.get(uuid.UUID(self.state["booking_id"]), self.turn.contact_id)
            if booking is not None and repo.cancel(booking.id, self.turn.contact_id):
                return self._say(
                    "booking_cancelled",
                    flow=False,
                    state=self._cancelled_state(booking.id),
                    booking=self._describe(booking),
                )
            return self._say("booking_none", flow=False, state={})
        service = service_by_id(self.ctx, self.state.get("service_id"))
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
                    state=self._just_booked_state(moved.id),
                    service=service.label(self.lang),
                    when=when,
                )
        else:
            # Paid online: the booking waits for the payment (its webhook confirms it).
            online = service.price_minor > 0 and self.ctx.payments().online()
            status = "pending" if online else "confirmed"
            if self.state.get("replaces"):  # "cambiá la manicura por un brushing" (again.py)
                # One UPDATE: the held booking becomes the new service, no gap, no double.
                replaced = uuid.UUID(self.state["replaces"])
                booked = repo.reschedule(replaced, self.turn.contact_id, start, service)
                online = False
            else:
                booked = repo.book(
                    self.turn.contact_id, service, start, self.turn.conversation_id, status
                )
            if booked is not None:  # "sí, a nombre de Lucía", or said before the yes
                holder = self.state.get("holder") or holder_name(self.turn.text)
                self._note_holder(booked.id, holder)
            if booked is not None and self.state.get("bundle") and not online:
                later = self.state.get("later")
                bundled = self._book_bundle(booked, service)
                if later:  # "corte y barba el jueves, y manicura el viernes": then Friday
                    self.state = {"later": later}
                    return self._and_then(bundled, booked.ends_at)
                return bundled
            if booked is not None:
                done = self._say(
                    "booking_done",
                    flow=False,
                    state=self._just_booked_state(booked.id),
                    service=service.label(self.lang),
                    when=when,
                    remote=is_remote(service),
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
        later = [list(item) for item in self.state.get("later", [])]
        if later:  # "corte el jueves y manicura el viernes": the next on its own day
            service_id, day, clock = later.pop(0)
            then = []  # "… y barba y manicura el viernes": right after each other that day
            while later and later[0][1] == day and later[0][2] in (None, clock):
                then.append(later.pop(0)[0])
            self.state = {"mode": "book", "service_id": service_id, "later": later, "then": then}
            if day:
                self.state["day"] = day
            if clock:
                self.state["time"] = clock
            nxt = self._advance()
            return replace(nxt, replies=done.replies + nxt.replies)
        queue = list(self.state.get("then", []))
        own = list(self.state.get("then_at", []))
        following = service_by_id(self.ctx, queue.pop(0)) if queue else None
        if following is None:
            return done
        self.state = {"mode": "book", "service_id": str(following.id), "then": queue}
        if own:  # "y para mi hija a las 4": her own time (or the nearest, said why)
            self.state["then_at"] = own[1:]
            self.state["day"] = after.astimezone(self.zone).date().isoformat()
            self._set_time(*own[0].split(":"))
            nxt = self._advance()
        else:
            nxt = self._right_after(following, after)
        return replace(nxt, replies=done.replies + nxt.replies)

    def _right_after(self, service: ServiceInfo, after: datetime) -> SkillResult:
        """Propose `service` as soon as `after` (the end of a booking), or offer the
        nearest free times that day."""
        soon = self._first_after(service, after)
        if soon is not None:
            return self._propose(soon)
        return self._offer(after, service, "booking_next_options", service=service.label(self.lang))

    def _first_after(
        self, service: ServiceInfo, after: datetime, planned: Sequence[BusyRange] = ()
    ) -> datetime | None:
        """The first free start once the one before is over: "right after" may be the
        next step of the grid or the end of a buffer (ends 10:40, next start 10:45)."""
        day = after.astimezone(self.zone).date()
        repo = repo_of(self.ctx)
        free = repo.free_slots(day, service, self.ctx.opening_hours(day), self.now, planned)
        within = _RIGHT_AFTER + timedelta(minutes=repo.policy.buffer_minutes)
        return next((s for s in free if after <= s < after + within), None)

    def _chain(self, first: ServiceInfo, start: datetime) -> list[tuple[ServiceInfo, datetime]]:
        """The services queued after `first` ("corte y barba", "para mí y mi hijo"), each
        right after the one before; empty when one of them cannot follow at once (they
        are then proposed one by one). None is booked yet: each one's free times count
        the ones before it as taken (with one chair and 10 minutes between visits, 10:00
        to 10:30 is followed at 10:40 at the earliest, not 10:30)."""
        chain: list[tuple[ServiceInfo, datetime]] = []
        after = start + timedelta(minutes=first.duration_minutes)
        planned = [BusyRange(start, after)]
        own = self.state.get("then_at", [])  # "y para mi hija a las 4": her own time
        for i, service_id in enumerate(self.state.get("then", [])):
            following = service_by_id(self.ctx, service_id)
            if i < len(own) and following is not None:
                at = datetime.combine(
                    start.astimezone(self.zone).date(), time.fromisoformat(own[i]), self.zone
                )
                after = at  # the ones planned before still count as taken
            soon = self._first_after(following, after, planned) if following else None
            if following is None or soon is None:
                return []
            chain.append((following, soon))
            after = soon + timedelta(minutes=following.duration_minutes)
            planned.append(BusyRange(soon, after))
        return chain

    def _book_bundle(self, first: BookingInfo, service: ServiceInfo) -> SkillResult:
        """After the first booking of a bundle confirmed with one "sí": the others. One
        taken meanwhile is offered again; the rest stay booked."""
        repo = repo_of(self.ctx)
        booked = [self._item(service, first.starts_at)]
        made_ids = [str(first.id)]
        bundle = list(self.state.get("bundle", []))
        remote = all(
            is_remote(s)
            for s in (service, *(service_by_id(self.ctx, sid) for sid, _ in bundle))
            if s is not None
        )
        while bundle:
            service_id, start_iso = bundle.pop(0)
            following = service_by_id(self.ctx, service_id)
            if following is None:  # removed from the catalogue meanwhile
                continue
            start = datetime.fromisoformat(start_iso)
            contact, conversation = self.turn.contact_id, self.turn.conversation_id
            made = repo.book(contact, following, start, conversation, "confirmed")
            if made is None:  # someone else took it between the proposal and the "sí"
                done = self._say(
                    "booking_done_many", flow=False, state={}, bookings=booked, remote=remote
                )
                rest = [sid for sid, _ in bundle]
                self.state = {"mode": "book", "service_id": service_id, "then": rest}
                nxt = self._offer(start, following, "booking_taken")
                return replace(nxt, replies=done.replies + nxt.replies)
            booked.append(self._item(following, made.starts_at))
            made_ids.append(str(made.id))
        # Kept: "ay no, era barba no corte" next swaps the one it takes back.
        kept = {"booked_together": made_ids, "booked_at": self.now.isoformat()}
        return self._say(
            "booking_done_many", flow=False, state=kept, bookings=booked, remote=remote
        )

    def _item(self, service: ServiceInfo, start: datetime) -> str:
        """One line of a bundle: "Corte de pelo, viernes 12 de marzo a las 10:00"."""
        return f"{service.label(self.lang)}, {self.ctx.format_datetime(start, self.lang)}"

    def _denied(self) -> SkillResult:
        if self.state["step"] == "confirm_reminder":
            booking = repo_of(self.ctx).get(
                uuid.UUID(self.state["booking_id"]), self.turn.contact_id
            )
            if booking is not None and repo_of(self.ctx).cancel(booking.id, self.turn.contact_id):
                return self._say(
                    "booking_cancelled", flow=False, state={}, booking=self._describe(booking)
                )
            return self._say("booking_none", flow=False, state={})
        if self.state["step"] == "confirm_cancel":
            other = self._other_booking()
            if other is not None:  # "no, the other one": of two, the one not asked about
                return self._with_booking(other)
            return self._say("booking_kept", flow=False, state={})
        if self.state.get("day"):  # "no" … "a las 18": still that day, at another time
            self.state["last_day"] = self.state["day"]
        if self.state.get("proposal"):  # "no" … "el viernes a la misma hora": its time
            declined = datetime.fromisoformat(self.state["proposal"]).astimezone(self.zone)
            self.state["booking_time"] = f"{declined:%H:%M}"
        for key in ("time", "asked_time", "proposal", "day", "options", "first"):
            self.state.pop(key, None)
        self.state["step"] = "day"
        return self._say("booking_denied")

    def _cant_on_other_day(self, when: WhenMention | None, own: datetime) -> bool:
        """ "no puedo ir el jueves" said of a Friday booking: the day said is not wanted,
        and it is not the booking's either."""
        return (
            when is not None
            and when.has_date
            and not when.has_time
            and cant_on_day(self.turn.text)
            and when.start.astimezone(self.zone).date() != own.date()
        )

    def _named(self, name: str, step: str | None) -> SkillResult:
        """ "a nombre de Juan", "se llama Rosa": the booking just made gets the name; one
        still being made gets it when it is booked."""
        said = self.ctx.render("booking_named", self.lang, holder=name)
        in_flow = bool(step and self.turn.in_flow)
        booking = None if in_flow else self._just_booked()
        if booking is not None:
            self._note_holder(booking.id, name)
            return self._result(said, flow=False, state=None)
        if not in_flow:
            self.state = {"mode": "book"}
        self.state["holder"] = name
        self.prefix.append(said)
        return self._advance()

    def _note_holder(self, booking_id: uuid.UUID, name: str | None) -> None:
        if name:
            repo_of(self.ctx).add_note(booking_id, self.turn.contact_id, f"👤 {name}")

    def _none_here(self) -> SkillResult:
        """No booking in this chat for one the customer speaks of: booked by phone, or from
        another number. A person can look ("sí" hands over)."""
        said = self._say("booking_none_to_change", flow=False, state={})
        return replace(said, meta={"offer": "human"})

    def _other_booking(self) -> BookingInfo | None:
        """ "no no, el otro" to "¿Cancelo tu turno de Corte…?" holding two bookings."""
        if not reading.means_other(self.turn.text):
            return None
        others = [b for b in self._upcoming() if str(b.id) != self.state.get("booking_id")]
        return others[0] if len(others) == 1 else None

    def _list(self) -> SkillResult:
        bookings = self._upcoming()
        if not bookings and "when" in self.turn.entities:
            return self._none_here()  # "¿el turno del sábado sigue en pie?": one they hold
        if not bookings:
            return self._offer_to_book("booking_none")
        if asks_end(self.turn.text):  # "¿a qué hora termino?"
            booking = self._just_booked() or bookings[0]
            minutes = int((booking.ends_at - booking.starts_at).total_seconds() // 60)
            end = say_clock(self.ctx, booking.ends_at.astimezone(self.zone).time(), self.lang)
            return self._say(
                "booking_ends",
                flow=False,
                state=None,
                booking=self._describe(booking),
                minutes=minutes,
                end=end,
            )
        return self._say(
            "booking_list", flow=False, state={}, bookings=[self._describe(b) for b in bookings]
        )

    def _choose_booking(self, mode: str) -> SkillResult:
        bookings = self._upcoming()
        self.state = {"mode": mode}
        if mode == "reschedule":
            other = self._another_service(bookings)
            if other is not None:
                return other
        if not bookings:
            return self._none_here()
        if len(bookings) > 1:
            place = reading.booking_ordinal(self.turn.text, len(bookings))
            bookings = [bookings[place - 1]] if place else self._matching(bookings) or bookings
        if len(bookings) == 1:
            return self._with_booking(bookings[0])
        if mode == "cancel" and reading.means_all(self.turn.text):
            return self._cancel_all(bookings)  # "cancelame todo"
        self.state["step"] = "pick_booking"
        self.state["bookings"] = [str(b.id) for b in bookings]
        return self._say("booking_pick", bookings=[self._describe(b) for b in bookings])

    def _another_service(self, bookings: list[BookingInfo]) -> SkillResult | None:
        """A move that names a service no booking held is: "quiero pasar el viernes a las
        10 para el brushing" holding a haircut is a brushing of its own (the haircut
        stays); when the message points at the booking held ("cambiame el turno al
        viernes para brushing") it may also mean that one, changed: asked. None: the
        service named is held (or none is named), the move goes on."""
        named = self.turn.entities.get("service")
        if not isinstance(named, ServiceInfo) or any(b.service_id == named.id for b in bookings):
            return None
        self.state = {"mode": "book"}
        self._absorb_entities()
        held = self._just_booked() or (bookings[0] if len(bookings) == 1 else None)
        if held is None or not points_at_booking(self.turn.text):
            return self._advance()
        if swap_pair(self.turn.text, self.ctx.find_service)[1] == named:
            self.state["replaces"] = str(held.id)  # "change my appointment to a blow-dry"
            return self._advance()
        self.state.update(step="move_or_new", booking_id=str(held.id))
        return self._ask_move_or_new(held, named)

    def _ask_move_or_new(self, held: BookingInfo, named: ServiceInfo) -> SkillResult:
        return self._ask_choice(
            "booking_move_or_new",
            ("choice_separate", "choice_change_mine"),
            booking=self._describe(held),
            service=named.label(self.lang),
        )

    def _moved_or_new(self) -> SkillResult:
        """The answer to `_another_service`'s question: a booking of its own, or the one
        held changed to the service named (at the day and time said); asked again when
        it says neither."""
        answer = new_or_change(self.turn.text)
        held = next((b for b in self._upcoming() if str(b.id) == self.state["booking_id"]), None)
        named = service_by_id(self.ctx, self.state.get("service_id"))
        if answer is None and held is not None and named is not None:
            return replace(self._ask_move_or_new(held, named), misunderstood=True)
        self.state.pop("booking_id")
        if answer == CHANGE and held is not None:
            self.state["replaces"] = str(held.id)  # one UPDATE when confirmed (again.py)
        self.state.pop("step", None)
        return self._advance()

    def _cancelled_state(self, booking_id: uuid.UUID) -> dict[str, str]:
        """Kept after a cancel: "me arrepentí, volvé a reservarlo" next books it again."""
        return {"cancelled": str(booking_id), "cancelled_at": self.now.isoformat()}

    def _just_booked_state(self, booking_id: uuid.UUID) -> dict[str, str]:
        """Kept after a booking is made or moved: "mejor a las 3" next changes that one."""
        return {"booked": str(booking_id), "booked_at": self.now.isoformat()}

    def _just_booked(self) -> BookingInfo | None:
        """The booking this conversation made or moved in the last hours, still ahead."""
        kept = self.turn.state  # kept while no booking flow runs, unlike self.state
        booked, at = kept.get("booked"), kept.get("booked_at")
        if not booked or not at or self.now - datetime.fromisoformat(at) > JUST_BOOKED:
            return None
        return next((b for b in self._upcoming() if str(b.id) == booked), None)

    def _just_made(self) -> list[BookingInfo]:
        """The bookings this conversation made (or moved) in the last hours, the ones
        booked together with one "sí" included; still ahead."""
        kept = self.turn.state
        ids = {kept.get("booked"), *kept.get("booked_together", ())} - {None}
        at = kept.get("booked_at")
        if not ids or not at or self.now - datetime.fromisoformat(at) > JUST_BOOKED:
            return []
        return [b for b in self._upcoming() if str(b.id) in ids]

    def _matching(self, bookings: list[BookingInfo]) -> list[BookingInfo]:
        """The bookings a message singles out by day ("el del martes") or service."""
        when = self.turn.entities.get("when")
        service = self.turn.entities.get("service")
        weekday = self.turn.entities.get("weekday")
        found = bookings
        if isinstance(service, ServiceInfo):
            found = [b for b in found if b.service_id == service.id]
        by_service = found
        if when is not None and when.has_date:
            day = when.start.astimezone(self.zone).date()
            found = [b for b in found if b.local_start(self.zone).date() == day]
        elif isinstance(weekday, int):
            found = [b for b in found if b.local_start(self.zone).weekday() == weekday]
        if not found and len(by_service) == 1 and self.state.get("mode") == "reschedule":
            found = by_service  # "el brushing pasalo al sábado": the day is where it goes
        if when is not None and when.has_time and len(found) > 1:
            at = when.start.astimezone(self.zone).time()
            found = [b for b in found if b.local_start(self.zone).time() == at] or found
        options = self.turn.entities.get("service_options") or ()
        if not isinstance(service, ServiceInfo) and options:
            # "cancel my haircut" with a men's haircut and a blowout booked: the one of
            # the services the word fits that is booked.
            ids = {s.id for s in options if isinstance(s, ServiceInfo)}
            found = [b for b in found if b.service_id in ids]
        return found if len(found) < len(bookings) else []

    def _cancel_all(self, bookings: list[BookingInfo]) -> SkillResult:
        self.state["step"] = "confirm_cancel_all"
        self.state["bookings"] = [str(b.id) for b in bookings]
        described = [self._describe(b) for b in bookings]
        return self._ask_yes_no("booking_cancel_confirm_all", bookings=described)

    def _picked_booking(self) -> SkillResult:
        ids = self.state.get("bookings", [])
        bookings = [b for b in self._upcoming() if str(b.id) in ids]
        bookings.sort(key=lambda b: ids.index(str(b.id)))
        if (
            self.state.get("mode") == "cancel"
            and len(bookings) > 1
            and reading.means_all(self.turn.text)
        ):
            return self._cancel_all(bookings)  # "los dos" to "¿Cuál?"
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

    def _moved_to(self, when: WhenMention | None, own: datetime) -> WhenMention | None:
        """ "cambiar mi turno del jueves al viernes": the day after the booking's own is
        where it goes (the first day said is the booking being moved)."""
        if when is None or not when.has_date or when.start.date() != own.date():
            return when
        rest = normalize(self.turn.text).split(normalize(when.text), 1)[-1]
        later = extract_when(rest, self.now, opening_hours=self.ctx.opening_hours)
        if later is None or not later.has_date:
            return when
        self.turn = replace(self.turn, entities={**self.turn.entities, "when": later})
        return later

    def _with_booking(self, booking: BookingInfo) -> SkillResult:
        self.state["booking_id"] = str(booking.id)
        if self.state["mode"] == "cancel":
            self.state["step"] = "confirm_cancel"
            return self._ask_yes_no("booking_cancel_confirm", booking=self._describe(booking))
        self.state["booking_service_id"] = str(booking.service_id)
        self.state["service_id"] = str(booking.service_id)
        own = booking.local_start(self.zone)
        self.state["booking_day"] = own.date().isoformat()
        said_when = self.turn.entities.get("when")
        when = self._moved_to(said_when, own)
        if when is said_when and self._cant_on_other_day(when, own):
            when = None  # "no puedo ir el jueves" holding Friday: where to, asked
        said = normalize(self.turn.text)
        same_weekday = when is not None and when.has_date and when.start.weekday() == own.weekday()
        if (reading.week_later(self.turn.text) and (when is None or _SAME_DAY.search(said))) or (
            same_weekday and _FOLLOWING.search(said)
        ):
            # "push it to the following week, same day and time": a week on
            later = datetime.combine(own.date() + timedelta(days=7), own.time(), self.zone)
            return self._propose(later)  # the same wall-clock time, across a DST change
        minutes = shift_minutes(self.turn.text) if when is None else None
        if minutes is not None:  # "¿me lo pasás una hora más tarde?"
            return self._propose(own + timedelta(minutes=minutes))
        if when is not None and when.has_time and not when.has_date:
            local = when.start.astimezone(self.zone)  # "mejor a las 3": on the booking's day
            self.state["day"] = own.date().isoformat()
            self._set_time(f"{local:%H}", f"{local:%M}")
            return self._advance()
        hour = reading.to_hour(self.turn.text) if when is None else None
        if hour is not None:  # "can we push it to 3?": that hour, the booking's own day
            self.state["day"] = own.date().isoformat()
            self._set_time(self._pick_hour(own.date(), hour[0]), f"{hour[1]:02d}")
            return self._advance()
        shift = asks_shift(self.turn.text)
        if when is None and shift is not None:  # "¿se puede más tarde?"
            return self._shifted(own, shift)
        period = reading.window(self.turn.text, None) if when is None else None
        if period is not None:  # "¿me lo pasás a la tarde?": that day's afternoon
            self.state["day"] = own.date().isoformat()
            self.state["window"] = list(period)
            return self._advance()
        self.state["booking_time"] = f"{own:%H:%M}"  # "el martes a la misma hora"
        if when is not None and when.start.astimezone(self.zone).date() != own.date():
            self.state["asked_time"] = f"{own:%H:%M}"  # "pasalo al viernes": same time
            if self._absorb_entities() and "day" in self.state:
                return self._advance()
        self.state["step"] = "day"
        return self._say("booking_reschedule_ask", booking=self._describe(booking))
