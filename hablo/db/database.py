"""The one Database object a runtime owns: engine, session factory, dialect quirks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from hablo.db.cancellation import Cancellation
from hablo.db.timeouts import DbTimeouts, apply_postgres_timeouts, sqlite_busy_timeout_ms


class Database:
    """Owns the SQLAlchemy engine. Built by bootstrap; nothing connects at import."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 8,
        echo: bool = False,
        turn_concurrency: int | None = None,
        timeouts: DbTimeouts | None = None,
    ) -> None:
        self.url = url
        self.timeouts = timeouts or DbTimeouts()
        # How many turns may hold a connection at once (the engine's store enforces it);
        # by default all but two of the pool (settings.pool_size states the rule).
        self.turn_concurrency = turn_concurrency or max(1, pool_size - 2)
        self.dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
        self.engine = _make_engine(url, pool_size=pool_size, echo=echo, timeouts=self.timeouts)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self, cancellation: Cancellation | None = None) -> Iterator[Session]:
        """A session inside one transaction: commit on success, roll back on any error.

        With a `cancellation`, another thread may stop the work (a request past its
        deadline): its running statement is interrupted and it never commits."""
        if cancellation is None:
            with self.sessions.begin() as session:
                yield session
            return
        with self.sessions() as session, session.begin():
            raw = session.connection().connection.dbapi_connection
            with cancellation.watching(raw):
                yield session
                cancellation.commit_or_raise()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A Core connection inside one transaction: the engine's hot path (a Session's
        unit of work costs CPU the turn does not need)."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """A connection where each statement commits on its own: for single-statement
        writes on the hot path (no BEGIN/COMMIT round trips)."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    @property
    def supports_row_locks(self) -> bool:
        """SQLite serialises writers with BEGIN IMMEDIATE instead of row locks."""
        return self.dialect == "postgresql"

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str, *, pool_size: int, echo: bool, timeouts: DbTimeouts) -> Engine:
    if url.startswith("postgresql"):
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            # No pre-ping: it costs a round trip per transaction on the hot path; stale
            # connections surface as errors that the actor retries.
            pool_recycle=1800,
            echo=echo,
        )
        apply_postgres_timeouts(engine, timeouts)
        return engine
    kwargs: dict[str, Any] = {"echo": echo, "connect_args": {"check_same_thread": False}}
    if url in ("sqlite://", "sqlite:///:memory:"):
        kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = pool_size
        kwargs["connect_args"]["timeout"] = sqlite_busy_timeout_ms(timeouts) / 1000
    engine = create_engine(url, **kwargs)
    _configure_sqlite(engine, sqlite_busy_timeout_ms(timeouts))
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so writers queue instead of deadlocking.

    pysqlite's own transaction handling defers BEGIN and upgrades read locks to write
    locks mid-transaction, which fails with "database is locked" under concurrency.
    We take control of BEGIN as SQLAlchemy's docs recommend.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
