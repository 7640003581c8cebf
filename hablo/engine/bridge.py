"""The one bridge between asyncio and the actor threads.

asyncio code never blocks on an actor or the DB: it awaits `call` (a worker thread).
Actor threads never touch the loop directly: they use `run` (wait for a coroutine on the
loop, with a timeout) or `post` (fire and forget).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class LoopBridge:
    def __init__(self, loop: asyncio.AbstractEventLoop, workers: int = 8) -> None:
        self.loop = loop
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hablo-io")

    async def call(self, func: Callable[..., T], *args: Any) -> T:
        """Run blocking work (DB, Engine.submit) off the loop and await its result, in a
        copy of the caller's context (its log lines keep the request's id)."""
        context = contextvars.copy_context()
        return await self.loop.run_in_executor(self._executor, context.run, func, *args)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """From a non-loop thread: run a coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def post(self, callback: Callable[..., Any], *args: Any) -> None:
        self.loop.call_soon_threadsafe(callback, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
