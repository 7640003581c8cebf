"""The booking conversation's shared parts: its state, how it speaks, the customer's
bookings. `BookingFlow` (flow.py) fills slots, with the part of the day
(parts_of_day.py), the days listed (day_listing.py) and the answers to listed times
(time_answers.py); `ManageBookings` (manage.py) confirms, lists, cancels and moves."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from hablo.domain.booking.repository import BookingInfo
from hablo.plugins import Reply, SkillContext, SkillResult, Turn
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.booking.slots import (
    repo_of,
    service_by_id,
    zone_of,
)

CONFIRM_STEPS = ("confirm", "reschedule_confirm")
YES_NO_STEPS = ("confirm_cancel", "confirm_cancel_all", "confirm_reminder")


class FlowBase(ABC):
    """One turn of the booking conversation; `state` is the skill's private state."""

    def __init__(self, turn: Turn, ctx: SkillContext) -> None:
        self.turn = turn
        self.ctx = ctx
        self.lang = turn.language
        self.state: dict[str, Any] = dict(turn.state) if turn.in_flow else {}
        self.now = ctx.now()
        self.zone = zone_of(ctx)
        self.prefix: list[str] = []  # said before the question (a price asked on the way)

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
        return self._ask_choice(template, ("choice_yes", "choice_no"), **values)

    def _ask_choice(self, template: str, choices: tuple[str, ...], **values: Any) -> SkillResult:
        """A question with buttons (the templates `choices`), numbered where none show."""
        text = self.ctx.render(template, self.lang, **values)
        said = tuple(self.ctx.render(c, self.lang) for c in choices)
        return self._result(text, choices=said)

    def _upcoming(self) -> list[BookingInfo]:
        return repo_of(self.ctx).upcoming_for_contact(self.turn.contact_id, self.now)

    def _describe(self, booking: BookingInfo) -> str:
        service = service_by_id(self.ctx, str(booking.service_id))
        name = service.label(self.lang) if service else booking.service_name
        return f"{name}, {self.ctx.format_datetime(booking.starts_at, self.lang)}"

    def _offer_to_book(self, template: str) -> SkillResult:
        result = self._say(template, flow=False, state={})
        return replace(result, meta={"offer": "book"})

    # -- provided by the slot-filling flow ------------------------------------------------

    @abstractmethod
    def _absorb_entities(self) -> bool:
        """Take the message's service, day and time into the state."""

    @abstractmethod
    def _advance(self) -> SkillResult:
        """Ask for what is missing, or propose a time."""

    @abstractmethod
    def _offer(
        self, wanted: datetime, offered: ServiceInfo, template: str, **values: Any
    ) -> SkillResult:
        """Offer the free times nearest `wanted`."""

    @abstractmethod
    def _propose(self, start: datetime) -> SkillResult:
        """Ask to confirm one time."""

    @abstractmethod
    def _set_time(self, hour: str, minute: str) -> None:
        """Take a clock time into the state."""

    @abstractmethod
    def _set_day(self, day: date) -> None:
        """Take a day into the state, keeping the time asked for."""

    @abstractmethod
    def _pick_hour(self, day: date, hour: int) -> str:
        """A bare hour read by opening hours (5 → 17:00 at a salon)."""

    # -- provided by manage.py ----------------------------------------------------------

    @abstractmethod
    def _denied(self) -> SkillResult:
        """A "no" to the pending question."""

    # -- provided by the part of the day (parts_of_day.py) and the day listing (day_listing.py)

    @abstractmethod
    def _shifted(self, start: datetime, shift: str) -> SkillResult:
        """Offer the same day's times after ("later") or before ("earlier") `start`."""

    @abstractmethod
    def _window(self) -> tuple[int, int] | None:
        """The range of the day the customer accepts, said earlier ("after 5")."""

    @abstractmethod
    def _period(self, text: str, day: date) -> tuple[int, int] | None:
        """The part of the day a message names, fitted to the business's shifts."""

    @abstractmethod
    def _first_day_within(
        self, service: ServiceInfo, since: date, period: tuple[int, int]
    ) -> date | None:
        """The first day from `since` (within two weeks) with a free time in `period`."""
