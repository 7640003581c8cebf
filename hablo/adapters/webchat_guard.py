"""Who may use a tenant's web chat, and how much.

A page on another site can open our WebSocket from a visitor's browser, and every new
visitor becomes a contact and uses the tenant's plan: so the browser's Origin must be
hablo's own or one the tenant listed, and messages, socket openings and never-seen
visitors are rate limited. Requests without an Origin (not from a browser) can claim
any origin anyway: the limits are what holds them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from hablo.tenancy.settings import web_origin

# hit(key, requests, window seconds) -> 0 when within the limit, else seconds to wait.
# The API's rate limiter (in process, or shared through Redis) implements it.
HitCounter = Callable[[str, int, int], Awaitable[int]]
MINUTE = 60


@dataclass(frozen=True)
class WebChatLimits:
    visitor_messages_per_minute: int = 20
    ip_messages_per_minute: int = 300
    ip_connections_per_minute: int = 120
    new_visitors_per_minute: int = 20  # per tenant


class Refused(Exception):
    """What to answer instead: HTTP status, error code and, for 429, Retry-After."""

    def __init__(self, status: int, code: str, message: str, retry_after_s: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s


def origin_allowed(
    origin: str | None, host: str, own_origins: frozenset[str], allowed: frozenset[str]
) -> bool:
    """hablo's own page (the Host the browser connected to, or the public URL) always
    may; another site only when the tenant listed it."""
    if origin is None:
        return True
    try:
        normalized = web_origin(origin)
    except ValueError:
        return False  # "null" (sandboxed frames, files) and anything malformed
    if urlsplit(normalized).netloc == host.lower() or normalized in own_origins:
        return True
    return normalized in allowed


class WebChatGuard:
    def __init__(self, hit: HitCounter, limits: WebChatLimits) -> None:
        self._hit = hit
        self.limits = limits

    async def on_open(self, ip: str) -> None:
        """Every socket opening counts against its IP, before anything else is looked up."""
        limit = self.limits.ip_connections_per_minute
        wait = await self._hit(f"webchat:connect:{ip}", limit, MINUTE)
        if wait:
            raise Refused(429, "rate_limited", f"too many connections; retry in {wait} s", wait)

    async def on_new_visitor(self, tenant_id: uuid.UUID) -> None:
        """A visitor the tenant has never talked to (it would become a new contact)."""
        limit = self.limits.new_visitors_per_minute
        wait = await self._hit(f"webchat:new:{tenant_id}", limit, MINUTE)
        if wait:
            raise Refused(429, "rate_limited", f"too many new visitors; retry in {wait} s", wait)

    async def on_message(self, tenant_id: uuid.UUID, visitor: str, ip: str) -> int:
        """0 when the message may go to the engine, else seconds to wait."""
        by_visitor = await self._hit(
            f"webchat:msg:{tenant_id}:{visitor}", self.limits.visitor_messages_per_minute, MINUTE
        )
        by_ip = await self._hit(f"webchat:msg-ip:{ip}", self.limits.ip_messages_per_minute, MINUTE)
        return max(by_visitor, by_ip)
