"""Database time limits (issue 17, item 5): every pooled connection carries a statement
and a lock timeout from settings, and an API request past its deadline cancels its
database work: the caller gets 503 and nothing of that work is committed, ever."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import psycopg
import pytest
from aiohttp import web
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hablo.api.cancellable import call_cancellable
from hablo.api.endpoints import ApiRoutes, Call, mount
from hablo.api.server import create_app
from hablo.bootstrap import Runtime, bootstrap
from hablo.db import migrate
from hablo.db.cancellation import Cancellation, WorkCancelled
from hablo.db.database import Database
from hablo.db.models import AuditLog
from hablo.db.timeouts import DbTimeouts
from hablo.engine.bridge import LoopBridge
from tests.conftest import make_settings
from tests.e2e.server import wait_until

WAIT_S = 60.0
DEADLINE_S = 1.0
# Statements that run far past the deadline unless interrupted (minutes, not forever).
SLOW_SQL = {
    "postgresql": "SELECT pg_sleep(600)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
    " WHERE x < 5000000000) SELECT count(*) FROM c",
}


def _marks(db: Database, action: str) -> int:
    with db.transaction() as session:
        query = select(func.count()).select_from(AuditLog).where(AuditLog.action == action)
        return int(session.scalar(query) or 0)


def _mark(session: Session, action: str) -> None:
    session.add(AuditLog(action=action, entity="probe", changes={}))
    session.flush()


# -- limits on every connection ---------------------------------------------------------------


def test_postgres_connections_carry_statement_and_lock_timeouts(postgres_url: str) -> None:
    db = Database(postgres_url, pool_size=2, timeouts=DbTimeouts(statement_s=0.5, lock_s=0.25))
    holder = create_engine(postgres_url)  # no limits: it holds the lock
    try:
        with db.begin() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "500ms"
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "250ms"
        with db.autocommit() as conn:  # the hot path's single statements too
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "500ms"

        with pytest.raises(OperationalError) as slow, db.begin() as conn:
            conn.execute(text("SELECT pg_sleep(60)"))
        assert isinstance(slow.value.orig, psycopg.errors.QueryCanceled)

        with holder.connect() as other:
            other.execute(text("SELECT pg_advisory_lock(417017)"))
            with pytest.raises(OperationalError) as waited, db.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(417017)"))
            other.execute(text("SELECT pg_advisory_unlock(417017)"))
        assert isinstance(waited.value.orig, psycopg.errors.LockNotAvailable)
    finally:
        db.dispose()
        holder.dispose()


def test_zero_switches_a_postgres_limit_off(postgres_url: str) -> None:
    db = Database(postgres_url, pool_size=1, timeouts=DbTimeouts(statement_s=0, lock_s=0))
    try:
        with db.begin() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "0"
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "0"
    finally:
        db.dispose()


def test_sqlite_writers_queue_up_to_the_statement_limit(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'limits.db'}"
    for timeouts, expected in ((DbTimeouts(statement_s=2.5), 2500), (DbTimeouts(0), 3_600_000)):
        db = Database(url, pool_size=1, timeouts=timeouts)
        try:
            with db.begin() as conn:
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == expected
        finally:
            db.dispose()


def test_settings_reach_the_runtime_database(db_url: str) -> None:
    runtime = bootstrap(
        make_settings(db_url, db_statement_timeout_s=7, db_lock_timeout_s=3),
        upgrade_schema=False,
    )
    try:
        assert runtime.db.timeouts == DbTimeouts(statement_s=7, lock_s=3)
    finally:
        runtime.close()


# -- a cancellable transaction ----------------------------------------------------------------


def test_cancelled_transaction_commits_nothing(db_url: str) -> None:
    db = Database(db_url, pool_size=2)
    try:
        action = f"cancel-{uuid.uuid4().hex[:8]}"
        cancellation = Cancellation()
        with pytest.raises(WorkCancelled), db.transaction(cancellation) as session:
            _mark(session, action)
            assert cancellation.cancel()
        assert _marks(db, action) == 0

        late = Cancellation()  # cancelled before the work even started
        late.cancel()
        with pytest.raises(WorkCancelled), db.transaction(late) as session:
            _mark(session, action)
        assert _marks(db, action) == 0

        kept = Cancellation()
        with db.transaction(kept) as session:
            _mark(session, action)
        # Once the commit began, a cancel is refused: the work is saved, not a failure.
        assert not kept.cancel()
        assert _marks(db, action) == 1
    finally:
        db.dispose()


# -- the API's deadline -----------------------------------------------------------------------


def slow_write_routes(action: str, slow_sql: str) -> ApiRoutes:
    """A probe operation: writes a row, then runs a statement longer than the deadline
    (?quick skips it, the control case)."""
    routes = ApiRoutes("probe")

    @routes.post("/api/probe/slow-write", None, summary="Write a row, then wait")
    async def slow_write(call: Call[None, None]) -> None:
        def work(session: Session) -> None:
            _mark(session, action)
            if call.request.headers.get("X-Probe") != "quick":
                session.execute(text(f"{slow_sql} -- {action}"))

        await call.db_global(work)

    return routes


@pytest.fixture
def slow_runtime(db_url: str) -> Iterator[Runtime]:
    # No statement limit: only the deadline's cancellation can stop the slow statement.
    settings = make_settings(db_url, request_timeout_s=DEADLINE_S, db_statement_timeout_s=0)
    runtime = bootstrap(settings, upgrade_schema=False)
    yield runtime
    runtime.close()


async def _post_slow_write(runtime: Runtime, action: str, **headers: str) -> int:
    app = create_app(runtime, manage_engine=False)
    mount(app, [slow_write_routes(action, SLOW_SQL[runtime.db.dialect])])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/api/probe/slow-write"
            async with http.post(url, headers=headers, timeout=WAIT_S) as response:
                if response.status == 503:
                    assert (await response.json())["error"]["code"] == "timeout"
                return response.status
    finally:
        await runner.cleanup()


def _slow_statement_running(runtime: Runtime, action: str) -> bool:
    if runtime.db.dialect == "postgresql":
        with runtime.db.autocommit() as conn:
            running = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE query LIKE :q AND pid <> pg_backend_pid()"
                ),
                {"q": f"%-- {action}"},
            ).scalar()
        return bool(running)
    # SQLite: the slow transaction holds the one write lock; a write gets through only
    # once it was interrupted and rolled back.
    try:
        with runtime.db.transaction() as session:
            _mark(session, f"{action}-after")
    except OperationalError:
        return True
    return False


def test_request_past_its_deadline_commits_nothing(slow_runtime: Runtime) -> None:
    action = f"deadline-{uuid.uuid4().hex[:8]}"
    assert asyncio.run(_post_slow_write(slow_runtime, action)) == 503
    wait_until(
        lambda: not _slow_statement_running(slow_runtime, action),
        timeout=WAIT_S,
        what="the slow statement to be interrupted",
    )
    assert _marks(slow_runtime.db, action) == 0  # written before the slow statement, undone

    quick = f"quick-{uuid.uuid4().hex[:8]}"  # control: the same work within the deadline
    assert asyncio.run(_post_slow_write(slow_runtime, quick, **{"X-Probe": "quick"})) == 204
    assert _marks(slow_runtime.db, quick) == 1


def test_migrations_run_with_their_own_limits(postgres_url: str) -> None:
    """A limit no migration can meet (1 ms) stops it: the limits reach Alembic's
    connection. The test databases migrate without limits (conftest), like `upgrade()`."""
    name = f"hablo_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        with pytest.raises(OperationalError) as stopped:
            migrate.upgrade(url, timeouts=DbTimeouts(statement_s=0.001, lock_s=0.001))
        assert isinstance(stopped.value.orig, psycopg.errors.QueryCanceled)
        migrate.upgrade(url, timeouts=DbTimeouts(statement_s=600, lock_s=600))
        assert migrate.current_revision(url) == migrate.head_from_files()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _race_deadline(commit_first: bool) -> tuple[object, list[str]]:
    """A work that waits past a 0.2 s deadline, having begun its commit or not."""
    outcome: list[str] = []
    release = threading.Event()

    def work(cancellation: Cancellation) -> int:
        if commit_first:
            cancellation.commit_or_raise()
        release.wait(WAIT_S)
        try:
            cancellation.commit_or_raise()
        except WorkCancelled:
            outcome.append("cancelled")
            raise
        outcome.append("committed")
        return 42

    async def main() -> object:
        bridge = LoopBridge(asyncio.get_running_loop())
        timer = threading.Timer(3.0, release.set)  # well after the deadline
        timer.start()
        try:
            return await asyncio.wait_for(call_cancellable(bridge, work), timeout=0.2)
        except TimeoutError as exc:
            return exc
        finally:
            release.set()
            await asyncio.to_thread(wait_until, lambda: outcome, WAIT_S)
            bridge.close()

    return asyncio.run(main()), outcome


def test_deadline_cancels_work_that_has_not_begun_its_commit() -> None:
    result, outcome = _race_deadline(commit_first=False)
    assert isinstance(result, TimeoutError) and outcome == ["cancelled"]


def test_deadline_waits_for_work_whose_commit_began() -> None:
    result, outcome = _race_deadline(commit_first=True)
    assert result == 42 and outcome == ["committed"]
