"""What every console request goes through: rate limits (the API's), the signed-in
user, CSRF on writes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web
from multidict import MultiDictProxy

from hablo.api.problems import ApiError
from hablo.api.ratelimit import RATE_LIMITER, STRICT
from hablo.console.session import CSRF_FIELD, csrf_ok, current_principal, same_origin
from hablo.security.principal import Principal

Form = MultiDictProxy[Any]

LOGIN_PATH = "/app/login"


async def limit(request: web.Request, principal: Principal | None = None) -> None:
    """The API's per-IP and per-user budgets, shared with /api (same counters)."""
    limiter = request.app[RATE_LIMITER]
    ip = request.remote or "unknown"
    await limiter.enforce(f"ip:{ip}", limiter.per_ip)
    if principal is not None:
        await limiter.enforce(f"user:{principal.user_id}", limiter.per_user)


async def limit_like(request: web.Request, api_path: str) -> None:
    """An account form counts against the same strict budget as its API operation."""
    limiter = request.app[RATE_LIMITER]
    ip = request.remote or "unknown"
    await limiter.enforce(f"ip:{ip}:POST:{api_path}", STRICT[("POST", api_path)])


def to_login(request: web.Request) -> web.HTTPException:
    target = f"{LOGIN_PATH}?next={quote(request.path_qs, safe='')}"
    if request.headers.get("HX-Request"):
        # htmx follows this header with a full page load instead of swapping a login form in.
        return web.HTTPUnauthorized(headers={"HX-Redirect": target})
    return web.HTTPSeeOther(target)


async def user_of(request: web.Request) -> Principal:
    principal = await current_principal(request)
    if principal is None:
        raise to_login(request)
    await limit(request, principal)
    return principal


async def posted(request: web.Request) -> Form:
    """The form of an unsafe request, after the CSRF and origin checks."""
    form = await request.post()
    sent = form.get(CSRF_FIELD)
    require_csrf(request, sent if isinstance(sent, str) else None)
    return form


def require_csrf(request: web.Request, sent: str | None) -> None:
    """The origin and CSRF checks of an unsafe request (`sent`: the form's token)."""
    if not same_origin(request) or not csrf_ok(request, sent):
        raise ApiError(403, "csrf", "the form's CSRF token is missing or wrong; reload the page")


def text(form: Form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def safe_next(raw: str | None) -> str:
    """Only a path of the console itself (no open redirect)."""
    if raw and raw.startswith("/app") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/app/inbox"


def redirect(target: str) -> web.Response:
    """A 303 to a page of ours, as a response (so cookies can be set on it)."""
    return web.Response(status=303, headers={"Location": target})
