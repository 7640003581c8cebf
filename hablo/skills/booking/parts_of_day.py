"""The part of the day a customer can come ("tiene que ser por la tarde", "after 5",
"¿se puede más tarde?"): kept in the state as a window every time offered falls in,
fitted to the business's shifts, and said back or said closed."""

from __future__ import annotations

from datetime import date, datetime

from hablo.plugins import SkillResult
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.booking.base import CONFIRM_STEPS, YES_NO_STEPS, FlowBase
from hablo.skills.booking.periods import closed_in, fitted_period, usual_period, window_of
from hablo.skills.booking.slots import minute_of_day, service_by_id
from hablo.skills.wording import say_day_hours, say_span


class PartsOfDay(FlowBase):
    """The booking flow's window of the day (see flow.py for where it is read)."""

    # This turn said the day is closed at the part of the day asked (its hours instead).
    closed_period = False

    def _narrowed(self, step: str) -> SkillResult | None:
        """ "tiene que ser por la tarde", "it has to be in the afternoon", "pero a la
        tarde" said alone while booking: the part of the day every time offered from now
        on falls in. Asked what is still missing; with the day known (or proposed, or the
        first of the times offered), that day's times then, or the first day after it
        that has some. None: the message says more (a day, a time, a service) or no part
        of the day, or the times are being asked (read there)."""
        ents = self.turn.entities
        period = usual_period(self.ctx, self.turn.text)
        if period is None or step in ("time", "pick_booking", "move_or_new", *YES_NO_STEPS):
            return None
        if ents.get("when") is not None or isinstance(ents.get("service"), ServiceInfo):
            return None
        proposal, options = self.state.get("proposal"), self.state.get("options")
        on = proposal or (options[0] if options else None)
        moving = self.state.get("mode") == "reschedule"
        moved_day = self.state.get("booking_day") if moving else None
        if step == "day" and on is None and moved_day:
            # "por la tarde" to "¿para qué día y hora la cambio?": that day's afternoon
            self._set_day(date.fromisoformat(moved_day))
            self.state["window"] = list(period)
            return self._advance()
        if step in CONFIRM_STEPS and proposal:
            moment = datetime.fromisoformat(proposal).astimezone(self.zone)
            if period[0] <= minute_of_day(moment, self.zone) < period[1]:
                return self._propose(moment)  # "sí, a la tarde" to 16:00: asked again
        for key in ("time", "asked_time", "proposal", "options"):
            self.state.pop(key, None)
        self.state["window"] = list(period)
        service = service_by_id(self.ctx, self.state.get("service_id"))
        if on is not None and service is not None:
            since = datetime.fromisoformat(on).astimezone(self.zone).date()
            day = self._first_day_within(service, since, period)
            if day is not None:
                self.state["day"] = day.isoformat()
        if "day" not in self.state or service is None:  # no times show it was heard
            self.state["which_days"] = "day" not in self.state  # the days with room then
            self.prefix.append(self._period_noted(period))
        return self._advance()

    def _period_noted(self, period: tuple[int, int]) -> str:
        """ "Perfecto, desde las 13:00.": the part of the day taken, said back."""
        start, end = say_span(self.ctx, period, self.lang)
        return self.ctx.render("booking_period_noted", self.lang, start=start, end=end)

    def _period(self, text: str, day: date) -> tuple[int, int] | None:
        """The part of the day a message names, fitted to the business's shifts (None once
        the day was said to be closed then: its hours were given instead)."""
        if self.closed_period:
            return None
        return fitted_period(self.ctx, text, day)

    def _note_closed_period(self) -> None:
        """ "¿el viernes en la tarde da consulta?" where Friday closes at 14:00: said at
        once, with the day's hours, before what is asked next; the day stays."""
        if "day" not in self.state or "time" in self.state:
            return
        day = date.fromisoformat(self.state["day"])
        period = self._period(self.turn.text, day) or self._window()  # or "after 5"
        if period is None or not closed_in(self.ctx, day, period):
            return
        self.closed_period = True
        self.state.pop("window", None)
        day_hours = say_day_hours(self.ctx, day, self.lang)
        self.prefix.append(self.ctx.render("booking_closed_period", self.lang, day_hours=day_hours))

    def _window(self) -> tuple[int, int] | None:
        """The range of the day the customer accepts, said earlier ("after 5")."""
        return window_of(self.state)

    def _shifted(self, start: datetime, shift: str) -> SkillResult:
        """The times of the same day after (or before) `start`: "¿se puede más tarde?"."""
        minute = start.hour * 60 + start.minute
        self.state["day"] = start.date().isoformat()
        self.state["window"] = [minute + 1, 24 * 60] if shift == "later" else [0, minute]
        for key in ("time", "asked_time", "proposal"):
            self.state.pop(key, None)
        return self._advance()
