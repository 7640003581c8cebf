"""The plan's contact limit, checked in the same transaction as the write.

The tenant row is locked first (PostgreSQL; SQLite already serialises writers), so two
concurrent creates cannot both take the last free place.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hablo.api.problems import ApiError
from hablo.db.models import Tenant
from hablo.tenancy.usage import count_contacts

PLAN_LIMIT_STATUS = 403


@dataclass(frozen=True)
class Room:
    limit: int
    used: int
    locale: str

    @property
    def free(self) -> int:
        return max(0, self.limit - self.used)


def lock_room(session: Session, tenant_id: uuid.UUID) -> Room:
    tenant = session.execute(
        select(Tenant.contact_limit, Tenant.locale).where(Tenant.id == tenant_id).with_for_update()
    ).one()
    used = contacts_count(session, tenant_id)
    return Room(limit=tenant.contact_limit, used=used, locale=tenant.locale)


def contacts_count(session: Session, tenant_id: uuid.UUID) -> int:
    """Live contacts: an erased one (GDPR) no longer uses the plan's room, as in
    GET /api/tenants/me/usage and the recount job."""
    return count_contacts(session, tenant_id)


def record_usage(session: Session, tenant_id: uuid.UUID) -> None:
    """Keep tenants.contacts_used in step, without touching the tenant's updated_at (its
    ETag belongs to the tenant's own edits)."""
    session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id)
        .values(contacts_used=contacts_count(session, tenant_id), updated_at=Tenant.updated_at)
    )


def plan_limit_error(room: Room) -> ApiError:
    return ApiError(
        PLAN_LIMIT_STATUS,
        "plan_limit_reached",
        f"your plan allows {room.limit} contacts and all are in use; "
        "upgrade the plan or delete contacts you no longer need",
        {"contact_limit": room.limit, "contacts_used": room.used},
    )
