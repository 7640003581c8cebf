"""Whether a tenant's bot may answer now (suspended, or out of monthly messages), decided
at most once per GATE_TTL_S per tenant and process. The engine's plan gate asks it before
every turn; the usage recount and `Engine.reload_tenant` make it decide again."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from hablo.db.enums import TenantStatus
from hablo.db.models import Tenant

GATE_TTL_S = 5.0

_lock = threading.Lock()
_decisions: dict[uuid.UUID, tuple[float, PlanBlock | None]] = {}


@dataclass(frozen=True)
class PlanBlock:
    suspended: bool


def plan_block(conn: Connection, tenant_id: uuid.UUID) -> PlanBlock | None:
    """Why this tenant's bot may not answer now, or None when it may."""
    row = conn.execute(
        select(Tenant.status, Tenant.messages_used_month, Tenant.monthly_message_limit).where(
            Tenant.id == tenant_id
        )
    ).first()
    if row is None:
        return None
    if row.status == TenantStatus.SUSPENDED:
        return PlanBlock(suspended=True)
    if row.messages_used_month >= row.monthly_message_limit:
        return PlanBlock(suspended=False)
    return None


def cached_plan_block(conn: Connection, tenant_id: uuid.UUID) -> PlanBlock | None:
    now = time.monotonic()
    with _lock:
        found = _decisions.get(tenant_id)
    if found is not None and found[0] > now:
        return found[1]
    block = plan_block(conn, tenant_id)
    with _lock:
        _decisions[tenant_id] = (now + GATE_TTL_S, block)
    return block


def forget(tenant_id: uuid.UUID) -> None:
    """The tenant's plan or status changed: decide again on its next turn."""
    with _lock:
        _decisions.pop(tenant_id, None)


def forget_all() -> None:
    with _lock:
        _decisions.clear()
