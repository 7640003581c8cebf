"""Content Security Policy with a fresh nonce per response: the inline scripts and styles
of the pages hablo serves (API docs, web chat) run because they carry this response's
nonce, and nothing injected into a page does ('unsafe-inline' is never allowed)."""

from __future__ import annotations

import re
import secrets

from aiohttp import web

_NONCE_KEY = web.RequestKey("csp_nonce", str)
_INLINE_TAG = re.compile(r"<(script|style)(?=[\s>])", re.IGNORECASE)


def nonce_for(request: web.Request) -> str:
    """This response's nonce, made on first use (responses without inline code get none)."""
    nonce = request.get(_NONCE_KEY)
    if nonce is None:
        nonce = secrets.token_urlsafe(18)
        request[_NONCE_KEY] = nonce
    return nonce


def issued_nonce(request: web.Request) -> str | None:
    return request.get(_NONCE_KEY)


def policy(nonce: str | None) -> str:
    allowed = f" 'nonce-{nonce}'" if nonce else ""
    return (
        f"default-src 'self'; script-src 'self'{allowed}; style-src 'self'{allowed}; "
        "img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'; object-src 'none'"
    )


def with_nonce(html: str, nonce: str) -> str:
    """Give every <script> and <style> of a page we wrote the response's nonce."""
    return _INLINE_TAG.sub(lambda m: f'<{m.group(1)} nonce="{nonce}"', html)


def html_page(request: web.Request, html: str) -> web.Response:
    return web.Response(text=with_nonce(html, nonce_for(request)), content_type="text/html")
