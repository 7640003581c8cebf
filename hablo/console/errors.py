"""Errors on console pages are pages (in the user's language), not the API's JSON; a page
view renews the session's idle lifetime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from hablo.api.problems import ApiError
from hablo.console.render import render
from hablo.console.session import renew_session

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def console_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/app") or request.path.startswith("/app/static"):
        return await handler(request)
    try:
        response = await handler(request)
        renew_session(request, response)
        return response
    except ApiError as error:
        if request.headers.get("HX-Request"):
            # A refused htmx action: its message goes to the page's flash area.
            response = render(request, "_error.html", {"error": error}, status=error.status)
            response.headers["HX-Retarget"] = "#flash"
            response.headers["HX-Reswap"] = "innerHTML"
        else:
            response = render(request, "error.html", {"error": error}, status=error.status)
        for name, value in error.headers.items():
            response.headers[name] = value
        return response
    except web.HTTPNotFound:
        missing = ApiError(404, "not_found", "this page does not exist")
        return render(request, "error.html", {"error": missing}, status=404)
