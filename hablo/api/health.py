"""Probes for process managers and load balancers.

`/healthz` says the process is alive and its loop answers: no I/O, so a slow database
never gets a healthy process restarted. `/readyz` says it can do its work: the database
answers, its schema is the one this code expects, and with the worker tier (router =
"redis") Redis answers and at least one worker's heartbeat is current. 200 or 503, JSON,
naming each check; failures say what is wrong, never a connection string.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from redis import Redis
from sqlalchemy import text

from hablo.api.app_keys import BRIDGE, RUNTIME
from hablo.bootstrap import Runtime
from hablo.db.migrate import head_from_files
from hablo.worker.leases import live_workers

PROBE_TIMEOUT_S = 5.0


class Readiness:
    """The blocking checks behind /readyz (run on the bridge's executor)."""

    def __init__(self, runtime: Runtime, redis: Redis | None) -> None:
        self._runtime = runtime
        self._redis = redis  # the worker tier's client; None without the tier
        self._head = head_from_files()  # the code's schema: fixed for this process
        # Set when a shutdown begins: a balancer stops sending before the listener closes.
        self.draining = False

    def database(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            with self._runtime.db.engine.connect() as conn:
                found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
                revisions = sorted(found)
        except Exception as exc:
            checks["database"] = f"unreachable ({type(exc).__name__})"
            return checks
        checks["database"] = "ok"
        if self._head is None:  # a merge of branches: Alembic alone can say; not guessed
            checks["migrations"] = "unchecked"
        elif revisions == [self._head]:
            checks["migrations"] = "ok"
        else:
            checks["migrations"] = f"at {','.join(revisions) or 'none'}, code needs {self._head}"
        return checks

    def worker_tier(self) -> dict[str, Any]:
        if self._redis is None:
            return {}
        prefix = self._runtime.settings.redis_prefix
        try:
            workers = live_workers(self._redis, prefix)
        except Exception as exc:
            return {"redis": f"unreachable ({type(exc).__name__})", "workers": "unknown"}
        return {
            "redis": "ok",
            "workers": "ok" if workers else "none alive",
            "live_workers": workers,
        }

    def check(self) -> dict[str, Any]:
        return {**self.database(), **self.worker_tier()}


READINESS = web.AppKey("readiness", Readiness)
_PASSING = {"ok", "unchecked"}


async def healthz(request: web.Request) -> web.Response:
    # Public and unauthenticated: nothing here that helps an attacker (no version, no load);
    # /metrics has the figures, behind its token.
    runtime = request.app[RUNTIME]
    return web.json_response({"status": "ok", "database": runtime.db.dialect})


async def readyz(request: web.Request) -> web.Response:
    if request.app[READINESS].draining:
        return web.json_response(
            {"status": "draining", "failing": ["shutdown"], "checks": {"shutdown": "draining"}},
            status=503,
        )
    try:
        checks = await asyncio.wait_for(
            request.app[BRIDGE].call(request.app[READINESS].check), PROBE_TIMEOUT_S
        )
    except TimeoutError:
        checks = {"database": f"no answer in {PROBE_TIMEOUT_S:g} s"}
    failing = [
        name for name, value in checks.items() if name != "live_workers" and value not in _PASSING
    ]
    return web.json_response(
        {"status": "not_ready" if failing else "ready", "failing": failing, "checks": checks},
        status=503 if failing else 200,
    )
