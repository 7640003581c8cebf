"""Declaring API operations once: route, permission, request and response models.

Each resource module builds an `ApiRoutes` and declares operations with it:

    routes = ApiRoutes("contacts")

    @routes.get("/api/contacts", "contacts:read", query=ContactQuery,
                response=Page[ContactOut], summary="List contacts")
    async def list_contacts(call: Call[ContactQuery, None]) -> Page[ContactOut]:
        return await call.db(lambda scope: ...)

The same declaration drives the aiohttp route, input validation (pydantic; a bad
request never reaches the handler), the permission check (the table in
`permissions.py`) and the OpenAPI document (`openapi.py`). Path parameters are UUIDs
unless declared otherwise; an id that does not parse is a 404, like an id of another
tenant.
"""

from __future__ import annotations

import asyncio
import functools
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from hablo.api.app_keys import RUNTIME
from hablo.api.errors import validation_details
from hablo.api.permissions import PERMISSIONS, is_allowed
from hablo.api.problems import ApiError, forbidden, not_found, unauthorized
from hablo.api.scope import TenantScope, run_global, run_scoped
from hablo.api.suspension import refuse_writes_when_suspended
from hablo.security.principal import Principal
from hablo.web import json_body

Q = TypeVar("Q")
B = TypeVar("B")
T = TypeVar("T")
ItemT = TypeVar("ItemT")

PRINCIPAL_KEY = web.RequestKey("principal", Principal)
# Seconds a handler may take before the caller gets 503 (streaming handlers are exempt).
DEADLINE = web.AppKey("deadline_s", float)
_PATH_PARAM = re.compile(r"{(\w+)}")


class RequestModel(BaseModel):
    """Base of every request body and query model: unknown fields are an error (a typo
    in a field name must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PageQuery(RequestModel):
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=20, ge=1, le=100)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    page: int
    per_page: int
    total: int


class Empty(RequestModel):
    """No query parameters."""


@dataclass
class Call(Generic[Q, B]):
    """One validated API call, handed to the operation's handler."""

    request: web.Request
    principal: Principal | None
    query: Q
    body: B
    path: dict[str, Any]
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def tenant_id(self) -> uuid.UUID:
        if self.principal is None or self.principal.tenant_id is None:
            raise forbidden("this operation works inside a tenant; your account has none")
        return self.principal.tenant_id

    @property
    def user(self) -> Principal:
        if self.principal is None:
            raise unauthorized()
        return self.principal

    @property
    def client_ip(self) -> str | None:
        return self.request.remote

    async def db(self, work: Callable[[TenantScope], T]) -> T:
        """Run blocking DB work in one transaction scoped to the caller's tenant."""
        return await run_scoped(
            self.request.app, self.tenant_id, self._actor_id(), self.client_ip, work
        )

    async def db_global(self, work: Callable[[Session], T]) -> T:
        """Unscoped DB work: only for auth and super_admin operations."""
        return await run_global(self.request.app, work)

    def tenant_changed(self, tenant_id: uuid.UUID | None = None) -> None:
        """After a commit that changed what the bot knows (hours, services, settings,
        plan): the running engine re-reads the tenant's profile before its next turn.
        A pykka tell: it does not block."""
        self.request.app[RUNTIME].engine.reload_tenant(tenant_id or self.tenant_id)

    def if_match(self) -> str | None:
        return self.request.headers.get("If-Match")

    def _actor_id(self) -> uuid.UUID | None:
        return self.principal.user_id if self.principal else None


