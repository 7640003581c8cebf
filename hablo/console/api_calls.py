"""The console acts through the API's own operations: the same handler, the same
permission table, the same validation and the same rules, called in-process.

A page builds the operation's request model from a form, and gets the handler's result
or its `ApiError` (shown on the page). Nothing here re-implements what a handler does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hablo.api.endpoints import Call, Endpoint, _validate
from hablo.api.permissions import is_allowed
from hablo.api.problems import forbidden
from hablo.api.routes import all_routes
from hablo.api.suspension import refuse_writes_when_suspended
from hablo.security.principal import Principal

Handler = Callable[[Call[Any, Any]], Awaitable[Any]]


@cache
def _endpoints() -> dict[Handler, Endpoint]:
    return {e.handler: e for group in all_routes() for e in group.endpoints}


def endpoint_of(handler: Handler) -> Endpoint:
    return _endpoints()[handler]


def may(principal: Principal | None, handler: Handler) -> bool:
    """Whether this user may call the operation (pages hide what this says no to)."""
    permission = endpoint_of(handler).permission
    if permission is None:
        return True
    return principal is not None and is_allowed(principal.role, permission)


def _model(model: type[BaseModel] | None, data: Any, where: str) -> Any:
    if model is None or data is None or isinstance(data, BaseModel):
        return data
    return _validate(model, data, where)  # the API's own validation and 422 details


async def call_api(
    request: web.Request,
    handler: Handler,
    principal: Principal | None,
    *,
    body: Any = None,
    query: Any = None,
    path: dict[str, Any] | None = None,
) -> Any:
    """Run one API operation for `principal`; raises `ApiError` as the API would answer."""
    endpoint = endpoint_of(handler)
    if endpoint.permission is not None:
        if principal is None or not is_allowed(principal.role, endpoint.permission):
            raise forbidden()
        await refuse_writes_when_suspended(request, endpoint.path, principal)
    if endpoint.query is not None and query is None:
        query = {}
    call: Call[Any, Any] = Call(
        request,
        principal,
        _model(endpoint.query, query, "query"),
        _model(endpoint.body, body, "body"),
        path or {},
    )
    return await handler(call)
