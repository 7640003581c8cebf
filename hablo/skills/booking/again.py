"""A booking made again or with another service: "otro igual para el viernes siguiente",
"me arrepentí, volvé a reservarlo" right after a cancel, "cambiá la manicura por un
brushing" or "perdón, era pedicura" right after booking a manicure (same day and time
when the new service fits there, else the nearest times)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from hablo.domain.booking.repository import BookingInfo
from hablo.engine.nlu.acts import (
    adds_to_request,
    corrects_service,
    same_again,
    swap_pair,
    undoes_cancel,
)
from hablo.engine.nlu.party import for_companion
from hablo.engine.nlu.text import plain
from hablo.plugins import SkillResult
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.booking.manage import ManageBookings
from hablo.skills.booking.slots import repo_of, service_by_id
from hablo.skills.wording import why_not_text

# "siguiente", "following", "next week", "la otra semana": a week after that booking.
_WEEK_AFTER = re.compile(
    r"\b(?:siguiente|following|de la otra semana|la semana que viene|la proxima semana"
    r"|next week|a week later|una semana despues|the \w+ after|the week after)\b"
)
CANCELLED_KEPT = timedelta(hours=3)


class RepeatAndSwap(ManageBookings):
    def _again(self) -> SkillResult | None:
        """The same service (and time) once more: after a cancel, or a week on."""
        text = plain(self.turn.text)
        undone = self._just_cancelled() if undoes_cancel(text) else None
        if undone is not None:
            return self._book_like(undone, undone.local_start(self.zone))
        if not same_again(text) or for_companion(self.turn.text):
            return None  # "lo mismo para mi hermana": the companion's own booking
        model = self._just_booked() or self._last_made_here()
        if model is None:
            return None
        own = model.local_start(self.zone)
        when = self.turn.entities.get("when")
        said = self.turn.entities.get("service")
        if isinstance(said, ServiceInfo) and said.id != model.service_id:
            return None  # "otro igual pero de manicura": a booking of its own
        if when is not None and _WEEK_AFTER.search(plain(when.text)):
            when = None  # "same again next week": a week after that booking, not Monday
        if when is not None and when.has_date:
            day = when.start.astimezone(self.zone).date()
            if _WEEK_AFTER.search(text) and day <= own.date() + timedelta(days=6):
                day += timedelta(days=7)  # "para el viernes siguiente": the Friday after it
            clock = when.start.astimezone(self.zone).time() if when.has_time else own.time()
            if day == own.date() and clock == own.time():
                day += timedelta(days=7)  # "another one on friday" said of Friday's booking
            return self._book_like(model, datetime.combine(day, clock, self.zone))
        if _WEEK_AFTER.search(text) or when is None:
            later = own.date() + timedelta(days=7)
            return self._book_like(model, datetime.combine(later, own.time(), self.zone))
        return None

    def _moved_after_cancel(self) -> SkillResult | None:
        """ "no, esperá, mejor pasámelo al sábado" right after cancelling the only booking:
        that booking again, on the day (and time) said."""
        undone = self._just_cancelled()
        when = self.turn.entities.get("when")
        if undone is None or when is None or self._upcoming():
            return None
        own = undone.local_start(self.zone)
        local = when.start.astimezone(self.zone)
        day = local.date() if when.has_date else own.date()
        clock = local.time() if when.has_time else own.time()
        return self._book_like(undone, datetime.combine(day, clock, self.zone))

    def _rebooked_after_cancel(self) -> SkillResult | None:
        """ "¿y para el martes a las 10 tendríais hueco?" right after cancelling the only
        booking, no service said: that service again, on the day and time said."""
        if isinstance(self.turn.entities.get("service"), ServiceInfo):
            return None  # "¿y una manicura el martes?": that service, asked as usual
        return self._moved_after_cancel()

    def _book_like(self, model: BookingInfo, start: datetime) -> SkillResult:
        self.state = {
            "mode": "book",
            "service_id": str(model.service_id),
            "day": start.date().isoformat(),
            "time": f"{start:%H:%M}",
        }
        return self._advance()

    def _swapped(self) -> SkillResult | None:
        """Another service in place of a booking held: the same start (or the day and time
        said with it) when it fits, else the nearest times."""
        text = self.turn.text
        old, new = swap_pair(text, self.ctx.find_service)
        said = self.turn.entities.get("service")
        # "ay me equivoqué, era barba (no corte)": the booking just made, barba instead (not
        # "perdón, quería también barba" nor "sorry, I wanted one for my son").
        more = adds_to_request(text) or for_companion(text)
        if new is None and (corrects_service(text) or self._takes_back_just_booked()) and not more:
            new = said if isinstance(said, ServiceInfo) else None
        if new is None:
            return None
        held = self._upcoming()
        gone = {s.id for s in self.turn.entities.get("taken_back", ())}
        if old is not None:
            held = [b for b in held if b.service_id == old.id]
        elif gone:  # "era barba no corte" after "corte y manicura": the haircut of the two
            held = [b for b in self._just_made() if b.service_id in gone]
        else:
            just = self._just_booked()
            held = [just] if just is not None else []
        if len(held) != 1 or held[0].service_id == new.id:
            return None
        booking = held[0]
        start = self._start_said(booking)
        self.state = {"mode": "book", "service_id": str(new.id), "replaces": str(booking.id)}
        repo = repo_of(self.ctx)
        day = start.astimezone(self.zone).date()
        hours = self.ctx.opening_hours(day)
        if repo.why_not(start, new, hours, self.now, exclude=booking.id) is None:
            return self._propose(start)
        self.state["day"] = day.isoformat()
        reason = why_not_text(
            self.ctx, self.lang, start, new.duration_minutes, hours, self.now, repo.policy
        )
        return self._offer(start, new, "booking_unavailable", reason=reason)

    def _takes_back_just_booked(self) -> bool:
        """ "barba, no corte" right after booking a haircut (alone or with another): a
        service just booked is the one the message takes back (nlu/corrections.py)."""
        gone = {s.id for s in self.turn.entities.get("taken_back", ())}
        return any(b.service_id in gone for b in self._just_made())

    def _start_said(self, booking: BookingInfo) -> datetime:
        """The booking's start, or the day and time said with the swap ("perdón, era
        barba, el viernes a las 10": the booking becomes a beard trim on Friday at 10)."""
        when = self.turn.entities.get("when")
        if when is None:
            return booking.starts_at
        own, local = booking.local_start(self.zone), when.start.astimezone(self.zone)
        day = local.date() if when.has_date else own.date()
        clock = local.time() if when.has_time else own.time()
        return datetime.combine(day, clock, self.zone)

    def _just_cancelled(self) -> BookingInfo | None:
        kept = self.turn.state
        gone, at = kept.get("cancelled"), kept.get("cancelled_at")
        if not gone or not at or self.now - datetime.fromisoformat(at) > CANCELLED_KEPT:
            return None
        booking = repo_of(self.ctx).get(uuid.UUID(gone), self.turn.contact_id)
        if booking is None or booking.active or booking.starts_at <= self.now:
            return None
        return booking

    def _last_made_here(self) -> BookingInfo | None:
        """The latest-starting booking this conversation made (and still ahead)."""
        mine = [b for b in self._upcoming() if b.conversation_id == self.turn.conversation_id]
        recent = [b for b in mine if service_by_id(self.ctx, str(b.service_id)) is not None]
        return max(recent, key=lambda b: b.starts_at) if recent else None
