"""A remote skill as the engine sees it: an SDK `Skill` whose `handle` is a signed POST.

The engine runs it like any skill (same budget, same containment: a failure is an
apology and the conversation goes on). What it sends is what the SDK's context offers,
read through that context, so it is this tenant's and this customer's only; what it
gets back is validated, and the writes asked for go through the booking repository and
the one "is this slot bookable" rule, for this customer only. Its templates stay on the
skill's server: hablo never renders a remote skill's jinja2.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, cast
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError

from hablo.domain.booking.policy import BookingPolicy
from hablo.plugins import remote_http
from hablo.plugins.remote_breaker import BREAKERS, CircuitBreaker
from hablo.plugins.remote_http import AddressCheck, RemoteCallError
from hablo.plugins.remote_protocol import (
    BookAction,
    CancelAction,
    ContextView,
    DayView,
    Manifest,
    ResultModel,
    TurnModel,
    TurnRequest,
)
from hablo.plugins.sdk import Skill, SkillContext, SkillResult, Turn

log = logging.getLogger(__name__)
# Tenant settings a remote skill sees (its booking rules and how the bot speaks).
SHARED_SETTINGS = ("booking", "bot", "country")
MAX_VIEW_DAYS = 92  # days of opening hours sent ahead (the booking window, capped)
REASON_CHARS = 100  # of a failure's reason in logs and turn.error
SHARE_OF_BUDGET = 0.8  # the HTTP deadline leaves the engine's budget room to apologise


class RemoteSkillFailed(Exception):
    """The call failed, its answer was invalid, or the breaker is open."""


class RemoteWriteRefused(RemoteSkillFailed):
    """A write the skill asked for breaks a booking rule; nothing of the turn is kept."""


class RemoteConfig(BaseModel):
    """A remote skill's config: checked by the skill's own server (POST <url>/config)."""

    model_config = ConfigDict(extra="allow", frozen=True)


@dataclass(frozen=True)
class RemotePolicy:
    """The platform's rules for calling remote skills (from Settings, via bootstrap)."""

    check: AddressCheck
    allow_http: bool
    timeout_s: float = 4.0
    breaker_failures: int = 3
    breaker_cooldown_s: float = 30.0
    skills_per_tenant: int = 10  # registered remote skills
    examples_per_tenant: int = 2000  # their training examples, all skills together


@dataclass(frozen=True)
class RemoteEndpoint:
    tenant_id: uuid.UUID
    name: str
    url: str
    secret: str
    manifest: Manifest


class RemoteSkill(Skill):
    """Base of the classes `remote_skill_class` makes, one per registered endpoint."""

    endpoint: ClassVar[RemoteEndpoint]
    policy: ClassVar[RemotePolicy]
    config_model = RemoteConfig

    def breaker(self) -> CircuitBreaker:
        key = (self.endpoint.tenant_id, self.endpoint.name, self.endpoint.url)
        return BREAKERS.get(key, self.policy.breaker_failures, self.policy.breaker_cooldown_s)

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        breaker = self.breaker()
        if not breaker.allow():
            raise RemoteSkillFailed(f"remote skill {self.name}: circuit open, skipped")
        answered_ok = False
        try:  # every outcome is reported: a half-open trial must never stay pending
            request = TurnRequest(turn=TurnModel.of(turn), context=self._view(turn, ctx))
            status, answer = remote_http.call(
                self.endpoint.url,
                "POST",
                "turn",
                self.endpoint.secret,
                body=request.model_dump_json().encode(),
                timeout_s=self._timeout(ctx),
                check=self.policy.check,
                allow_http=self.policy.allow_http,
            )
            if status != 200:
                raise RemoteCallError(f"HTTP {status}")
            result = ResultModel.model_validate(answer)
            answered = result.result()
            answered_ok = True
        except (RemoteCallError, ValidationError, ValueError) as exc:
            raise RemoteSkillFailed(f"remote skill {self.name}: {_reason(exc)}") from None
        finally:
            if answered_ok:
                breaker.succeeded()
            else:
                breaker.failed()
        apply_writes(result.actions, turn, ctx)
        return answered

    def _timeout(self, ctx: SkillContext) -> float:
        budget = ctx.tenant_setting("skill_time_budget_s")
        if isinstance(budget, int | float) and budget > 0:
            return min(self.policy.timeout_s, budget * SHARE_OF_BUDGET)
        return self.policy.timeout_s

    def _view(self, turn: Turn, ctx: SkillContext) -> ContextView:
        return context_view(turn, ctx, self.config.model_dump(), self.endpoint.manifest)


