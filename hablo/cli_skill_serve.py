"""`hablo skill serve PACKAGE:Class --port N`: any SDK skill as a remote skill endpoint.

The same class that runs installed inside hablo runs here, hosted by the tenant:
GET /manifest describes it; POST /turn (signed) runs `handle` on a context rebuilt
from what hablo sent (the engine's own context class, so templates, dates and money
read the same), and POST /config (signed) checks a config with the skill's own model.
Bookings are read from the customer's bookings hablo sent; `book` and `cancel` are
recorded and returned for hablo to apply under its rules. Requests with a bad, stale
or replayed signature are refused with 401.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import ValidationError

from hablo.db.enums import BookingStatus
from hablo.domain.booking.availability import BusyRange
from hablo.domain.booking.policy import BookingPolicy
from hablo.domain.booking.repository import BookingInfo, BookingRepository
from hablo.domain.catalog import ServiceInfo
from hablo.domain.payments import PaymentDesk
from hablo.engine.context import EngineSkillContext, TenantServices
from hablo.engine.nlu.services import ServiceMatcher
from hablo.engine.templates import TemplateRenderer, skill_templates
from hablo.engine.tenant_profile import TenantProfile
from hablo.plugins.loader import PluginError, validate_skill_class
from hablo.plugins.remote_protocol import (
    MAX_BODY,
    BookAction,
    CancelAction,
    ContextView,
    ReplayGuard,
    ResultModel,
    SignatureRefused,
    TurnRequest,
    manifest_of,
)
from hablo.plugins.sdk import Skill, SkillResult, Turn
from hablo.plugins.tenant_skills import config_errors
from hablo.web.errors import json_error
from hablo.web.json_body import InvalidJson, loads

log = logging.getLogger(__name__)


class ServeError(Exception):
    """One line for the user (bad PACKAGE:Class, missing secret)."""


def load_skill(spec: str) -> type[Skill]:
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise ServeError(f"{spec!r}: expected PACKAGE.MODULE:Class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ServeError(f"cannot import {module_name}: {exc}") from None
    try:
        return validate_skill_class(getattr(module, class_name, None))
    except PluginError as exc:
        raise ServeError(f"{spec}: {exc}") from None


class ViewBookings(BookingRepository):
    """The customer's bookings as hablo sent them; writes are recorded, not made. Other
    customers' bookings are not sent, so free times here ignore them: hablo checks the
    slot again when it applies a booking."""

    def __init__(self, view: ContextView, contact_id: uuid.UUID, policy: BookingPolicy) -> None:
        # No connection: nothing here reaches a database.
        self.tenant_id = view.tenant.id
        self.policy = policy
        self.zone = ZoneInfo(view.tenant.timezone)
        self.contact_id = contact_id
        self.mine = {b.id: b for b in view.bookings if b.contact_id == contact_id}
        self.actions: list[BookAction | CancelAction] = []

    def busy_between(
        self, start: datetime, end: datetime, exclude: uuid.UUID | None = None
    ) -> list[BusyRange]:
        buffer = timedelta(minutes=self.policy.buffer_minutes)
        return [
            BusyRange(b.starts_at, b.ends_at, b.ends_at + buffer, b.resource)
            for b in self.mine.values()
            if b.active and b.id != exclude and b.starts_at < end and b.ends_at + buffer > start
        ]

    def book(
        self,
        contact_id: uuid.UUID,
        service: ServiceInfo,
        start: datetime,
        conversation_id: uuid.UUID | None = None,
        status: BookingStatus | str = BookingStatus.CONFIRMED,
    ) -> BookingInfo | None:
        if contact_id != self.contact_id:
            raise LookupError("a remote skill books for the customer of the turn only")
        self.actions.append(BookAction(type="book", service_id=service.id, starts_at=start))
        # Provisional: hablo writes it (with its own id) when it applies the answer.
        return BookingInfo(
            id=uuid.uuid4(),
            contact_id=contact_id,
            service_id=service.id,
            service_name=service.name,
            starts_at=start,
            ends_at=start + timedelta(minutes=service.duration_minutes),
            status=BookingStatus(status),
            resource=1,
            conversation_id=conversation_id,
        )

    def cancel(self, booking_id: uuid.UUID, contact_id: uuid.UUID | None) -> bool:
        found = self.mine.get(booking_id)
        if found is None or not found.active:
            return False
        self.actions.append(CancelAction(type="cancel", booking_id=booking_id))
        return True

    def get(self, booking_id: uuid.UUID, contact_id: uuid.UUID | None = None) -> BookingInfo | None:
        return self.mine.get(booking_id)

    def upcoming_for_contact(self, contact_id: uuid.UUID, now: datetime) -> list[BookingInfo]:
        if contact_id != self.contact_id:
            return []
        return sorted(
            (b for b in self.mine.values() if b.active and b.ends_at > now),
            key=lambda b: b.starts_at,
        )

    def confirm(self, booking_id: uuid.UUID, contact_id: uuid.UUID | None) -> bool:
        raise PermissionError("a remote skill may book and cancel, not confirm")

    def reschedule(self, *args: Any, **kwargs: Any) -> BookingInfo | None:
        raise PermissionError("a remote skill may book and cancel, not reschedule")

    def list_all(self, status: BookingStatus | str | None = None) -> list[BookingInfo]:
        raise PermissionError("a remote skill sees only the customer's own bookings")


class ServedContext(EngineSkillContext):
    """The engine's skill context over a view: reads as installed, writes recorded."""

    def __init__(self, services: TenantServices, bookings: ViewBookings) -> None:
        super().__init__(services, None)
        self._view_bookings = bookings

    def bookings(self) -> BookingRepository:
        return self._view_bookings

    def payments(self) -> PaymentDesk:
        raise PermissionError("payments are not available to a remote skill")


