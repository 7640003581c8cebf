"""Shared fixtures: real databases (SQLite and PostgreSQL), a built runtime, fakes.

PostgreSQL tests use HABLO_TEST_DATABASE_URL (set by .ci/run); without it they are
skipped locally, never silently passed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from hablo.bootstrap import Runtime, bootstrap
from hablo.config import Settings
from hablo.db import migrate
from hablo.db.base import Base
from hablo.demo import seed_demo

PG_ENV = "HABLO_TEST_DATABASE_URL"
# Generated keys (secrets at rest, token signing) for the whole test session, outside the repo.
TEST_STATE_DIR = Path(tempfile.gettempdir()) / f"hablo-test-state-{os.getpid()}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied per test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private database per test session on the server named by HABLO_TEST_DATABASE_URL,
    so several test runs (or xdist workers) on one server never see each other's rows."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    name = f"hablo_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated database URL: each test runs on both backends."""
    if request.param == "sqlite":
        path = tmp_path / "hablo.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


def make_settings(db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": db_url,
        "outbox_backoff_base_s": 0.05,
        "outbox_backoff_max_s": 0.2,
        "turn_retry_delay_s": 0.1,
        "state_dir": TEST_STATE_DIR,
        # Tests expect their skills' intents from the first message: train before replying.
        "nlu_train_in_background": False,
        # The provider fakes and test mail servers listen on 127.0.0.1.
        "allow_private_urls": True,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture
def runtime(db_url: str) -> Iterator[Runtime]:
    """A bootstrapped (not started) runtime with the demo tenant seeded."""
    rt = bootstrap(make_settings(db_url), upgrade_schema=False)
    with rt.db.transaction() as session:
        seed_demo(session)
    yield rt
    rt.close()


@pytest.fixture
def demo_tenant_id(runtime: Runtime) -> uuid.UUID:
    from sqlalchemy import select

    from hablo.db.models import Tenant

    with runtime.db.transaction() as session:
        return session.scalars(select(Tenant.id).where(Tenant.slug == "demo")).one()
