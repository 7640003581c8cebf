"""The web chat as the server mounts it: its guard counts in the API's rate limiter (so
the counts are shared through Redis when configured) with the webchat_* settings."""

from __future__ import annotations

from urllib.parse import urlsplit

from hablo.adapters.webchat import WebChat, WebChatHub
from hablo.adapters.webchat_guard import HitCounter, WebChatGuard, WebChatLimits
from hablo.api.ratelimit import Limit, RateLimiter
from hablo.bootstrap import Runtime
from hablo.tenancy.settings import web_origin


def hit_counter(limiter: RateLimiter) -> HitCounter:
    async def hit(key: str, requests: int, window_s: int) -> int:
        verdict = await limiter.check(key, Limit(requests, window_s))
        return 0 if verdict.allowed else verdict.retry_after_s

    return hit


def own_origins(public_url: str) -> frozenset[str]:
    """hablo's public origin (the page at /chat/{slug} is served from it)."""
    parts = urlsplit(public_url)
    try:
        return frozenset({web_origin(f"{parts.scheme}://{parts.netloc}")})
    except ValueError:
        return frozenset()


def build_webchat(runtime: Runtime, hub: WebChatHub, limiter: RateLimiter) -> WebChat:
    settings = runtime.settings
    limits = WebChatLimits(
        visitor_messages_per_minute=settings.webchat_messages_per_visitor_per_minute,
        ip_messages_per_minute=settings.webchat_messages_per_ip_per_minute,
        ip_connections_per_minute=settings.webchat_connections_per_ip_per_minute,
        new_visitors_per_minute=settings.webchat_new_visitors_per_minute,
    )
    guard = WebChatGuard(hit_counter(limiter), limits)
    return WebChat(runtime.engine, hub, guard, own_origins(settings.public_url))
