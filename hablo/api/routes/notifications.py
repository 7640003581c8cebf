"""Staff notifications: a customer asked for a person, a booking was made, a channel
disconnected. Poll with `after` = the last id seen to get only what is new (ids grow
with every event and, per tenant, commit in order)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from hablo.api.endpoints import ApiRoutes, Call, RequestModel
from hablo.api.scope import TenantScope
from hablo.notify.staff_notifications import MAX_PAGE, StaffNotificationView, list_since

routes = ApiRoutes("notifications")


class NotificationOut(BaseModel):
    id: int = Field(description="Grows with every event: pass the last one seen as `after`")
    kind: Literal["handoff_requested", "booking_created", "channel_disconnected"]
    conversation_id: uuid.UUID | None
    booking_id: uuid.UUID | None
    channel: str | None
    summary: str = Field(
        description="The salient detail: the customer's words, the service booked, "
        "the channel's error"
    )
    created_at: datetime

    @classmethod
    def of(cls, view: StaffNotificationView) -> NotificationOut:
        return cls.model_validate(view, from_attributes=True)


class NotificationQuery(RequestModel):
    after: int = Field(default=0, ge=0, le=2**63 - 1, description="Only ids above this one")
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)


class NotificationList(BaseModel):
    items: list[NotificationOut] = Field(description="Oldest first")
    last_id: int = Field(description="The `after` of the next poll")


@routes.get(
    "/api/notifications",
    "notifications:read",
    query=NotificationQuery,
    response=NotificationList,
    summary="New staff notifications (handoff requests, bookings, channel disconnections)",
)
async def list_notifications(call: Call[NotificationQuery, None]) -> NotificationList:
    q = call.query

    def work(scope: TenantScope) -> NotificationList:
        found = list_since(scope.session.connection(), scope.tenant_id, q.after, q.limit)
        items = [NotificationOut.of(view) for view in found]
        return NotificationList(items=items, last_id=items[-1].id if items else q.after)

    return await call.db(work)
