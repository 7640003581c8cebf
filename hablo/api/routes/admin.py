"""The platform, for super_admin: every tenant with its usage, plan and status changes,
and what the whole installation uses. Unscoped by design (super_admin has no tenant);
each change is audited in the affected tenant's log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from hablo.api.app_keys import RUNTIME
from hablo.api.endpoints import ApiRoutes, Call, Page, PageQuery, RequestModel
from hablo.api.problems import not_found
from hablo.api.routes.tenants import Meter, PlanIn
from hablo.api.scope import contains, redact, sort_order
from hablo.db.base import utcnow
from hablo.db.enums import ConversationStatus, Plan, SenderKind, TenantStatus
from hablo.db.models import AuditLog, Contact, Conversation, Message, Tenant, User
from hablo.tenancy.plans import apply_plan
from hablo.tenancy.usage import month_period

routes = ApiRoutes("admin")


class AdminTenantOut(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    plan: Plan
    status: TenantStatus
    timezone: str
    contacts: Meter
    messages_this_month: Meter = Field(description="As of the last recount (every minute)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, t: Tenant) -> AdminTenantOut:
        return cls(
            id=t.id,
            slug=t.slug,
            name=t.name,
            plan=t.plan,
            status=t.status,
            timezone=t.timezone,
            contacts=Meter.of(t.contacts_used, t.contact_limit),
            messages_this_month=Meter.of(t.messages_used_month, t.monthly_message_limit),
            created_at=t.created_at,
            updated_at=t.updated_at,
        )


class AdminTenantQuery(PageQuery):
    status: TenantStatus | None = None
    plan: Plan | None = None
    q: str | None = Field(default=None, max_length=120, description="Part of the name or slug")
    at_limit: bool | None = Field(default=None, description="Out of monthly messages")
    sort: Literal[
        "name",
        "-name",
        "created_at",
        "-created_at",
        "messages",
        "-messages",
        "contacts",
        "-contacts",
    ] = "name"


class StatusIn(RequestModel):
    status: TenantStatus = Field(description="suspended: the bot stops answering (messages kept)")


class PlatformUsageOut(BaseModel):
    tenants: int
    tenants_by_status: dict[str, int]
    tenants_at_message_limit: int
    users: int
    contacts: int
    conversations: int
    open_conversations: int
    customer_messages_this_month: int = Field(description="Calendar month in UTC")
    messages_this_month: int
    live_conversation_actors: int
    database: str
    database_bytes: int | None = Field(description="None when the backend cannot tell cheaply")
    measured_at: datetime


_SORTS = {
    "name": Tenant.name,
    "created_at": Tenant.created_at,
    "messages": Tenant.messages_used_month,
    "contacts": Tenant.contacts_used,
}


@routes.get(
    "/api/admin/tenants", "admin:tenants", query=AdminTenantQuery, response=Page[AdminTenantOut]
)
async def admin_list_tenants(call: Call[AdminTenantQuery, None]) -> Page[AdminTenantOut]:
    """All tenants with their usage"""
    q = call.query

    def work(session: Session) -> Page[AdminTenantOut]:
        query = select(Tenant)
        if q.status is not None:
            query = query.where(Tenant.status == q.status)
        if q.plan is not None:
            query = query.where(Tenant.plan == q.plan)
        if q.q:
            query = query.where(or_(contains(Tenant.name, q.q), contains(Tenant.slug, q.q)))
        if q.at_limit is not None:
            reached = Tenant.messages_used_month >= Tenant.monthly_message_limit
            query = query.where(reached if q.at_limit else ~reached)
        total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
        rows = session.scalars(
            query.order_by(sort_order(q.sort, _SORTS), Tenant.id).offset(q.offset).limit(q.per_page)
        )
        return Page(
            items=[AdminTenantOut.of(t) for t in rows],
            page=q.page,
            per_page=q.per_page,
            total=total,
        )

    return await call.db_global(work)


@routes.put(
    "/api/admin/tenants/{tenant_id}/plan",
    "admin:tenants",
    body=PlanIn,
    response=AdminTenantOut,
    summary="Change a tenant's plan (and its limits)",
)
async def admin_change_plan(call: Call[None, PlanIn]) -> AdminTenantOut:
    def work(session: Session) -> AdminTenantOut:
        tenant = _tenant_for_update(session, call.path["tenant_id"])
        changes = apply_plan(tenant, call.body.plan)
        session.flush()
        _audit(session, call, tenant.id, "change_plan", changes)
        return AdminTenantOut.of(tenant)

    return await call.db_global(work)


@routes.put(
    "/api/admin/tenants/{tenant_id}/status",
    "admin:tenants",
    body=StatusIn,
    response=AdminTenantOut,
    summary="Suspend or reactivate a tenant (a suspended tenant's bot does not answer)",
)
async def admin_set_status(call: Call[None, StatusIn]) -> AdminTenantOut:
    def work(session: Session) -> AdminTenantOut:
        tenant = _tenant_for_update(session, call.path["tenant_id"])
        before = tenant.status
        tenant.status = call.body.status
        session.flush()
        _audit(
            session, call, tenant.id, "change_status", {"from": before.value, "to": tenant.status}
        )
        return AdminTenantOut.of(tenant)

    result = await call.db_global(work)
    call.tenant_changed(result.id)
    return result


@routes.get("/api/admin/usage", "admin:usage", response=PlatformUsageOut)
async def admin_usage(call: Call[None, None]) -> PlatformUsageOut:
    """What the whole platform uses"""
    runtime = call.request.app[RUNTIME]
    now = utcnow()

    def work(session: Session) -> PlatformUsageOut:
        start, end = month_period("UTC", now)
        by_status = {
            str(status): int(n)
            for status, n in session.execute(
                select(Tenant.status, func.count(Tenant.id)).group_by(Tenant.status)
            )
        }
        month = (Message.created_at >= start.astimezone(UTC)) & (
            Message.created_at < end.astimezone(UTC)
        )
        return PlatformUsageOut(
            tenants=sum(by_status.values()),
            tenants_by_status=by_status,
            tenants_at_message_limit=_count(
                session,
                select(Tenant.id).where(Tenant.messages_used_month >= Tenant.monthly_message_limit),
            ),
            users=_count(session, select(User.id)),
            contacts=_count(session, select(Contact.id).where(Contact.erased_at.is_(None))),
            conversations=_count(session, select(Conversation.id)),
            open_conversations=_count(
                session,
                select(Conversation.id).where(Conversation.status != ConversationStatus.CLOSED),
            ),
            customer_messages_this_month=_count(
                session,
                select(Message.id).where(month, Message.sender_kind == SenderKind.CUSTOMER),
            ),
            messages_this_month=_count(session, select(Message.id).where(month)),
            live_conversation_actors=runtime.engine.router.live_conversations(),
            database=runtime.db.dialect,
            database_bytes=_database_bytes(session),
            measured_at=now,
        )

    return await call.db_global(work)


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _database_bytes(session: Session) -> int | None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        size = session.scalar(text("SELECT pg_database_size(current_database())"))
    elif dialect == "sqlite":
        size = session.scalar(
            text("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
        )
    else:
        return None
    return int(size) if size is not None else None


def _tenant_for_update(session: Session, tenant_id: uuid.UUID) -> Tenant:
    tenant = session.scalars(select(Tenant).where(Tenant.id == tenant_id).with_for_update()).first()
    if tenant is None:
        raise not_found("tenant")
    return tenant


def _audit(
    session: Session,
    call: Call[Any, Any],
    tenant_id: uuid.UUID,
    action: str,
    changes: dict[str, Any],
) -> None:
    """In the affected tenant's log, so its owners see what the platform changed."""
    session.add(
        AuditLog(
            tenant_id=tenant_id,
            actor_user_id=call.user.user_id,
            action=action,
            entity="tenant",
            entity_id=str(tenant_id),
            changes=redact(changes),
            source_ip=call.client_ip,
            created_at=utcnow(),
        )
    )