def served_services(view: ContextView, skill: type[Skill]) -> TenantServices:
    """The engine's per-tenant half of the context, rebuilt from a view."""

    def hours(pairs: list[tuple[str, str]]) -> tuple[tuple[time, time], ...]:
        return tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in pairs)

    profile = TenantProfile(
        info=view.tenant,
        services=tuple(view.services),
        weekly_hours={w: hours(h) for w, h in view.weekly_hours.items()},
        holidays={d.day: d.holiday for d in view.days if d.holiday},
        template_overrides=dict(view.settings.get("templates") or {}),
        settings=view.settings,
        special_hours={d.day: hours(d.hours) for d in view.days if not d.holiday},
    )
    renderer = TemplateRenderer(profile.template_overrides, skill_templates([skill]))
    now = view.now
    return TenantServices(profile, renderer, ServiceMatcher(profile.services), lambda: now)


def _entities(raw: Mapping[str, Any], services: list[ServiceInfo]) -> dict[str, Any]:
    """The turn's entities with the services found in the message as ServiceInfo again
    (as an installed skill gets them); the rest stays JSON (dates as ISO text)."""
    by_id = {str(s.id): s for s in services}

    def revive(value: Any) -> Any:
        if (
            isinstance(value, dict)
            and str(value.get("id")) in by_id
            and "duration_minutes" in value
        ):
            return by_id[str(value["id"])]
        if isinstance(value, list):
            return tuple(revive(v) for v in value)
        return value

    return {key: revive(value) for key, value in raw.items()}


def run_turn(skill: type[Skill], request: TurnRequest) -> ResultModel:
    view, wire = request.context, request.turn
    services = served_services(view, skill)
    bookings = ViewBookings(view, wire.contact_id, BookingPolicy.from_settings(view.settings))
    ctx = ServedContext(services, bookings)
    turn = Turn(
        text=wire.text,
        language=wire.language,
        intent=wire.intent,
        confidence=wire.confidence,
        entities=_entities(wire.entities, view.services),
        state=wire.state,
        conversation_id=wire.conversation_id,
        contact_id=wire.contact_id,
        in_flow=wire.in_flow,
    )
    result = skill(skill.config_model.model_validate(view.config)).handle(turn, ctx)
    if not isinstance(result, SkillResult):
        raise TypeError(f"handle() returned {type(result).__name__}, not SkillResult")
    return ResultModel.of(result, bookings.actions)


def skill_app(skill: type[Skill], secret: str) -> web.Application:
    guard = ReplayGuard(secret)
    manifest = manifest_of(skill).model_dump(mode="json")

    async def signed_json(request: web.Request) -> Any:
        try:  # the whole body, however it arrives in pieces (client_max_size caps it)
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise _Refused(413, "too_large", f"the body is larger than {MAX_BODY} bytes") from None
        try:
            guard.check(request.headers, body)
        except SignatureRefused as exc:
            raise _Refused(401, "bad_signature", str(exc)) from None
        try:
            return loads(body)
        except InvalidJson as exc:
            raise _Refused(400, "bad_json", str(exc)) from None

    async def get_manifest(request: web.Request) -> web.Response:
        return web.json_response(manifest)

    async def post_turn(request: web.Request) -> web.Response:
        data = await signed_json(request)
        try:
            turn_request = TurnRequest.model_validate(data)
        except ValidationError:
            raise _Refused(400, "bad_request", "not a turn request") from None
        loop = asyncio.get_running_loop()
        try:
            answer = await loop.run_in_executor(None, run_turn, skill, turn_request)
        except ValidationError as exc:
            raise _Refused(
                422, "validation_error", "config or answer invalid", config_errors(exc)
            ) from None
        except Exception as exc:  # the skill's own bug: hablo apologises to the customer
            log.exception("skill %s failed", skill.name)
            raise _Refused(500, "skill_failed", type(exc).__name__) from None
        return web.json_response(text=answer.model_dump_json())

    async def post_config(request: web.Request) -> web.Response:
        data = await signed_json(request)
        try:
            skill.config_model.model_validate(data)
        except ValidationError as exc:
            return web.json_response({"errors": config_errors(exc)}, status=422)
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=MAX_BODY, middlewares=[_refusals])
    app.router.add_get("/manifest", get_manifest)
    app.router.add_post("/turn", post_turn)
    app.router.add_post("/config", post_config)
    return app


class _Refused(Exception):
    """A request refused with the house error shape."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.response = json_error(status, code, message, details)


@web.middleware
async def _refusals(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except _Refused as exc:
        return exc.response


def serve(
    spec: str, host: str, port: int, secret: str | None, print_line: Callable[[str], None]
) -> None:
    if not secret or len(secret) < 32:
        raise ServeError("the signing secret must be set (--secret-env) and be 32+ characters")
    skill = load_skill(spec)
    print_line(f"skill {skill.name} serving on http://{host}:{port} (manifest, turn, config)")
    web.run_app(skill_app(skill, secret), host=host, port=port, print=None, access_log=None)
