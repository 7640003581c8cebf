"""Per-connection time limits: no statement runs, and no lock is waited for, forever.

PostgreSQL gets `statement_timeout` and `lock_timeout` as session settings when a pooled
connection is opened (once per connection, not per transaction). SQLite has one writer
at a time and no statement timeout: its busy timeout (how long a writer queues for the
database lock) takes the statement limit, since on SQLite that wait is the queue itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

# SQLite with no statement limit still needs a finite busy timeout (0 would fail at once).
_SQLITE_UNLIMITED_BUSY_MS = 3_600_000


@dataclass(frozen=True)
class DbTimeouts:
    """Seconds; 0 switches a limit off."""

    statement_s: float = 15.0
    lock_s: float = 5.0

    def postgres_settings(self) -> dict[str, str]:
        return {
            "statement_timeout": f"{round(self.statement_s * 1000)}ms",
            "lock_timeout": f"{round(self.lock_s * 1000)}ms",
        }


def apply_postgres_timeouts(engine: Engine, timeouts: DbTimeouts) -> None:
    """Set the limits on every new connection of `engine` (session level: they hold for
    every transaction on it, SET LOCAL may still change them for one)."""
    statements = [f"SET {name} = '{value}'" for name, value in timeouts.postgres_settings().items()]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Outside a transaction, so that the settings outlive it.
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        try:
            with dbapi_conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            dbapi_conn.autocommit = autocommit


def sqlite_busy_timeout_ms(timeouts: DbTimeouts) -> int:
    if timeouts.statement_s <= 0:
        return _SQLITE_UNLIMITED_BUSY_MS
    return max(1, round(timeouts.statement_s * 1000))
