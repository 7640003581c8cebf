"""Answers to the times the bot listed: "la tercera", "2" (the second, or two o'clock?),
"¿algo más tarde?", "el primero que tengas", "monday works" to a list of options."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from hablo.engine.nlu.acts import AFFIRM, DENY, asks_latest, asks_shift
from hablo.plugins import SkillResult
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.booking import reading
from hablo.skills.booking.base import FlowBase
from hablo.skills.booking.slots import (
    minute_of_day,
    month_day,
    repo_of,
    service_by_id,
    spread,
    spread_slots,
)
from hablo.skills.wording import say_day


class TimeAnswers(FlowBase):
    """The booking flow's reading of an answer to listed times (see flow.py for when)."""

    def _answered_time(self, when: Any) -> SkillResult | None:
        text = self.turn.text
        shown = [datetime.fromisoformat(s) for s in self.state.get("shown", [])]
        index = reading.ordinal_index(text, len(shown))
        if index is not None and (when is None or not when.has_time):
            # "la tercera", "the 2nd one" of the times just listed (the NLU alone reads
            # "the 2nd" as a date)
            return self._propose(shown[index - 1])
        if when is not None:
            self._absorb_entities()
            return self._advance()
        service = service_by_id(self.ctx, self.state.get("service_id"))
        if service is None or "day" not in self.state:
            return None
        day = date.fromisoformat(self.state["day"])
        if reading.asks_other_day(text):
            self.state.pop("day", None)  # "no me sirve ninguno, ¿otro día?", "¿y otro día?"
            self.state["step"] = "day"
            return self._say("booking_ask_day", service=service.label(self.lang))
        listed = self._listed_or_hour(text, shown, day)
        if listed is not None:
            return listed
        hour = reading.bare_hour(text)  # before "sí": a bare "10" may read as a yes
        if hour is not None:
            self._set_time(self._pick_hour(day, hour[0]), f"{hour[1]:02d}")
            return self._advance()
        if self.turn.intent == AFFIRM and shown:  # "sí" to a list of times: which one?
            texts = [self.ctx.format_datetime(s, self.lang) for s in shown]
            return self._say("booking_which_option", options=texts)
        slots = repo_of(self.ctx).free_slots(day, service, self.ctx.opening_hours(day), self.now)
        beyond = self._beyond_shown(text, shown, slots)
        if beyond is not None:  # "¿algo más tarde?", "¿no tenés otro horario?"
            return self._times_or_full(day, service, beyond, slots)
        span = self._period(text, day) or self._window()
        if span is not None:  # "el primero que tengas" after "a la tarde": the afternoon's
            slots = [s for s in slots if span[0] <= minute_of_day(s, self.zone) < span[1]]
        if asks_latest(text) and slots:
            return self._propose(slots[-1])
        if reading.wants_earliest(text) and slots:
            return self._propose(slots[0])
        period = self._period(text, day)
        if period is not None:
            self.state["window"] = list(period)  # "¿y el lunes?" next: the afternoon still
            fitting = [s for s in slots if period[0] <= minute_of_day(s, self.zone) < period[1]]
            return self._times_or_full(day, service, fitting, slots, period[0])
        return None

    def _listed_or_hour(self, text: str, shown: list[datetime], day: date) -> SkillResult | None:
        """ "2" to "¿A qué hora? 09:00, 11:00, 12:45, 14:45…", a list without numbers: the
        second time, or two o'clock? The one time listed at that hour when there is exactly
        one; else the readings that can be booked (the second listed, two o'clock), asked
        as a numbered choice when there are two. None: no bare number a place fits."""
        number = reading.bare_number(text)
        if number is None or not 1 <= number <= len(shown):
            return None
        at_hour = [s for s in shown if s.astimezone(self.zone).hour % 12 == number % 12]
        if len(at_hour) == 1:
            return self._propose(at_hour[0])
        service = service_by_id(self.ctx, self.state.get("service_id"))
        assert service is not None  # the times were listed for it
        free = repo_of(self.ctx).free_slots(day, service, self.ctx.opening_hours(day), self.now)
        clock = datetime.combine(day, time(int(self._pick_hour(day, number))), self.zone)
        if clock in free and reading.put_as_question(text):
            return self._propose(clock)  # "¿5 puede ser?": five o'clock, not the fifth
        readings = {shown[number - 1], *at_hour, *([clock] if clock in free else [])}
        if len(readings) == 1:
            return self._propose(shown[number - 1])
        options = sorted(readings)
        self.state["options"] = [o.isoformat() for o in options]
        self.state["step"] = "pick_option"
        texts = [self.ctx.format_datetime(o, self.lang) for o in options]
        return self._say("booking_which_option", options=texts)

    def _times_or_full(
        self,
        day: date,
        service: ServiceInfo,
        fitting: list[datetime],
        slots: list[datetime],
        from_minute: int | None = None,
    ) -> SkillResult:
        """The times that fit what the customer asked, or, when none do, the nearest free
        ones (that day's or another's) with a word that the part asked for is full."""
        if fitting:
            self.state["shown"] = [s.isoformat() for s in spread_slots(fitting)]
            return self._say(
                "booking_ask_time",
                day=say_day(self.ctx, day, self.lang),
                slots=spread(self.ctx, fitting, self.lang),
            )
        start = (
            from_minute
            if from_minute is not None
            else (minute_of_day(slots[-1], self.zone) if slots else 9 * 60)
        )
        return self._offer(
            datetime.combine(day, time(max(start // 60, 9)), self.zone),
            service,
            "booking_period_full",
        )

    def _beyond_shown(
        self, text: str, shown: list[datetime], slots: list[datetime]
    ) -> list[datetime] | None:
        """Free times past the ones just listed, when the customer asks for them: later
        ("¿algo más tarde?", "anything later?"), earlier, or others ("¿no tenés otro
        horario?"). The list is spread over the day, so when nothing is past its last (or
        first) time, "later" means the later half of the day, densely. None when the
        message asks for none of these."""
        if not shown:
            return None
        shift = asks_shift(text)
        if shift == "later":
            after = [s for s in slots if s > shown[-1]]
            return after or [s for s in slots if s > shown[len(shown) // 2] and s not in shown]
        if shift == "earlier":
            before = [s for s in slots if s < shown[0]]
            return before or [s for s in slots if s < shown[len(shown) // 2] and s not in shown]
        if reading.asks_other_times(text):
            return [s for s in slots if s not in shown]
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
                # "a las 3" after a list: that hour on the day asked for (the options may
                # span days), else the day the options are about.
                first = options[0].astimezone(self.zone).date().isoformat()
                self.state["day"] = self.state.get("day") or first
                self._set_time(f"{local:%H}", f"{local:%M}")
                return self._advance()
            self._absorb_entities()
            return self._advance()
        index = reading.option_index(self.turn.text, len(options))
        if index is not None:
            return self._propose(options[index - 1])
        on = reading.day_mention(self.turn.text) if when is None and options else None
        day_said = month_day(self.now.date(), on) if on is not None else None
        if day_said is not None:  # "no, the 26": another day, at the time asked
            self._set_day(day_said)
            return self._advance()
        number = reading.lone_number(self.turn.text)
        if number is not None and options and when is None:
            if 1 <= number <= len(options):  # "dale, 2"
                return self._propose(options[number - 1])
            if number > 23:
                return None  # not an option, nor an hour
            day = options[0].astimezone(self.zone).date()  # "ok 4 then": four o'clock
            self.state["day"] = day.isoformat()
            self._set_time(self._pick_hour(day, number), "00")
            return self._advance()
        if asks_latest(self.turn.text) and options and when is None:
            return self._propose(options[-1])
        if reading.wants_earliest(self.turn.text) and options and when is None:
            return self._propose(options[0])
        if when is not None and when.has_date and reading.window(self.turn.text, None) is None:
            on = when.start.astimezone(self.zone).date()
            same_day = [o for o in options if o.astimezone(self.zone).date() == on]
            if len(same_day) == 1:  # "monday works" to "1) Saturday 10:00 2) Monday 10:00"
                return self._propose(same_day[0])
        if when is not None or isinstance(self.turn.entities.get("service"), ServiceInfo):
            self._absorb_entities()
            return self._advance()
        if act == AFFIRM and options:
            texts = [self.ctx.format_datetime(o, self.lang) for o in options]
            return self._say("booking_which_option", options=texts)
        if act == DENY:
            return self._denied()
        return None
