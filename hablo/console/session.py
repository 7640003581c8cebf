"""The console's cookie session and CSRF tokens.

The session cookie holds a signed access token of the same kind the API hands out (same
keys, same claims, the same session family as a login through `/api/auth/login`), only
with the console's longer idle lifetime; every request checks, as the API does, that its
family was not revoked (log out, log out everywhere, a password reset) and the user is
still active. The cookie is HttpOnly, SameSite=Lax, and Secure whenever the request came
over TLS (also behind a trusted proxy).

CSRF: a random token in its own HttpOnly cookie must come back in every unsafe request,
as the form field `csrf` or the `X-CSRF-Token` header htmx sends (double submit), and a
cross-site `Origin` is refused outright.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from aiohttp import web

from hablo.api.middleware import PRINCIPAL_CHECK, TOKENS
from hablo.security.principal import Principal
from hablo.security.tokens import TokenError

SESSION_COOKIE = "hablo_session"
CSRF_COOKIE = "hablo_csrf"
CHALLENGE_COOKIE = "hablo_challenge"
LANG_COOKIE = "hablo_lang"
# Idle lifetime: every full page view renews it; a day's pause means signing in again.
SESSION_IDLE = timedelta(hours=8)
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_CSRF_KEY = web.RequestKey("console_csrf", str)
_PRINCIPAL_KEY = web.RequestKey("console_principal", Principal)


def _cookie(
    response: web.StreamResponse, request: web.Request, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=request.secure,
        samesite="Lax",
    )


def start_session(request: web.Request, response: web.StreamResponse, principal: Principal) -> None:
    token = request.app[TOKENS].issue_access(principal, ttl=SESSION_IDLE)
    _cookie(response, request, SESSION_COOKIE, token, int(SESSION_IDLE.total_seconds()))
    # A fresh CSRF token after sign-in: one planted before it is worth nothing.
    csrf = secrets.token_urlsafe(32)
    request[_CSRF_KEY] = csrf
    _cookie(response, request, CSRF_COOKIE, csrf, None)


def end_session(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


async def current_principal(request: web.Request) -> Principal | None:
    """The signed-in user of this request, or None (no cookie, expired, revoked)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        principal = request.app[TOKENS].verify_access(raw)
    except TokenError:
        return None
    if not await request.app[PRINCIPAL_CHECK](principal):
        return None
    request[_PRINCIPAL_KEY] = principal
    return principal


def renew_session(request: web.Request, response: web.StreamResponse) -> None:
    """A page the user opened restarts the idle lifetime (partial updates and the event
    stream do not: an unattended screen still expires)."""
    principal = request.get(_PRINCIPAL_KEY)
    if (
        principal is None
        or request.method != "GET"
        or request.headers.get("HX-Request")
        or response.prepared
        or SESSION_COOKIE in response.cookies
    ):
        return
    token = request.app[TOKENS].issue_access(principal, ttl=SESSION_IDLE)
    _cookie(response, request, SESSION_COOKIE, token, int(SESSION_IDLE.total_seconds()))


def csrf_token(request: web.Request) -> str:
    """This browser's CSRF token (made on first use; `remember_csrf` stores it)."""
    token = request.get(_CSRF_KEY) or request.cookies.get(CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(32)
    request[_CSRF_KEY] = token
    return token


def remember_csrf(request: web.Request, response: web.StreamResponse) -> None:
    token = request.get(_CSRF_KEY)
    if token and token != request.cookies.get(CSRF_COOKIE):
        _cookie(response, request, CSRF_COOKIE, token, None)


def set_short_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int
) -> None:
    _cookie(response, request, name, value, max_age)


def set_lang_cookie(request: web.Request, response: web.StreamResponse, lang: str) -> None:
    response.set_cookie(
        LANG_COOKIE, lang, max_age=365 * 86400, path="/", secure=request.secure, samesite="Lax"
    )


def same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        # None: older browsers on same-origin posts; "null": a page whose referrer policy
        # hides its origin. The CSRF token still has to match.
        return True
    return origin == f"{request.scheme}://{request.host}"


def csrf_ok(request: web.Request, sent: str | None) -> bool:
    expected = request.cookies.get(CSRF_COOKIE)
    sent = sent or request.headers.get(CSRF_HEADER)
    if not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())
