"""Live updates for open console pages: a server-sent events stream per page.

It watches, in the database (the truth every process shares: edge, workers), a small
fingerprint of the tenant's inbox, of the conversation on screen, and the newest staff
notification (one query of index lookups a second: `live_fingerprint`), and names what
changed: `inbox`, `conversation` or `notify`; htmx then fetches the part of the page
that event refreshes. The stream ends when the session does (log out, revoked, expired)
or the server shuts down."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from aiohttp import web

from hablo.api.problems import ApiError
from hablo.api.routes import notifications as api_notifications
from hablo.console.api_calls import call_api
from hablo.console.guard import posted, text
from hablo.console.inbox_pages import scoped, staff_user
from hablo.console.inbox_query import live_fingerprint
from hablo.console.notification_box import notification_context
from hablo.console.render import render
from hablo.console.session import current_principal

routes = web.RouteTableDef()
POLL_S = 1.0
KEEPALIVE_S = 15.0
RECHECK_SESSION_S = 30.0
SHUTDOWN: web.AppKey[asyncio.Event] = web.AppKey("console_shutdown", asyncio.Event)


async def on_shutdown(app: web.Application) -> None:
    app[SHUTDOWN].set()


async def on_startup(app: web.Application) -> None:
    app[SHUTDOWN] = asyncio.Event()


def _conversation(request: web.Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.query["conversation"])
    except (KeyError, ValueError):
        return None


@routes.get("/app/live")
async def live(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    conversation_id = _conversation(request)

    def probe(scope: Any) -> tuple[Any, Any, Any]:
        return live_fingerprint(scope, conversation_id)

    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # a buffering proxy would hold the events back
        }
    )
    await response.prepare(request)
    shutdown = request.app[SHUTDOWN]
    last = await scoped(request, principal, probe)
    last_keepalive = last_session_check = time.monotonic()
    await response.write(b"retry: 3000\n\n")
    while not shutdown.is_set():
        try:
            await asyncio.wait_for(shutdown.wait(), POLL_S)
            break
        except TimeoutError:
            pass
        now = time.monotonic()
        if now - last_session_check > RECHECK_SESSION_S:
            last_session_check = now
            if await current_principal(request) is None:
                await response.write(b"event: ended\ndata: session\n\n")
                break
        current = await scoped(request, principal, probe)
        events = [
            name
            for name, before, after in zip(
                ("inbox", "conversation", "notify"), last, current, strict=True
            )
            if before != after
        ]
        last = current
        try:
            for name in events:
                await response.write(f"event: {name}\ndata: {name}\n\n".encode())
            if not events and now - last_keepalive > KEEPALIVE_S:
                await response.write(b": keepalive\n\n")
                last_keepalive = now
            elif events:
                last_keepalive = now
        except (ConnectionResetError, ConnectionError):
            break
    return response


@routes.get("/app/notifications")
async def notifications(request: web.Request) -> web.StreamResponse:
    """The notifications box as it is now (refreshed when one arrives)."""
    principal = await staff_user(request)
    context = await notification_context(request, principal)
    return render(request, "_notifications.html", context)


@routes.post("/app/notifications/seen")
async def notifications_seen(request: web.Request) -> web.StreamResponse:
    """The user opened the list: what it showed is read (the badge goes to zero)."""
    principal = await staff_user(request)
    form = await posted(request)
    try:
        last_id = int(text(form, "last_id"))
    except ValueError as exc:
        raise ApiError(422, "validation_error", "last_id must be a number") from exc
    await call_api(request, api_notifications.mark_seen, principal, body={"last_id": last_id})
    return web.Response(status=204)
