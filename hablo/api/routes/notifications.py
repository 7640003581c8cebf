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
from hablo.db.models import User
from hablo.notify.staff_notifications import (
    MAX_PAGE,
    StaffNotificationView,
    count_since,
    latest_id,
    list_since,
)

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


class SeenOut(BaseModel):
    seen_id: int = Field(description="The newest notification you have looked at")
    unread: int = Field(description="Notifications after it")
    latest_id: int = Field(description="The newest notification of the business (0: none)")


class SeenIn(RequestModel):
    last_id: int = Field(ge=0, le=2**63 - 1, description="The newest notification shown to you")


def _seen(scope: TenantScope, user: User) -> SeenOut:
    conn = scope.session.connection()
    seen = user.notifications_seen_id
    return SeenOut(
        seen_id=seen,
        unread=count_since(conn, scope.tenant_id, seen),
        latest_id=latest_id(conn, scope.tenant_id),
    )


@routes.get(
    "/api/notifications/seen",
    "notifications:read",
    response=SeenOut,
    summary="Where you are: the last notification you looked at and how many came after",
)
async def get_seen(call: Call[None, None]) -> SeenOut:
    return await call.db(lambda scope: _seen(scope, scope.get(User, call.user.user_id)))


@routes.put(
    "/api/notifications/seen",
    "notifications:read",
    body=SeenIn,
    response=SeenOut,
    summary="You looked at the notifications up to `last_id` (only ever moves forward)",
    description="A tab showing older notifications cannot mark newer ones unread again; "
    "an id beyond the newest notification counts as the newest.",
)
async def mark_seen(call: Call[None, SeenIn]) -> SeenOut:
    def work(scope: TenantScope) -> SeenOut:
        user = scope.get(User, call.user.user_id, for_update=True)
        newest = latest_id(scope.session.connection(), scope.tenant_id)
        user.notifications_seen_id = max(user.notifications_seen_id, min(call.body.last_id, newest))
        scope.session.flush()
        return _seen(scope, user)

    return await call.db(work)
