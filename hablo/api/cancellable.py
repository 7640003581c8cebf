"""Database work an API request may abandon: past the request's deadline (503) the work
is cancelled, its statement interrupted, and nothing of it commits (hablo.db.cancellation)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from hablo.db.cancellation import Cancellation
from hablo.engine.bridge import LoopBridge

T = TypeVar("T")


async def call_cancellable(bridge: LoopBridge, work: Callable[[Cancellation], T]) -> T:
    """Run `work` on the bridge's threads; when the awaiting task is cancelled (the
    deadline's asyncio timeout), cancel the work too, unless its commit already began:
    then its result is the answer, since it is saved anyway."""
    cancellation = Cancellation()
    future = asyncio.ensure_future(bridge.call(work, cancellation))
    # A cancelled work's error (WorkCancelled, the interrupted statement's) has no reader.
    future.add_done_callback(lambda done: done.cancelled() or done.exception())
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        if not cancellation.cancel():
            return await future
        # Interrupting a PostgreSQL statement is blocking I/O: not on the loop, and not
        # on the bridge's threads, which may all be busy with the work being cancelled.
        threading.Thread(target=cancellation.interrupt, name="hablo-cancel", daemon=True).start()
        raise
