"""The business's audit log: who changed what, when and from where (newest first)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from hablo.api.endpoints import ApiRoutes, Call, Page, PageQuery
from hablo.api.scope import TenantScope
from hablo.db.models import AuditLog

routes = ApiRoutes("audit")


class AuditEntryOut(BaseModel):
    id: uuid.UUID
    action: str
    entity: str
    entity_id: str | None
    actor_user_id: uuid.UUID | None = Field(description="None for the platform's own jobs")
    changes: dict[str, Any]
    source_ip: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: AuditLog) -> AuditEntryOut:
        return cls(
            id=row.id,
            action=row.action,
            entity=row.entity,
            entity_id=row.entity_id,
            actor_user_id=row.actor_user_id,
            changes=dict(row.changes or {}),
            source_ip=row.source_ip,
            created_at=row.created_at,
        )


class AuditQuery(PageQuery):
    entity: str | None = Field(default=None, max_length=64, description="e.g. service, user")
    action: str | None = Field(default=None, max_length=64, description="e.g. create, delete")
    entity_id: str | None = Field(default=None, max_length=64)
    actor: uuid.UUID | None = Field(default=None, description="The acting user's id")
    since: AwareDatetime | None = Field(default=None, description="From (inclusive), ISO 8601")
    until: AwareDatetime | None = Field(default=None, description="To (exclusive), ISO 8601")

    @field_validator("since", "until")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        # Far years overflow when converted to UTC for the query.
        if value is not None and not 1900 <= value.year <= 9000:
            raise ValueError("must be between the years 1900 and 9000")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> AuditQuery:
        if self.since and self.until and self.since >= self.until:
            raise ValueError("since must be before until")
        return self


@routes.get("/api/audit", "audit:read", query=AuditQuery, response=Page[AuditEntryOut])
async def list_audit(call: Call[AuditQuery, None]) -> Page[AuditEntryOut]:
    """The audit log, newest first"""
    q = call.query

    def work(scope: TenantScope) -> Page[AuditEntryOut]:
        query = scope.select(AuditLog)
        if q.entity:
            query = query.where(AuditLog.entity == q.entity)
        if q.action:
            query = query.where(AuditLog.action == q.action)
        if q.entity_id:
            query = query.where(AuditLog.entity_id == q.entity_id)
        if q.actor is not None:
            query = query.where(AuditLog.actor_user_id == q.actor)
        if q.since is not None:
            query = query.where(AuditLog.created_at >= q.since)
        if q.until is not None:
            query = query.where(AuditLog.created_at < q.until)
        total = scope.count(query)
        rows = scope.session.scalars(
            query.order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
            .offset(q.offset)
            .limit(q.per_page)
        )
        return Page(
            items=[AuditEntryOut.of(r) for r in rows], page=q.page, per_page=q.per_page, total=total
        )

    return await call.db(work)
