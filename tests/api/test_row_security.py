"""PostgreSQL row-level security, the second lock of tenant isolation: inside the API's
tenant-scoped transaction even a query with no tenant filter sees only that tenant."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from hablo.api.scope import ROW_SECURITY, RowSecurity, TenantScope, run_scoped
from hablo.api.server import BRIDGE, RUNTIME
from hablo.bootstrap import Runtime, bootstrap
from hablo.db.models import Service, Tenant
from hablo.demo import seed_salon
from hablo.engine.bridge import LoopBridge
from tests.conftest import make_settings


@pytest.fixture
def pg_runtime(postgres_url: str, db_url: str) -> Iterator[Runtime]:
    if not db_url.startswith("postgresql"):
        pytest.skip("row-level security is a PostgreSQL feature")
    runtime = bootstrap(make_settings(db_url), upgrade_schema=False)
    yield runtime
    runtime.db.dispose()


def scoped(runtime: Runtime, tenant_id: uuid.UUID, work):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        app = web.Application()
        app[RUNTIME] = runtime
        app[BRIDGE] = LoopBridge(asyncio.get_running_loop())
        app[ROW_SECURITY] = RowSecurity()
        try:
            return await run_scoped(app, tenant_id, None, None, work)
        finally:
            app[BRIDGE].close()

    return asyncio.run(go())


def test_unfiltered_queries_see_only_the_callers_tenant(pg_runtime: Runtime) -> None:
    with pg_runtime.db.transaction() as session:
        mine = seed_salon(session, "mine", "Mine")
        theirs = seed_salon(session, "theirs", "Theirs")
        session.add(
            Service(tenant_id=theirs, name="Solo de ellos", price_minor=1, duration_minutes=5)
        )

    def unfiltered(scope: TenantScope) -> tuple[set[uuid.UUID], int, str]:
        owners = set(scope.session.scalars(select(Service.tenant_id)))  # no WHERE on purpose
        tenants = scope.session.scalar(select(func.count()).select_from(Tenant)) or 0
        role = scope.session.execute(select(func.current_user())).scalar_one()
        return owners, tenants, role

    owners, tenants, role = scoped(pg_runtime, mine, unfiltered)
    assert owners == {mine}
    assert tenants == 1
    assert role == "hablo_api"

    # Outside the API's scope (the engine's own role) both tenants are there.
    with pg_runtime.db.transaction() as session:
        assert set(session.scalars(select(Service.tenant_id))) == {mine, theirs}


def test_writing_into_another_tenant_is_refused_by_the_database(pg_runtime: Runtime) -> None:
    with pg_runtime.db.transaction() as session:
        mine = seed_salon(session, "mine", "Mine")
        theirs = seed_salon(session, "theirs", "Theirs")

    def smuggle(scope: TenantScope) -> None:
        # Bypass scope.add (which would set our tenant) to prove the policy itself holds.
        scope.session.add(
            Service(tenant_id=theirs, name="Intruso", price_minor=1, duration_minutes=5)
        )
        scope.session.flush()

    with pytest.raises(DBAPIError, match="row-level security"):
        scoped(pg_runtime, mine, smuggle)
    with pg_runtime.db.transaction() as session:
        assert session.scalar(select(func.count()).where(Service.name == "Intruso")) == 0
