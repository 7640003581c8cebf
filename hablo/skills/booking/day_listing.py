"""Which days to offer: the days with room listed for "¿qué días tenés (esta semana)?",
the first day with room in a part of the day, the soonest free time, and Sunday said
closed with Saturday ("¿tenéis algo el finde?")."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hablo.domain.booking.availability import nearest_free
from hablo.engine.nlu.datetimes import extract_weekdays
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.booking.base import FlowBase
from hablo.skills.booking.slots import minute_of_day, repo_of
from hablo.skills.wording import say_clock, say_day, say_span


class DayListing(FlowBase):
    """The booking flow's days with room (see flow.py for when they are listed)."""

    def _first_day_within(
        self, service: ServiceInfo, since: date, period: tuple[int, int]
    ) -> date | None:
        """The first day from `since` (within two weeks) with a free time in `period`."""
        repo = repo_of(self.ctx)
        for ahead in range(14):
            day = since + timedelta(days=ahead)
            free = repo.free_slots(day, service, self.ctx.opening_hours(day), self.now)
            if any(period[0] <= minute_of_day(s, self.zone) < period[1] for s in free):
                return day
        return None

    def _closed_sunday(self, saturday: date) -> str | None:
        """ "¿tenéis algo el finde?" where both days are closed: Sunday is said closed too,
        not only Saturday."""
        sunday = saturday + timedelta(days=1)
        if saturday.weekday() != 5 or self.ctx.holiday(saturday) or self.ctx.opening_hours(sunday):
            return None
        if 6 not in extract_weekdays(self.turn.text):
            return None
        return say_day(self.ctx, sunday, self.lang)

    def _days_with_room(
        self, service: ServiceInfo, since: date | None, until: date | None = None
    ) -> list[str]:
        """The days listed for "¿qué días tenés (esta semana)?": that week's, else the
        next ones; with `until` ("antes del sábado"), the days up to it, else the next
        ones. When none has room in the part of the day the customer can come
        ("trabajo hasta las 5" for a three-hour job, the shop closing at 18:30), that is
        said and the days with room at other times are listed instead."""
        bounded = since or until
        days = (
            self._open_days(service, since=since, until=until) if bounded else []
        ) or self._open_days(service)
        span = self._window()
        if days or span is None:
            return days
        self.state.pop("window")
        start, end = say_span(self.ctx, span, self.lang)
        self.prefix.append(
            self.ctx.render(
                "booking_no_room_then",
                self.lang,
                service=service.label(self.lang),
                minutes=service.duration_minutes,
                start=start,
                end=end,
            )
        )
        return (
            self._open_days(service, since=since, until=until) if bounded else []
        ) or self._open_days(service)

    def _open_days(
        self,
        service: ServiceInfo,
        count: int = 4,
        since: date | None = None,
        until: date | None = None,
        first_time: bool = True,
    ) -> list[str]:
        """ "¿qué días tienen?", "¿cuándo tenés libre?": the next days with a free time
        for the service, each with its first free time ("jueves 11 de marzo (09:00)");
        with `since`, the days of that week only ("¿qué días tenés esta semana?"); with
        `until`, the days up to that one ("antes del sábado"); without `first_time`, the
        days alone."""
        repo = repo_of(self.ctx)
        today = self.now.astimezone(self.zone).date()
        start = max(since or today, today)
        last = today + timedelta(days=min(repo.policy.max_days_ahead, 31))
        if since is not None:  # the week ends on its Sunday
            last = min(last, since + timedelta(days=6 - since.weekday()))
            count = 7
        if until is not None:
            last, count = min(last, until), 7
        found: list[str] = []
        for ahead in range((last - start).days + 1):
            day = start + timedelta(days=ahead)
            hours = self.ctx.opening_hours(day)
            free = repo.free_slots(day, service, hours, self.now) if hours else []
            span = self._window()  # "tiene que ser por la tarde": days with room then
            if span is not None:
                free = [s for s in free if span[0] <= minute_of_day(s, self.zone) < span[1]]
            if free:
                first = say_clock(self.ctx, free[0].astimezone(self.zone).time(), self.lang)
                said = say_day(self.ctx, day, self.lang)
                found.append(f"{said} ({first})" if first_time else said)
                if len(found) == count:
                    break
        return found

    def _days_for_any(self) -> list[str]:
        """ "¿cuándo puedo ir?" before the service is said: the days with room for the
        shortest service (no first time: it depends on the service)."""
        services = self.ctx.services()
        if not services:
            return []
        shortest = min(services, key=lambda s: s.duration_minutes)
        return self._open_days(shortest, first_time=False)

    def _soonest(self, service: ServiceInfo) -> datetime | None:
        repo = repo_of(self.ctx)
        first = nearest_free(
            self.now,
            service.duration_minutes,
            repo.policy,
            self.ctx.opening_hours,
            repo.busy_between,
            self.now,
            self.zone,
            limit=1,
        )
        return first[0] if first else None
