"""Reading a tenant's staff notifications: the console's live badge and
`GET /api/notifications` page through them with "after id" (ids grow with every event
and, per tenant, commit in order)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection

from hablo.db.staff_events import STAFF_NOTIFICATIONS as NOTES

MAX_PAGE = 200


@dataclass(frozen=True)
class StaffNotificationView:
    id: int
    tenant_id: uuid.UUID
    kind: str  # handoff_requested | booking_created | channel_disconnected
    conversation_id: uuid.UUID | None
    booking_id: uuid.UUID | None
    channel: str | None
    summary: str
    created_at: datetime


def _views(tenant_id: uuid.UUID) -> Select[Any]:
    return select(
        NOTES.c.id,
        NOTES.c.tenant_id,
        NOTES.c.kind,
        NOTES.c.conversation_id,
        NOTES.c.booking_id,
        NOTES.c.channel,
        NOTES.c.summary,
        NOTES.c.created_at,
    ).where(NOTES.c.tenant_id == tenant_id)


def list_since(
    conn: Connection, tenant_id: uuid.UUID, after_id: int = 0, limit: int = 50
) -> list[StaffNotificationView]:
    """The tenant's notifications with an id above `after_id`, oldest first (at most
    `limit`, capped at MAX_PAGE). Pass the last id seen to get only what is new."""
    rows = conn.execute(
        _views(tenant_id)
        .where(NOTES.c.id > after_id)
        .order_by(NOTES.c.id)
        .limit(max(1, min(limit, MAX_PAGE)))
    ).all()
    return [StaffNotificationView(**row._mapping) for row in rows]


def latest_id(conn: Connection, tenant_id: uuid.UUID) -> int:
    """The newest notification's id (0: none yet): where a fresh reader starts."""
    found = conn.execute(
        select(NOTES.c.id)
        .where(NOTES.c.tenant_id == tenant_id)
        .order_by(NOTES.c.id.desc())
        .limit(1)
    ).scalar()
    return int(found or 0)


def recent(conn: Connection, tenant_id: uuid.UUID, limit: int) -> list[StaffNotificationView]:
    """The tenant's latest notifications, newest first (the console's short history)."""
    rows = conn.execute(
        _views(tenant_id).order_by(NOTES.c.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
    ).all()
    return [StaffNotificationView(**row._mapping) for row in rows]


def count_since(conn: Connection, tenant_id: uuid.UUID, after_id: int) -> int:
    """How many of the tenant's notifications have an id above `after_id` (unread)."""
    found = conn.execute(
        select(func.count(NOTES.c.id)).where(NOTES.c.tenant_id == tenant_id, NOTES.c.id > after_id)
    ).scalar()
    return int(found or 0)
