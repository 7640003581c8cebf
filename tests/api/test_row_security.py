"""PostgreSQL row-level security, the second lock of tenant isolation: inside the API's
tenant-scoped transaction even a query with no tenant filter sees only that tenant."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hablo.api.scope import ROW_SECURITY, RowSecurity, TenantScope, run_scoped
from hablo.api.server import BRIDGE, RUNTIME
from hablo.bootstrap import Runtime, bootstrap
from hablo.db.enums import Role
from hablo.db.models import (
    OneTimeCode,
    RefreshToken,
    Service,
    StaffNotification,
    Tenant,
    User,
)
from hablo.db.staff_events import record_channel_disconnected
from hablo.demo import seed_salon
from hablo.engine.bridge import LoopBridge
from hablo.notify.staff_notifications import list_since
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


def _user_with_session_and_code(session: Session, tenant_id: uuid.UUID) -> uuid.UUID:
    user = User(
        tenant_id=tenant_id,
        email=f"u.{uuid.uuid4().hex[:8]}@rls.test",
        first_name="U",
        password_hash="!",
        role=Role.AGENT,
    )
    session.add(user)
    session.flush()
    expires = datetime.now(UTC) + timedelta(days=1)
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=uuid.uuid4(),
            token_hash=uuid.uuid4().hex,
            expires_at=expires,
        )
    )
    session.add(
        OneTimeCode(user_id=user.id, purpose="login", code_hash="x" * 64, expires_at=expires)
    )
    return user.id


def test_sessions_and_codes_of_another_tenant_are_invisible(pg_runtime: Runtime) -> None:
    with pg_runtime.db.transaction() as session:
        mine = seed_salon(session, "mine", "Mine")
        theirs = seed_salon(session, "theirs", "Theirs")
        my_user = _user_with_session_and_code(session, mine)
        their_user = _user_with_session_and_code(session, theirs)

    def unfiltered(scope: TenantScope) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
        tokens = set(scope.session.scalars(select(RefreshToken.user_id)))  # no WHERE on purpose
        codes = set(scope.session.scalars(select(OneTimeCode.user_id)))
        return tokens, codes

    assert scoped(pg_runtime, mine, unfiltered) == ({my_user}, {my_user})

    def revoke_everything(scope: TenantScope) -> None:
        scope.session.execute(
            update(RefreshToken).values(revoked_at=datetime.now(UTC))
        )  # no WHERE on purpose
        scope.session.execute(delete(OneTimeCode))

    scoped(pg_runtime, mine, revoke_everything)
    with pg_runtime.db.transaction() as session:
        live = set(
            session.scalars(select(RefreshToken.user_id).where(RefreshToken.revoked_at.is_(None)))
        )
        assert live == {their_user}
        assert set(session.scalars(select(OneTimeCode.user_id))) == {their_user}

    def smuggle(scope: TenantScope) -> None:
        scope.session.add(
            OneTimeCode(
                user_id=their_user,
                purpose="password_reset",
                code_hash="y" * 64,
                expires_at=datetime.now(UTC) + timedelta(hours=1),
            )
        )
        scope.session.flush()

    with pytest.raises(DBAPIError, match="row-level security"):
        scoped(pg_runtime, mine, smuggle)


def test_staff_notifications_of_another_tenant_are_invisible(pg_runtime: Runtime) -> None:
    with pg_runtime.db.transaction() as session:
        mine = seed_salon(session, "mine", "Mine")
        theirs = seed_salon(session, "theirs", "Theirs")
    for tenant_id in (mine, theirs):
        with pg_runtime.db.begin() as conn:
            record_channel_disconnected(conn, tenant_id, "whatsapp_web", "s1", "logged out")

    def unfiltered(scope: TenantScope) -> tuple[set[uuid.UUID], list[str]]:
        owners = set(scope.session.scalars(select(StaffNotification.tenant_id)))  # no WHERE
        seen = [n.summary for n in list_since(scope.session.connection(), theirs)]
        return owners, seen

    assert scoped(pg_runtime, mine, unfiltered) == ({mine}, [])

    def forge(scope: TenantScope) -> None:
        record_channel_disconnected(scope.session.connection(), theirs, "sms", "s2", "forged")

    with pytest.raises(DBAPIError, match="row-level security"):
        scoped(pg_runtime, mine, forge)