def remote_skill_class(endpoint: RemoteEndpoint, policy: RemotePolicy) -> type[RemoteSkill]:
    manifest = endpoint.manifest
    attributes: dict[str, Any] = {
        "name": endpoint.name,
        "intents": tuple(intent.spec() for intent in manifest.intents),
        "templates": {},
        "endpoint": endpoint,
        "policy": policy,
        "__module__": __name__,
    }
    return cast(type[RemoteSkill], type(f"Remote_{endpoint.name}", (RemoteSkill,), attributes))


def context_view(
    turn: Turn, ctx: SkillContext, config: dict[str, Any], manifest: Manifest
) -> ContextView:
    """What the SDK's context offers, read through it: nothing a skill could not read."""
    now = ctx.now()
    settings = {key: ctx.tenant_setting(key) for key in SHARED_SETTINGS}
    try:
        ahead = BookingPolicy.from_settings(settings).max_days_ahead
    except ValueError:
        ahead = BookingPolicy().max_days_ahead
    overrides = ctx.tenant_setting("templates") or {}
    settings["templates"] = {
        path: source
        for path, source in overrides.items()
        if path.rsplit("/", 1)[-1].removesuffix(".j2") in manifest.templates
    }
    days = [now.date() + timedelta(days=n) for n in range(min(ahead, MAX_VIEW_DAYS) + 1)]
    try:
        bookings = ctx.bookings().upcoming_for_contact(turn.contact_id, now)
    except RuntimeError:  # no transaction (a tool outside a turn): no bookings to show
        bookings = []
    return ContextView(
        tenant=ctx.tenant,
        now=now,
        services=list(ctx.services()),
        weekly_hours={w: _hours(ctx.weekly_hours(w)) for w in range(7)},
        days=[
            DayView(day=d, hours=_hours(ctx.opening_hours(d)), holiday=ctx.holiday(d)) for d in days
        ],
        settings={k: v for k, v in settings.items() if v is not None},
        bookings=bookings,
        config=config,
    )


def apply_writes(
    actions: Sequence[BookAction | CancelAction], turn: Turn, ctx: SkillContext
) -> None:
    """The writes a remote skill asked for, under the same rules as the booking skill's:
    a service of this tenant, a slot the bot would offer, this customer's bookings only.
    The first refusal fails the whole turn of the skill (its writes are rolled back)."""
    if not actions:
        return
    repo = ctx.bookings()
    zone = ZoneInfo(ctx.tenant.timezone)
    for action in actions:
        if isinstance(action, CancelAction):
            if not repo.cancel(action.booking_id, turn.contact_id):
                raise RemoteWriteRefused("cancel: not an active booking of this customer")
            continue
        service = next((s for s in ctx.services() if s.id == action.service_id), None)
        if service is None:
            raise RemoteWriteRefused("book: not a service of this business")
        start = action.starts_at
        if start.tzinfo is None:
            raise RemoteWriteRefused("book: starts_at must carry its time zone")
        hours = ctx.opening_hours(start.astimezone(zone).date())
        reason = repo.why_not(start, service, hours, ctx.now())
        if reason is not None:
            raise RemoteWriteRefused(f"book: {reason.value}")
        if repo.book(turn.contact_id, service, start, turn.conversation_id) is None:
            raise RemoteWriteRefused("book: taken")


def _hours(intervals: Sequence[tuple[Any, Any]]) -> list[tuple[str, str]]:
    return [(opens.isoformat(), closes.isoformat()) for opens, closes in intervals]


def _reason(exc: Exception) -> str:
    """Why a call failed, safe for logs and turn.error: the locations of a validation
    error are keys of the remote's answer (hostile text), so each part is escaped and
    the whole is cut to REASON_CHARS."""
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(_escaped(str(p)) for p in first["loc"]) or "answer"
        reason = f"invalid answer: {where}: {_escaped(first['msg'])}"
    else:
        reason = _escaped(str(exc) or type(exc).__name__)
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…"


def _escaped(text: str) -> str:
    """Printable characters kept, anything else (newlines, control and bidi characters)
    as its escape: one line that says only what it says."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
