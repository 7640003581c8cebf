"""A suspended business keeps read access to its data but changes nothing: its staff can
still look things up, export and sign in or out, while the platform decides its fate."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from hablo.api.problems import ApiError
from hablo.api.scope import run_global
from hablo.db.enums import TenantStatus
from hablo.db.models import Tenant
from hablo.security.principal import Principal

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Signing in and out, second factors and passwords are the account's, not the business's.
ALWAYS_OPEN = ("/api/auth/",)


async def refuse_writes_when_suspended(
    request: web.Request, path: str, principal: Principal | None
) -> None:
    if request.method not in WRITES or principal is None or principal.tenant_id is None:
        return
    if path.startswith(ALWAYS_OPEN):
        return
    tenant_id = principal.tenant_id
    status = await run_global(
        request.app, lambda s: s.scalar(select(Tenant.status).where(Tenant.id == tenant_id))
    )
    if status == TenantStatus.SUSPENDED:
        raise ApiError(
            403,
            "tenant_suspended",
            "this business is suspended: its data can be read but not changed; "
            "contact the platform's support to reactivate it",
        )
