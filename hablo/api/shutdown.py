"""`hablo serve` until SIGTERM (or Ctrl+C), then a drain bounded by a grace period.

1. /readyz answers 503 for `shutdown_announce_s` while everything is still served, so a
   load balancer takes this process out before its listener closes.
2. The listener closes; requests in flight get up to half of what is left of the grace
   period, then the app's clean-up stops the engine: the actors end the turn they are
   in (one transaction each; messages not started stay pending in the inbox) and the
   outbox sends what is queued.
3. Past `shutdown_grace_s` from the signal, the watchdog ends the process anyway.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from aiohttp import web

from hablo.api.health import READINESS
from hablo.api.middleware import HTTP_PARSER_LIMITS
from hablo.config import Settings
from hablo.engine.grace import GraceWatchdog

log = logging.getLogger(__name__)


class ListenError(Exception):
    """The address is taken or not ours: one line for the CLI."""


async def serve_until_signalled(app: web.Application, settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, signalled.set)
    runner = web.AppRunner(
        app,
        shutdown_timeout=_request_drain_s(settings),
        handle_signals=False,
        max_line_size=HTTP_PARSER_LIMITS["max_line_size"],
        max_field_size=HTTP_PARSER_LIMITS["max_field_size"],
    )
    await runner.setup()  # the app's cleanup_ctx starts the engine here
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ListenError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
        ) from exc
    await signalled.wait()
    await _drain(app, runner, settings)


async def _drain(app: web.Application, runner: web.AppRunner, settings: Settings) -> None:
    began = time.monotonic()
    watchdog = GraceWatchdog(settings.shutdown_grace_s, "hablo serve").start()
    log.info(
        "shutting down: /readyz answers 503 for %g s, then a drain of up to %g s",
        settings.shutdown_announce_s,
        settings.shutdown_grace_s,
    )
    app[READINESS].draining = True
    try:
        await asyncio.sleep(settings.shutdown_announce_s)
        await runner.cleanup()  # listener, requests in flight, then the engine and outbox
    finally:
        watchdog.cancel()
    log.info("stopped after a drain of %.1f s", time.monotonic() - began)


def _request_drain_s(settings: Settings) -> float:
    """How long requests in flight may run once the listener closed: half of the grace
    left after the announcement; the engine's stop and the outbox get the rest."""
    return max(0.5, (settings.shutdown_grace_s - settings.shutdown_announce_s) / 2)
