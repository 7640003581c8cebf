"""Run the real aiohttp app on 127.0.0.1 (ephemeral port) in a thread with its own loop.

Tests talk to it over real sockets, from `asyncio.run()` or from sync Playwright, which
cannot run inside a running event loop: the server's loop must live elsewhere.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from aiohttp import web

from hablo.api.middleware import HTTP_PARSER_LIMITS
from hablo.api.server import create_app
from hablo.bootstrap import Runtime

T = TypeVar("T")


class ServerThread:
    """`start()` returns once the port is bound and the engine started; `stop()` joins."""

    def __init__(self, runtime: Runtime, *, shutdown_timeout: float = 10.0) -> None:
        self._runtime = runtime
        self._shutdown_timeout = shutdown_timeout
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="e2e-server", daemon=True)
        self.port = 0
        self.stop_seconds: float | None = None  # how long the graceful shutdown took

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self, timeout: float = 30.0) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise AssertionError(f"server did not start within {timeout}s")
        if self._error is not None:
            raise AssertionError("server failed to start") from self._error
        return self

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"server did not stop within {timeout}s")
        if self._error is not None:
            raise AssertionError("server failed") from self._error

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported by start()/stop() in the test thread
            self._error = exc
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        runner = web.AppRunner(
            create_app(self._runtime),
            shutdown_timeout=self._shutdown_timeout,
            **HTTP_PARSER_LIMITS,
        )
        await runner.setup()  # runs the app's cleanup_ctx: the engine starts here
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = int(runner.addresses[0][1])
            self._ready.set()
            await self._stopping.wait()
        finally:
            began = time.monotonic()
            await runner.cleanup()  # closes sockets, then stops the engine
            self.stop_seconds = time.monotonic() - began


@contextmanager
def serve(runtime: Runtime) -> Iterator[ServerThread]:
    server = ServerThread(runtime).start()
    try:
        yield server
    finally:
        server.stop()


def wait_until(
    probe: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}")
        time.sleep(interval)
