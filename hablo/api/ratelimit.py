"""Rate limits per client IP and per user, stricter on the account endpoints.

Fixed windows counted in Redis (shared by every API process) when `redis_url` is set,
in process memory otherwise. Over the limit the caller gets 429 with Retry-After in the
one error shape. If Redis cannot be reached the request goes through (and a warning is
logged): the limiter protects the API, it must not take it down.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from hablo.api.endpoints import PRINCIPAL_KEY
from hablo.api.problems import ApiError

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Limit:
    requests: int
    window_s: int


# The account endpoints, per client IP: guessing passwords, codes and tokens, and
# sending mail, must stay slow.
STRICT: dict[tuple[str, str], Limit] = {
    ("POST", "/api/auth/login"): Limit(10, 60),
    ("POST", "/api/auth/2fa/verify"): Limit(10, 60),
    ("POST", "/api/auth/refresh"): Limit(60, 60),
    ("POST", "/api/auth/register"): Limit(10, 3600),
    ("POST", "/api/auth/password/forgot"): Limit(5, 900),
    ("POST", "/api/auth/password/reset"): Limit(10, 900),
    ("POST", "/api/auth/password/change"): Limit(10, 900),
}
# Mails to one address, whoever asks for them (checked by the handler).
PER_EMAIL_FORGOT = Limit(3, 900)
MAIL_WINDOW_S = 3600


def tenant_mail_key(kind: str, tenant_id: object) -> str:
    """The counter of one kind of mail a tenant sends to addresses it chooses (invoices,
    invitations); the limit per hour is a setting, checked by the handler."""
    return f"mail:{kind}:{tenant_id}"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int


class Backend(ABC):
    @abstractmethod
    async def hit(self, key: str, limit: Limit) -> Verdict:
        """Count one request against `key`; allowed while within the limit."""

    async def close(self) -> None:
        return None


class InProcessBackend(Backend):
    """Fixed windows in a dict; old windows are dropped as the dict grows."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, limit: Limit) -> Verdict:
        now = self._clock()
        with self._lock:
            started, count = self._windows.get(key, (now, 0))
            if now - started >= limit.window_s:
                started, count = now, 0
            count += 1
            self._windows[key] = (started, count)
            if len(self._windows) > 100_000:
                self._forget_before(now - 3600)
        retry = max(1, math.ceil(started + limit.window_s - now))
        return Verdict(count <= limit.requests, retry)

    def _forget_before(self, moment: float) -> None:
        for key in [k for k, (started, _) in self._windows.items() if started < moment]:
            del self._windows[key]


# One round trip: count, start the window's clock on the first hit, report what is left.
_HIT_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


class RedisBackend(Backend):
    def __init__(self, url: str, prefix: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._redis.register_script(_HIT_SCRIPT)
        self.prefix = prefix

    async def hit(self, key: str, limit: Limit) -> Verdict:
        from redis.exceptions import RedisError

        try:
            count, ttl_ms = await self._script(
                keys=[f"{self.prefix}rl:{limit.window_s}:{key}"], args=[limit.window_s * 1000]
            )
        except (RedisError, OSError) as exc:
            log.warning("rate limiter: Redis unavailable (%s); letting the request through", exc)
            return Verdict(True, 0)
        return Verdict(int(count) <= limit.requests, max(1, math.ceil(int(ttl_ms) / 1000)))

    async def close(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    """`per_ip` / `per_user` apply to anything under /api/ (settings rate_limit_*)."""

    def __init__(
        self, backend: Backend, per_ip: Limit = Limit(1200, 60), per_user: Limit = Limit(600, 60)
    ) -> None:
        self.backend = backend
        self.per_ip = per_ip
        self.per_user = per_user

    async def check(self, key: str, limit: Limit) -> Verdict:
        return await self.backend.hit(key, limit)

    async def enforce(self, key: str, limit: Limit) -> None:
        verdict = await self.check(key, limit)
        if not verdict.allowed:
            raise too_many_requests(verdict.retry_after_s)


def too_many_requests(retry_after_s: int) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        f"too many requests; try again in {retry_after_s} s",
        {"retry_after_s": retry_after_s},
        headers={"Retry-After": str(retry_after_s)},
    )


def build_rate_limiter(
    redis_url: str | None,
    prefix: str = "hablo:",
    *,
    ip_per_minute: int = 1200,
    user_per_minute: int = 600,
) -> RateLimiter:
    backend: Backend = RedisBackend(redis_url, prefix) if redis_url else InProcessBackend()
    return RateLimiter(backend, Limit(ip_per_minute, 60), Limit(user_per_minute, 60))


RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)


@web.middleware
async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Runs after `identity`, so signed-in callers are also counted per user."""
    limiter = request.app.get(RATE_LIMITER)
    if limiter is None or not request.path.startswith("/api/") or request.method == "OPTIONS":
        return await handler(request)
    ip = request.remote or "unknown"
    strict = STRICT.get((request.method, request.path))
    if strict is not None:
        await limiter.enforce(f"ip:{ip}:{request.method}:{request.path}", strict)
    await limiter.enforce(f"ip:{ip}", limiter.per_ip)
    principal = request.get(PRINCIPAL_KEY)
    if principal is not None:
        await limiter.enforce(f"user:{principal.user_id}", limiter.per_user)
    return await handler(request)


async def close_rate_limiter(app: web.Application) -> None:
    limiter = app.get(RATE_LIMITER)
    if limiter is not None:
        await limiter.backend.close()
