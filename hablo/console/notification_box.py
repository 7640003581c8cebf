"""The notifications box on inbox pages: the business's latest staff notifications and,
on the badge, how many came since this user last opened the list (kept per user by the
API's `/api/notifications/seen`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hablo.api.routes import notifications
from hablo.api.scope import run_scoped
from hablo.console.api_calls import call_api
from hablo.notify.staff_notifications import recent
from hablo.security.principal import Principal

SHOWN = 10


async def notification_context(request: web.Request, principal: Principal) -> dict[str, Any]:
    seen = await call_api(request, notifications.get_seen, principal)
    assert principal.tenant_id is not None  # staff pages belong to a business
    latest = await run_scoped(
        request.app,
        principal.tenant_id,
        principal.user_id,
        request.remote,
        lambda scope: recent(scope.session.connection(), scope.tenant_id, SHOWN),
    )
    return {"notifications": latest, "unread": seen.unread, "seen_id": seen.seen_id}
