"""HTTP middlewares of the API: identity, security headers, CORS, request deadline."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from hablo.api.endpoints import PRINCIPAL_KEY
from hablo.api.problems import ApiError, unauthorized
from hablo.config.log_context import bind_log_context
from hablo.security.csp import issued_nonce, policy
from hablo.security.principal import Principal
from hablo.security.tokens import TokenError, TokenService

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKENS = web.AppKey("tokens", TokenService)
# Whether a verified token's user may still act and its session was not revoked
# (logout, password reset, reuse of a refresh token, a blocked account).
PrincipalCheck = Callable[[Principal], Awaitable[bool]]
PRINCIPAL_CHECK: web.AppKey[PrincipalCheck] = web.AppKey("principal_check")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=63072000; includeSubDomains"
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, If-Match, X-Requested-With"


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if not response.prepared:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        # Pages we serve (docs, web chat) only talk to us; their inline code carries the
        # nonce made for this response.
        response.headers.setdefault("Content-Security-Policy", policy(issued_nonce(request)))
        if request.secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
    return response


def cors_middleware(allowed_origins: list[str]) -> Middleware:
    """Only listed origins get CORS headers; preflights from others are refused."""
    allowed = frozenset(o.rstrip("/") for o in allowed_origins)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None or not request.path.startswith("/api/"):
            return await handler(request)
        permitted = origin.rstrip("/") in allowed
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not permitted:
                raise ApiError(403, "cors_forbidden", "this origin may not call the API")
            response: web.StreamResponse = web.Response(status=204)
            response.headers.update(
                {
                    "Access-Control-Allow-Methods": CORS_METHODS,
                    "Access-Control-Allow-Headers": CORS_HEADERS,
                    "Access-Control-Max-Age": "600",
                }
            )
        else:
            response = await handler(request)
        if permitted and not response.prepared:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "ETag, Retry-After"
            response.headers["Vary"] = "Origin"
        return response

    return cors


# The longest URL we answer. The HTTP parser is given more room (HTTP_PARSER_LIMITS), so
# a longer URL gets our JSON 414 instead of the parser's bare-text 400.
MAX_URL_BYTES = 8192
# Likewise for one header line: the parser allows four times as much, we answer a JSON 431.
MAX_HEADER_BYTES = 16384
HTTP_PARSER_LIMITS = {"max_line_size": 4 * MAX_URL_BYTES, "max_field_size": 4 * MAX_HEADER_BYTES}


@web.middleware
async def url_length_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    if len(request.raw_path) > MAX_URL_BYTES:
        raise ApiError(414, "uri_too_long", f"the URL is longer than {MAX_URL_BYTES} bytes")
    for name, value in request.raw_headers:
        if len(name) + len(value) > MAX_HEADER_BYTES:
            raise ApiError(
                431,
                "header_too_large",
                f"a request header is longer than {MAX_HEADER_BYTES} bytes",
                {"header": name.decode("latin-1")[:100]},
            )
    return await handler(request)


async def hide_server_version(request: web.Request, response: web.StreamResponse) -> None:
    """aiohttp's default Server header names Python's and aiohttp's versions."""
    response.headers["Server"] = "hablo"


@web.middleware
async def identity(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Verify a bearer token when one is sent; routes decide whether they need one."""
    header = request.headers.get("Authorization")
    # /metrics checks its own scraper token (hablo.api.metrics), not an access token.
    if header and request.path != "/metrics":
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("use 'Authorization: Bearer <access token>'")
        try:
            principal = request.app[TOKENS].verify_access(token.strip())
        except TokenError as exc:
            raise unauthorized(str(exc)) from exc
        check = request.app.get(PRINCIPAL_CHECK)
        if check is not None and not await check(principal):
            raise unauthorized("this session has ended or the account is disabled; log in again")
        request[PRINCIPAL_KEY] = principal
    return await handler(request)


REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
# An id a proxy or client sent is kept when it is short and plain (it ends up in logs and
# in a response header); anything else is replaced by our own.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


@web.middleware
async def request_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every log line of this request, the access log's included, carries its id.

    aiohttp runs each request in a task of its own (a copy of the context), so the id is
    bound for the rest of that task and not reset: the access line is written after the
    handler returns, in the same task."""
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    rid = sent if _SANE_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    request[REQUEST_ID] = rid
    bind_log_context(request_id=rid)
    return await handler(request)


async def echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """Every response, streamed ones (web chat socket, console events) and errors included,
    names its request's id (on_response_prepare: a middleware cannot add a header to a
    response its handler already started)."""
    rid = request.get(REQUEST_ID)
    if rid is not None:
        response.headers[REQUEST_ID_HEADER] = rid
