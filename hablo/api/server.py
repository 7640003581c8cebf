"""The HTTP server: app factory, lifecycle (engine start/stop), web chat and health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from hablo import __version__
from hablo.adapters.email.channel import EmailChannel
from hablo.adapters.twilio import TwilioSender, TwilioWebhook
from hablo.adapters.webchat import WebChatHub, WebChatSender
from hablo.adapters.whatsapp_cloud import (
    WhatsAppCloudSender,
    WhatsAppCloudWebhook,
    last_customer_message,
)
from hablo.adapters.whatsapp_web.registry import WhatsAppWebSessions
from hablo.adapters.whatsapp_web.sender import WhatsAppWebSender
from hablo.api.app_keys import BRIDGE, RUNTIME
from hablo.api.endpoints import DEADLINE, Endpoint, mount
from hablo.api.errors import error_middleware
from hablo.api.health import READINESS, Readiness, healthz, readyz
from hablo.api.metrics import count_requests, metrics
from hablo.api.middleware import (
    PRINCIPAL_CHECK,
    TOKENS,
    PrincipalCheck,
    cors_middleware,
    echo_request_id,
    hide_server_version,
    identity,
    request_id,
    security_headers,
    url_length_limit,
)
from hablo.api.openapi import build_document, docs_page
from hablo.api.proxies import forwarded_middleware
from hablo.api.ratelimit import RATE_LIMITER, build_rate_limiter, close_rate_limiter, rate_limit
from hablo.api.routes import all_routes
from hablo.api.routes.auth import MAILER
from hablo.api.routes.whatsapp_web import SESSIONS as WHATSAPP_WEB_SESSIONS
from hablo.api.scope import ROW_SECURITY, RowSecurity
from hablo.api.shutdown import serve_until_signalled
from hablo.api.webchat_setup import build_webchat
from hablo.bootstrap import Runtime
from hablo.console import setup_console
from hablo.engine.bridge import LoopBridge
from hablo.engine.heap import settle_heap
from hablo.notify import build_mailer
from hablo.security.csp import html_page
from hablo.security.principal import Principal
from hablo.security.sessions import principal_is_current
from hablo.security.tokens import SigningKeys, TokenService
from hablo.worker.tier import EdgeTier

ENDPOINTS = web.AppKey("endpoints", list[Endpoint])


def create_app(runtime: Runtime, *, manage_engine: bool = True) -> web.Application:
    """Build the app. With `manage_engine`, the app starts and stops the engine."""
    settings = runtime.settings
    app = web.Application(
        middlewares=[
            request_id,  # first: every line logged below it names the request
            count_requests,
            forwarded_middleware(settings.trusted_proxies),
            security_headers,
            error_middleware,
            url_length_limit,
            cors_middleware(settings.cors_origins),
            identity,
            rate_limit,
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[RUNTIME] = runtime
    app[TOKENS] = token_service(runtime)
    app[PRINCIPAL_CHECK] = principal_check(app)
    app[RATE_LIMITER] = build_rate_limiter(
        settings.redis_url,
        settings.redis_prefix,
        ip_per_minute=settings.rate_limit_ip_per_minute,
        user_per_minute=settings.rate_limit_user_per_minute,
    )
    app[MAILER] = build_mailer(settings)
    app[DEADLINE] = settings.request_timeout_s
    app[ROW_SECURITY] = RowSecurity()
    app[ENDPOINTS] = mount(app, all_routes())
    hub = WebChatHub()
    webchat = build_webchat(runtime, hub, app[RATE_LIMITER])
    serve_webchat = "webchat" in runtime.settings.channels
    if serve_webchat:
        app.router.add_routes(webchat.routes())
    whatsapp = WhatsAppCloudWebhook(
        runtime.engine, runtime.accounts, runtime.settings.whatsapp_verify_token
    )
    serve_whatsapp = "whatsapp_cloud" in runtime.settings.channels
    if serve_whatsapp:
        app.router.add_routes(whatsapp.routes())
    # router = "redis": this process is the edge of the worker tier (docs/scaling.md).
    tier = EdgeTier(runtime) if settings.router == "redis" else None
    app[READINESS] = Readiness(runtime, tier.redis if tier else None)
    twilio_channels = [
        c for c in ("twilio_sms", "twilio_whatsapp") if c in runtime.settings.channels
    ]
    twilio = TwilioWebhook(
        runtime.engine, runtime.accounts, runtime.settings.public_url, twilio_channels
    )
    if twilio_channels:
        app.router.add_routes(twilio.routes())

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        bridge = LoopBridge(asyncio.get_running_loop())
        app[BRIDGE] = bridge
        webchat.attach(bridge)
        if serve_webchat:
            local = WebChatSender(hub, bridge)
            runtime.engine.add_sender(tier.webchat_sender() if tier else local)
        whatsapp.attach(bridge)
        if serve_whatsapp:
            runtime.engine.add_sender(
                WhatsAppCloudSender(
                    runtime.accounts,
                    last_customer_message(runtime.engine),
                    api_base=settings.whatsapp_cloud_api_base,
                    allow_private_urls=settings.allow_private_urls,
                )
            )
        twilio.attach(bridge)
        for channel in twilio_channels:
            runtime.engine.add_sender(
                TwilioSender(
                    channel,
                    runtime.accounts,
                    settings.public_url,
                    api_base=settings.twilio_api_base,
                    allow_private_urls=settings.allow_private_urls,
                )
            )
        web_sessions = None
        if "whatsapp_web" in runtime.settings.channels:
            web_sessions = await bridge.call(lambda: start_whatsapp_web(runtime))
            app[WHATSAPP_WEB_SESSIONS] = web_sessions
        email = EmailChannel(runtime) if "email" in runtime.settings.channels else None
        if tier is not None:
            tier.start_relay(hub)
            tier.before_engine_start()
        if manage_engine:
            await bridge.call(runtime.engine.start)
        if tier is not None:
            await bridge.call(tier.after_engine_start)
        if email is not None:
            await bridge.call(email.start)
        yield
        if tier is not None:
            await bridge.call(tier.before_engine_stop)
        if email is not None:
            await bridge.call(email.stop)
        if web_sessions is not None:
            await bridge.call(web_sessions.stop)  # closes the browsers; profiles stay
        if manage_engine:
            await bridge.call(runtime.engine.stop)
        if tier is not None:
            await tier.stop_relay()
            tier.close()
        bridge.close()

    async def close_chats(app: web.Application) -> None:
        await hub.close_all()

    app.cleanup_ctx.append(lifecycle)
    app.on_response_prepare.append(hide_server_version)
    app.on_response_prepare.append(echo_request_id)
    app.on_cleanup.append(close_rate_limiter)
    # Open chat sockets would otherwise hold graceful shutdown for its full timeout.
    app.on_shutdown.append(close_chats)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/docs", docs)
    app.router.add_get("/.well-known/jwks.json", jwks)
    setup_console(app)
    return app


def start_whatsapp_web(runtime: Runtime) -> WhatsAppWebSessions:
    """Playwright on its own loop, a session per tenant with an enabled account, the sender."""
    sessions = WhatsAppWebSessions(runtime)
    sessions.start()
    sessions.resume()
    runtime.engine.add_sender(WhatsAppWebSender(sessions))
    return sessions


def token_service(runtime: Runtime) -> TokenService:
    settings = runtime.settings
    folder = settings.jwt_keys_dir
    keys = (
        SigningKeys.load(folder)
        if folder
        else SigningKeys.load_or_create(settings.state_dir / "jwt")
    )
    return TokenService(keys, issuer=settings.jwt_issuer, access_ttl_s=settings.access_token_ttl_s)


def principal_check(app: web.Application) -> PrincipalCheck:
    """Refuse access tokens of revoked sessions and of users no longer active."""

    async def check(principal: Principal) -> bool:
        runtime = app[RUNTIME]

        def probe() -> bool:
            with runtime.db.autocommit() as conn:
                return principal_is_current(conn, principal)

        return await app[BRIDGE].call(probe)

    return check


async def openapi_json(request: web.Request) -> web.Response:
    document = build_document(request.app[ENDPOINTS], version=__version__)
    return web.json_response(document)


async def docs(request: web.Request) -> web.Response:
    return html_page(request, docs_page())


async def jwks(request: web.Request) -> web.Response:
    return web.json_response(request.app[TOKENS].jwks())


def run_server(runtime: Runtime) -> None:
    """Serve until SIGTERM or Ctrl+C, then drain within the grace period (api/shutdown.py)."""
    settle_heap()
    try:
        asyncio.run(serve_until_signalled(create_app(runtime), runtime.settings))
    finally:
        runtime.db.dispose()
