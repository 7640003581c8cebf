"""The one builder of `staff_notifications` rows written from Python: a customer asked for a
person (the engine's turn) and a channel disconnected (the channel's session). A new booking
is recorded by the database itself (the trigger of migration 0012), whichever path wrote it.

Called inside the event's own transaction: the notification commits with the event or not
at all. The unique (tenant, kind, event key) makes a repeated call a no-op.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from hablo.db.base import utcnow
from hablo.db.models import StaffNotification

HANDOFF_REQUESTED = "handoff_requested"
BOOKING_CREATED = "booking_created"
CHANNEL_DISCONNECTED = "channel_disconnected"
KINDS = (HANDOFF_REQUESTED, BOOKING_CREATED, CHANNEL_DISCONNECTED)
MAX_SUMMARY = 300

STAFF_NOTIFICATIONS = cast(Table, StaffNotification.__table__)


def record_handoff_requested(
    conn: Connection,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    channel: str,
    turn_key: str,
    customer_words: str,
) -> None:
    """`turn_key`: what makes this request itself within the conversation (its turn)."""
    _record(
        conn,
        tenant_id,
        HANDOFF_REQUESTED,
        f"{conversation_id}:{turn_key}",
        conversation_id=conversation_id,
        channel=channel,
        summary=customer_words,
    )


def record_channel_disconnected(
    conn: Connection, tenant_id: uuid.UUID, channel: str, session_key: str, reason: str
) -> None:
    """`session_key`: what makes this session (its connected-since time, an account id)."""
    _record(
        conn,
        tenant_id,
        CHANNEL_DISCONNECTED,
        f"{channel}:{session_key}",
        channel=channel,
        summary=reason,
    )


def _record(
    conn: Connection,
    tenant_id: uuid.UUID,
    kind: str,
    event_key: str,
    *,
    conversation_id: uuid.UUID | None = None,
    channel: str | None = None,
    summary: str = "",
    now: datetime | None = None,
) -> None:
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # Ids of one tenant commit in order (as the booking trigger does): a reader that
        # pages "after id" never skips a row committed late with a lower id.
        key = func.hashtextextended("staff_notifications:" + str(tenant_id), 0)
        conn.execute(select(func.pg_advisory_xact_lock(key)))
    dialect_insert = pg_insert if postgres else sqlite_insert
    conn.execute(
        dialect_insert(STAFF_NOTIFICATIONS)
        .values(
            tenant_id=tenant_id,
            kind=kind,
            event_key=event_key[:200],
            conversation_id=conversation_id,
            booking_id=None,
            channel=channel,
            summary=" ".join(summary.split())[:MAX_SUMMARY],
            created_at=now or utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "kind", "event_key"])
    )
