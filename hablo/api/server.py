"""The HTTP server: app factory, lifecycle (engine start/stop), web chat and health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from hablo.adapters.webchat import WebChat, WebChatHub, WebChatSender
from hablo.api.errors import error_middleware
from hablo.bootstrap import Runtime
from hablo.engine.bridge import LoopBridge

RUNTIME = web.AppKey("runtime", Runtime)
BRIDGE = web.AppKey("bridge", LoopBridge)


async def healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]

    def probe() -> None:
        with runtime.db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    try:
        await request.app[BRIDGE].call(probe)
    except Exception:
        return web.json_response({"status": "degraded", "database": "unreachable"}, status=503)
    return web.json_response(
        {
            "status": "ok",
            "database": runtime.db.dialect,
            "live_conversations": runtime.engine.router.live_conversations(),
        }
    )


def create_app(runtime: Runtime, *, manage_engine: bool = True) -> web.Application:
    """Build the app. With `manage_engine`, the app starts and stops the engine."""
    app = web.Application(middlewares=[error_middleware], client_max_size=1024 * 1024)
    app[RUNTIME] = runtime
    hub = WebChatHub()
    webchat = WebChat(runtime.engine, hub)
    serve_webchat = "webchat" in runtime.settings.channels
    if serve_webchat:
        app.router.add_routes(webchat.routes())

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        bridge = LoopBridge(asyncio.get_running_loop())
        app[BRIDGE] = bridge
        webchat.attach(bridge)
        if serve_webchat:
            runtime.engine.add_sender(WebChatSender(hub, bridge))
        if manage_engine:
            await bridge.call(runtime.engine.start)
        yield
        if manage_engine:
            await bridge.call(runtime.engine.stop)
        bridge.close()

    async def close_chats(app: web.Application) -> None:
        await hub.close_all()

    app.cleanup_ctx.append(lifecycle)
    # Open chat sockets would otherwise hold graceful shutdown for its full timeout.
    app.on_shutdown.append(close_chats)
    app.router.add_get("/healthz", healthz)
    return app


def run_server(runtime: Runtime) -> None:
    settings = runtime.settings
    try:
        web.run_app(create_app(runtime), host=settings.host, port=settings.port, print=None)
    finally:
        runtime.db.dispose()
