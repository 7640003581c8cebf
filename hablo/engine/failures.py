"""Why a turn failed: an outage that goes away (retry, with backoff) or something that
will fail the same way every time (bad data, a bug: quarantine after a few attempts)."""

from __future__ import annotations

import psycopg
import sqlalchemy.exc

# Connection lost, database down, lock or statement timeout, deadlock, serialization
# failure, SQLite "database is locked", an exhausted pool: the same turn can succeed later.
_TRANSIENT: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.DisconnectionError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, _TRANSIENT)


def describe(exc: BaseException, limit: int = 400) -> str:
    """One line for the inbox row and the API: the type and the first line of the message."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"[:limit]


def backoff(base_s: float, cap_s: float, failures: int) -> float:
    """base, 2 base, 4 base, ... never more than cap."""
    return min(cap_s, base_s * 2 ** max(0, min(failures - 1, 30)))