Handler = Callable[[Call[Any, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    permission: str | None  # None = public (no token needed)
    handler: Handler
    summary: str
    tag: str
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    path_types: dict[str, Any] = field(default_factory=dict)
    # Non-JSON responses (CSV, PDF, HTML): media type -> description, for the docs.
    produces: str | None = None
    consumes: str | None = None  # a raw request body (e.g. text/csv), read by the handler
    streaming: bool = False  # writes its own StreamResponse (exports): no deadline
    description: str = ""

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


class ApiRoutes:
    """The operations of one resource (one tag in the docs)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def route(
        self, method: str, path: str, permission: str | None, **options: Any
    ) -> Callable[[Handler], Handler]:
        if permission is not None and permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}: add it to permissions.py")

        def register(handler: Handler) -> Handler:
            summary = options.pop("summary", None) or (handler.__doc__ or "").strip()
            self.endpoints.append(
                Endpoint(method, path, permission, handler, summary, self.tag, **options)
            )
            return handler

        return register

    def get(
        self, path: str, permission: str | None, **options: Any
    ) -> Callable[[Handler], Handler]:
        return self.route("GET", path, permission, **options)

    def post(
        self, path: str, permission: str | None, **options: Any
    ) -> Callable[[Handler], Handler]:
        return self.route("POST", path, permission, **options)

    def put(
        self, path: str, permission: str | None, **options: Any
    ) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, permission, **options)

    def patch(
        self, path: str, permission: str | None, **options: Any
    ) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, permission, **options)

    def delete(
        self, path: str, permission: str | None, **options: Any
    ) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, permission, **options)


def mount(app: web.Application, groups: Iterable[ApiRoutes]) -> list[Endpoint]:
    endpoints = [e for group in groups for e in group.endpoints]
    seen: set[tuple[str, str]] = set()
    for endpoint in endpoints:
        key = (endpoint.method, endpoint.path)
        if key in seen:
            raise ValueError(f"{endpoint.method} {endpoint.path} declared twice")
        seen.add(key)
        app.router.add_route(endpoint.method, _route_pattern(endpoint), _aiohttp_handler(endpoint))
    return endpoints


# Path parameters only match what their type can parse, so a literal segment such as
# /api/bookings/calendar is never taken for an id (and PUT on it is a 405, not a 404).
_UUID_PATTERN = "[0-9a-fA-F-]{32,36}"
_INT_PATTERN = "-?[0-9]{1,18}"


def path_pattern(kind: Any) -> str | None:
    """The regex a path parameter type declares (`path_pattern`), if any."""
    found = getattr(kind, "path_pattern", None)
    return found if isinstance(found, str) else None


def _route_pattern(endpoint: Endpoint) -> str:
    def pattern(match: re.Match[str]) -> str:
        name = match.group(1)
        kind = endpoint.path_types.get(name, uuid.UUID)
        # A str subclass may carry its own pattern (a name that must not swallow a sibling
        # route's literal segment, e.g. /api/skills/{name} and /api/skills/remote).
        regex = path_pattern(kind) or {uuid.UUID: _UUID_PATTERN, int: _INT_PATTERN}.get(kind)
        return "{" + name + ":" + regex + "}" if regex else match.group(0)

    return _PATH_PARAM.sub(pattern, endpoint.path)


def _aiohttp_handler(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        principal: Principal | None = request.get(PRINCIPAL_KEY)
        if endpoint.permission is not None:
            if principal is None:
                raise unauthorized()
            if not is_allowed(principal.role, endpoint.permission):
                raise forbidden()
            await refuse_writes_when_suspended(request, endpoint.path, principal)
        path = _parse_path(endpoint, request)
        query = _parse_query(endpoint, request)
        body = await _parse_body(endpoint, request)
        call: Call[Any, Any] = Call(request, principal, query, body, path)
        if endpoint.streaming:
            result = await endpoint.handler(call)
        else:
            try:
                result = await asyncio.wait_for(
                    endpoint.handler(call), timeout=request.app.get(DEADLINE, 30.0)
                )
            except TimeoutError as exc:
                raise ApiError(503, "timeout", "the request took too long; try again") from exc
        return _render(endpoint, call, result)

    handle.__name__ = endpoint.operation_id
    return handle


def _parse_path(endpoint: Endpoint, request: web.Request) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in endpoint.path_params:
        raw = request.match_info[name]
        kind = endpoint.path_types.get(name, uuid.UUID)
        try:
            values[name] = kind(raw)
        except (ValueError, TypeError) as exc:
            raise not_found() from exc
    return values


def _parse_query(endpoint: Endpoint, request: web.Request) -> Any:
    if endpoint.query is None:
        if request.query:
            unknown = sorted(request.query)
            raise ApiError(
                422,
                "validation_error",
                "this operation takes no query parameters",
                [
                    {"loc": ["query", name], "msg": "unknown parameter", "type": "extra_forbidden"}
                    for name in unknown
                ],
            )
        return None
    data: dict[str, Any] = {}
    if any("\x00" in key or "\x00" in value for key, value in request.query.items()):
        raise _nul_error("query")
    for name in request.query:
        values = request.query.getall(name)
        data[name] = values if _is_list_field(endpoint.query, name) else values[-1]
    _refuse_numeric_datetimes(endpoint.query, data, "query")
    return _validate(endpoint.query, data, "query")


_ISO_DATE_START = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")


@functools.cache
def _datetime_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields documented as date-time (whatever the annotation: datetime, AwareDatetime,
    Annotated aliases, optional or not)."""
    properties = model.model_json_schema().get("properties", {})

    def is_datetime(schema: dict[str, Any]) -> bool:
        if schema.get("format") == "date-time":
            return True
        return any(is_datetime(option) for option in schema.get("anyOf", []))

    return frozenset(name for name, schema in properties.items() if is_datetime(schema))


def _refuse_numeric_datetimes(model: type[BaseModel], data: dict[str, Any], where: str) -> None:
    """pydantic reads "0.5" as a Unix timestamp; the API documents ISO 8601 only."""
    for name, value in data.items():
        if (
            isinstance(value, str)
            and name in _datetime_fields(model)
            and not _ISO_DATE_START.match(value)
        ):
            raise ApiError(
                422,
                "validation_error",
                f"the request {where} is not valid",
                [
                    {
                        "loc": [where, name],
                        "msg": "must be an ISO 8601 date-time, e.g. 2026-12-01T10:00:00-03:00",
                        "type": "datetime_format",
                    }
                ],
            )


def _is_list_field(model: type[BaseModel], name: str) -> bool:
    info = model.model_fields.get(name)
    return info is not None and getattr(info.annotation, "__origin__", None) is list


async def _parse_body(endpoint: Endpoint, request: web.Request) -> Any:
    if endpoint.body is None:
        return None
    if not request.can_read_body:
        raise ApiError(400, "missing_body", "this operation needs a JSON body")
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = await request.read()
    try:
        parsed = json_body.loads(raw)
    except json_body.InvalidJson as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from exc
    if _has_nul(parsed):
        raise _nul_error("body")
    if isinstance(parsed, dict):
        _refuse_numeric_datetimes(endpoint.body, parsed, "body")
    # Strict JSON validation: 0 is not false and "5" is not 5 (the schema says so too);
    # ISO 8601 strings still become datetimes and UUIDs.
    return _validate(endpoint.body, raw, "body", json_input=True)


def _has_nul(value: Any) -> bool:
    """NUL characters: no text column can store them (PostgreSQL refuses them outright)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _nul_error(where: str) -> ApiError:
    return ApiError(
        422,
        "validation_error",
        f"the request {where} contains a NUL character",
        [{"loc": [where], "msg": "NUL characters are not allowed", "type": "nul_character"}],
    )


def _validate(model: type[BaseModel], data: Any, where: str, *, json_input: bool = False) -> Any:
    try:
        if json_input:
            return model.model_validate_json(data, strict=True)
        return model.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc)
        for item in details:
            item["loc"] = [where, *item["loc"]]
        raise ApiError(
            422, "validation_error", f"the request {where} is not valid", details
        ) from exc


def _render(endpoint: Endpoint, call: Call[Any, Any], result: Any) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    if result is None:
        return web.Response(status=204, headers=call.response_headers)
    payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    return web.json_response(payload, status=endpoint.status, headers=call.response_headers)


def require(condition: bool, error: ApiError) -> None:
    if not condition:
        raise error
