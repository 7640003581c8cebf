"""Pages from jinja2 templates (autoescaped), with this response's CSP nonce, the CSRF
token and the user's language."""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from hablo.console.i18n import LANGUAGES, error_text, translator
from hablo.console.session import LANG_COOKIE, csrf_token, remember_csrf
from hablo.security.csp import nonce_for

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("hablo.console", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def language(request: web.Request) -> str:
    """The language chosen in the console, else the browser's first known one, else es."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "es"


def render(
    request: web.Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> web.Response:
    lang = language(request)
    values = {
        "t": translator(lang),
        "lang": lang,
        "csrf": csrf_token(request),
        "nonce": nonce_for(request),
        "path": request.path_qs,
        "error_text": lambda error: error_text(lang, error),
        "user": None,
        "can": {},
        "error": None,
        "active": "",
    }
    values.update(context or {})
    html = _ENV.get_template(template).render(values)
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Cache-Control"] = "no-store"
    # Our own forms then send their real Origin, which the CSRF check compares.
    response.headers["Referrer-Policy"] = "same-origin"
    remember_csrf(request, response)
    return response
