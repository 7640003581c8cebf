"""The outbox through the API: what is waiting, sent, or dead-lettered, and a retry for
dead letters (the row goes back to pending and the running dispatcher sends it, in order
behind the conversation's other replies)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy import update

from hablo.api.app_keys import RUNTIME
from hablo.api.endpoints import ApiRoutes, Call, Page, PageQuery
from hablo.api.problems import conflict, not_found
from hablo.api.routes.messages import CleanText
from hablo.api.scope import TenantScope
from hablo.db.base import utcnow
from hablo.db.enums import DeliveryStatus, OutboxStatus
from hablo.db.models import Message, OutboxMessage
from hablo.engine.agent_reply import envelope_of, hand_to_dispatcher
from hablo.engine.messages import OutboundEnvelope

routes = ApiRoutes("outbox")
# Outbox ids are BIGINT: a larger number cannot exist (and must not reach the driver).
_MAX_ID = 2**63 - 1


class OutboxOut(BaseModel):
    id: int
    status: OutboxStatus
    channel: str
    peer: str
    conversation_id: uuid.UUID | None
    message_id: uuid.UUID | None
    text: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    provider_message_id: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: OutboxMessage) -> OutboxOut:
        return cls(
            id=row.id,
            status=row.status,
            channel=row.channel,
            peer=row.peer,
            conversation_id=row.conversation_id,
            message_id=row.message_id,
            text=str((row.payload or {}).get("text", "")),
            attempts=row.attempts,
            last_error=row.last_error,
            next_attempt_at=row.next_attempt_at,
            provider_message_id=row.provider_message_id,
            created_at=row.created_at,
            sent_at=row.sent_at,
        )


class OutboxQuery(PageQuery):
    status: OutboxStatus | None = None
    channel: CleanText | None = Field(default=None, min_length=1, max_length=24)
    conversation_id: uuid.UUID | None = None


@routes.get(
    "/api/outbox",
    "outbox:read",
    query=OutboxQuery,
    response=Page[OutboxOut],
    summary="Outgoing messages, newest first (status=dead lists the dead letters)",
)
async def list_outbox(call: Call[OutboxQuery, None]) -> Page[OutboxOut]:
    q = call.query

    def work(scope: TenantScope) -> Page[OutboxOut]:
        query = scope.select(OutboxMessage)
        if q.status:
            query = query.where(OutboxMessage.status == q.status)
        if q.channel:
            query = query.where(OutboxMessage.channel == q.channel)
        if q.conversation_id:
            query = query.where(OutboxMessage.conversation_id == q.conversation_id)
        total = scope.count(query)
        rows = scope.session.scalars(
            query.order_by(OutboxMessage.id.desc()).offset(q.offset).limit(q.per_page)
        )
        return Page(
            items=[OutboxOut.of(r) for r in rows], page=q.page, per_page=q.per_page, total=total
        )

    return await call.db(work)


@routes.get(
    "/api/outbox/{outbox_id}",
    "outbox:read",
    response=OutboxOut,
    path_types={"outbox_id": int},
    summary="One outgoing message",
)
async def get_outbox(call: Call[None, None]) -> OutboxOut:
    def work(scope: TenantScope) -> OutboxOut:
        return OutboxOut.of(_row(scope, call.path["outbox_id"], for_update=False))

    return await call.db(work)


@routes.post(
    "/api/outbox/{outbox_id}/retry",
    "outbox:write",
    response=OutboxOut,
    errors=(409,),
    path_types={"outbox_id": int},
    summary="Send a dead letter again (attempts start over)",
)
async def retry_outbox(call: Call[None, None]) -> OutboxOut:
    def work(scope: TenantScope) -> tuple[OutboxOut, OutboundEnvelope]:
        # Locked: two concurrent retries cannot both re-send the row.
        row = _row(scope, call.path["outbox_id"], for_update=True)
        if row.status != OutboxStatus.DEAD:
            raise conflict(
                f"only a dead letter can be retried; this one is {row.status.value}",
                {"status": row.status.value},
            )
        row.status = OutboxStatus.PENDING
        row.attempts = 0
        row.next_attempt_at = utcnow()
        if row.message_id is not None:
            scope.session.execute(
                update(Message)
                .where(Message.tenant_id == scope.tenant_id, Message.id == row.message_id)
                .values(status=DeliveryStatus.PENDING, error=None)
            )
        scope.session.flush()
        scope.audit("retry", "outbox", row.id, {"last_error": row.last_error})
        return OutboxOut.of(row), envelope_of(row)

    out, envelope = await call.db(work)
    hand_to_dispatcher(_engine(call.request), [envelope])
    return out


def _row(scope: TenantScope, outbox_id: int, *, for_update: bool) -> OutboxMessage:
    if not 0 < outbox_id <= _MAX_ID:
        raise not_found("outbox message")
    query = scope.select(OutboxMessage).where(OutboxMessage.id == outbox_id)
    if for_update:
        query = query.with_for_update()
    row: OutboxMessage | None = scope.session.scalars(query).first()
    if row is None:
        raise not_found("outbox message")
    return row


def _engine(request: web.Request) -> Any:
    return request.app[RUNTIME].engine
