"""Stopping one transaction's work from another thread.

The API answers 503 when a request passes its deadline, but its database work runs on a
thread that asyncio cannot stop. A `Cancellation` closes that gap: the transaction
watches it, the statement running when it is cancelled is interrupted at the server
(psycopg's cancel, sqlite3's interrupt), and the transaction rolls back instead of
committing. Whichever comes first wins, under one lock: once the commit began, a
cancel is refused and the caller waits for the outcome instead of reporting a failure
for work that was in fact saved.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

log = logging.getLogger(__name__)

# How long interrupting a PostgreSQL statement may take (it opens a cancel connection).
CANCEL_REQUEST_TIMEOUT_S = 5.0


class WorkCancelled(Exception):
    """The work was cancelled before it committed: nothing of it was saved."""


class _State(Enum):
    OPEN = "open"
    CANCELLED = "cancelled"
    COMMITTING = "committing"


class Cancellation:
    """One unit of work's cancel switch. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = _State.OPEN
        self._connections: list[Any] = []

    @property
    def cancelled(self) -> bool:
        return self._state is _State.CANCELLED

    def cancel(self) -> bool:
        """Mark the work cancelled (no I/O: safe on an event loop). False when its commit
        already began: then it will be saved, and its result is the answer."""
        with self._lock:
            if self._state is _State.COMMITTING:
                return False
            self._state = _State.CANCELLED
            return True

    def interrupt(self) -> None:
        """Interrupt the statements the work is running now (blocking network I/O on
        PostgreSQL: call it from a thread). Holds the lock so that a connection is never
        interrupted after it went back to the pool for someone else's work."""
        with self._lock:
            if self._state is not _State.CANCELLED:
                return
            for connection in self._connections:
                _interrupt(connection)

    @contextmanager
    def watching(self, dbapi_connection: Any) -> Iterator[None]:
        """Let `interrupt` reach this connection while the work runs on it."""
        with self._lock:
            if self._state is _State.CANCELLED:
                raise WorkCancelled("cancelled before it started")
            self._connections.append(dbapi_connection)
        try:
            yield
        finally:
            with self._lock:
                self._connections.remove(dbapi_connection)

    def commit_or_raise(self) -> None:
        """Called right before COMMIT: from here on a cancel is refused."""
        with self._lock:
            if self._state is _State.CANCELLED:
                raise WorkCancelled("cancelled before its commit")
            self._state = _State.COMMITTING


def _interrupt(dbapi_connection: Any) -> None:
    try:
        cancel_safe = getattr(dbapi_connection, "cancel_safe", None)
        if cancel_safe is not None:  # psycopg 3
            cancel_safe(timeout=CANCEL_REQUEST_TIMEOUT_S)
        else:  # sqlite3: a no-op when no statement runs
            dbapi_connection.interrupt()
    except Exception:
        # The commit check still stops the work; only the running statement goes on.
        log.warning("could not interrupt a cancelled statement", exc_info=True)
