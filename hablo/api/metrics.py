"""/metrics in Prometheus' text format, and the middleware that counts API requests.

Counters come from hablo.engine.metrics (bumped in memory on the hot path); the figures
that need the database (outbox depth, dead letters) or the actors (live ones) are read
here, once per scrape. Access: with HABLO_METRICS_TOKEN set, `Authorization: Bearer
<token>`; without it, only clients on private or loopback addresses (the address after
the trusted proxies' forwarding), so a public deployment never shows its numbers.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from hablo.api.app_keys import BRIDGE, RUNTIME
from hablo.bootstrap import Runtime
from hablo.db.enums import OutboxStatus
from hablo.db.models import OutboxMessage
from hablo.engine.metrics import API_REQUESTS, REGISTRY
from hablo.web.errors import json_error

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: sees the final status, also of errors the inner middlewares shaped."""
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        # The route's template ("/api/services/{id}"), never the raw path: bounded labels.
        route = resource.canonical if resource is not None else "unmatched"
        API_REQUESTS.labels(route, request.method, str(status)).inc()


class ScrapeTimeFigures(Collector):
    """Read when scraped: the outbox's depth and dead letters, and the live actors."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._runtime.db.engine.connect() as conn:
            counts = dict(
                conn.execute(
                    select(OutboxMessage.status, func.count())
                    .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.DEAD]))
                    .group_by(OutboxMessage.status)
                ).all()
            )
        yield GaugeMetricFamily(
            "hablo_outbox_pending",
            "Replies committed but not yet sent (all tenants).",
            value=counts.get(OutboxStatus.PENDING, 0),
        )
        yield GaugeMetricFamily(
            "hablo_outbox_dead_letters",
            "Replies given up on after their last attempt (all tenants).",
            value=counts.get(OutboxStatus.DEAD, 0),
        )
        yield GaugeMetricFamily(
            "hablo_live_conversation_actors",
            "Conversation actors alive in this process.",
            value=self._runtime.engine.router.live_conversations(),
        )


def _render(runtime: Runtime) -> bytes:
    scrape = CollectorRegistry()
    scrape.register(ScrapeTimeFigures(runtime))
    return generate_latest(REGISTRY) + generate_latest(scrape)


def _private(remote: str | None) -> bool:
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    return address.is_private or address.is_loopback


async def metrics(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    token = runtime.settings.metrics_token
    if token:
        offered = request.headers.get("Authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            response = json_error(401, "unauthorized", "a metrics bearer token is required")
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not _private(request.remote):
        return json_error(
            403, "forbidden", "metrics are served to private addresses or with a metrics token"
        )
    body = await request.app[BRIDGE].call(_render, runtime)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response
