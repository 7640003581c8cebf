"""Where the management API's blocking calls to tenants' skill servers run (a manifest
fetched at registration, a config check): a few threads of their own, not the event
loop's default executor, and at most `per_tenant` at once for one tenant. A tenant
pointing hablo at slow servers then waits for itself only (each call is also bounded by
the remote call's deadline); every other tenant's registrations, and everything else
that uses the default executor, go on."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
WORKERS = 4
PER_TENANT = 2


class LaneBusy(Exception):
    """This tenant already has its share of calls to skill servers under way."""


class RemoteCallLane:
    def __init__(self, workers: int = WORKERS, per_tenant: int = PER_TENANT) -> None:
        # Threads start on the first call, not here (nothing runs at import time).
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="remote-skill-call")
        self._per_tenant = per_tenant
        self._busy: dict[uuid.UUID, int] = {}
        self._lock = threading.Lock()

    async def run(self, tenant_id: uuid.UUID, work: Callable[[], T]) -> T:
        with self._lock:
            if self._busy.get(tenant_id, 0) >= self._per_tenant:
                raise LaneBusy(
                    f"{self._per_tenant} calls to skill servers are already under way "
                    "for this business; try again when they finish"
                )
            self._busy[tenant_id] = self._busy.get(tenant_id, 0) + 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work)
        finally:
            with self._lock:
                left = self._busy[tenant_id] - 1
                if left:
                    self._busy[tenant_id] = left
                else:
                    del self._busy[tenant_id]


LANE = RemoteCallLane()
