"""The staff console under /app: server-rendered pages (jinja2 + htmx + server-sent
events) on the same services and permission table as the management API."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from hablo.console import auth_pages, inbox_pages, inbox_settings_pages, live, media_pages
from hablo.console.errors import console_errors

STATIC = Path(__file__).parent / "static"


def setup_console(app: web.Application) -> None:
    """Register the console's routes and its error pages on the app (before it starts)."""
    app.middlewares.append(console_errors)
    app.router.add_routes(auth_pages.routes)
    app.router.add_routes(inbox_pages.routes)
    app.router.add_routes(inbox_settings_pages.routes)
    app.router.add_routes(media_pages.routes)
    app.router.add_routes(live.routes)
    app.router.add_static("/app/static", STATIC, append_version=False)
    app.on_startup.append(live.on_startup)
    # Open event streams would otherwise hold a graceful shutdown for its whole timeout.
    app.on_shutdown.append(live.on_shutdown)
