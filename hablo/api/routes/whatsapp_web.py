"""Linking a phone through WhatsApp Web: get the QR, watch the status, unlink.

Contract of POST /api/whatsapp/qr: it starts the tenant's session if needed and waits a
few seconds for the page. Then: 200 with the QR image (PNG, or SVG with ?format=svg) to
scan from WhatsApp > Linked devices; 202 with the status JSON when the page has no QR yet
(ask again in a moment); 409 `already_connected` when a phone is linked (details carry
the state); 409 `broken` when the session stopped on a problem a person must fix (WhatsApp
Web asks for an update, or the page never became ready: `last_error` says which); after
fixing it, `?restart=true` starts the session afresh; 409 `channel_not_served` /
`no_account` when this server does not run the whatsapp_web channel or the tenant has no
enabled whatsapp_web account; 503 `too_many_browsers` when this server already runs as many
WhatsApp Web browsers as it may (HABLO_WHATSAPP_WEB_MAX_BROWSERS). After the phone unlinked
the device (state `logged_out`), asking again starts afresh with a new QR.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from hablo.adapters.whatsapp_web.qr import qr_png, qr_svg
from hablo.adapters.whatsapp_web.registry import CHANNEL, TooManyBrowsers, WhatsAppWebSessions
from hablo.adapters.whatsapp_web.session import (
    BROKEN,
    CONNECTED,
    SessionNotConnected,
    SessionStatus,
)
from hablo.adapters.whatsapp_web.wpp_contract import wa_js_version
from hablo.api.app_keys import RUNTIME
from hablo.api.endpoints import ApiRoutes, Call, RequestModel
from hablo.api.problems import ApiError
from hablo.api.routes.tenants import PhoneNumber

routes = ApiRoutes("whatsapp_web")
# Set by the server lifecycle when "whatsapp_web" is in settings.channels.
SESSIONS = web.AppKey("whatsapp_web_sessions", WhatsAppWebSessions)
QR_WAIT_S = 10.0
PAIRING_TIMEOUT_S = 30.0


class WhatsAppWebStatusOut(BaseModel):
    channel_served: bool = Field(description="Whether this server runs the whatsapp_web channel")
    state: Literal[
        "not_started",
        "starting",
        "scan_qr",
        "connected",
        "disconnected",
        "failed",
        "broken",
        "logged_out",
    ]
    since: datetime | None
    last_error: str | None
    phone: str | None = Field(description="The linked number's digits, when connected")
    online: bool | None = Field(
        None, description="Whether the page is online (WhatsApp's conn.online), once it said"
    )
    wa_js_version: str | None = Field(
        None, description="The WA-JS version injected into the page, when the channel is served"
    )
    whatsapp_web_version: str | None = Field(
        None, description="WhatsApp Web's version, as the page reported it"
    )

    @classmethod
    def of(
        cls, served: bool, status: SessionStatus | None, whatsapp_web_version: str | None = None
    ) -> WhatsAppWebStatusOut:
        injected = wa_js_version() if served else None
        if status is None:
            return cls(
                channel_served=served,
                state="not_started",
                since=None,
                last_error=None,
                phone=None,
                online=None,
                wa_js_version=injected,
                whatsapp_web_version=whatsapp_web_version,
            )
        return cls(
            channel_served=served,
            state=status.state,  # type: ignore[arg-type]
            since=status.since,
            last_error=status.last_error,
            phone=status.phone,
            online=status.online,
            wa_js_version=injected,
            whatsapp_web_version=whatsapp_web_version,
        )


class PairingCodeIn(RequestModel):
    phone: PhoneNumber = Field(description="The number to link, E.164, e.g. +5491144443333")


class PairingCodeOut(BaseModel):
    code: str = Field(description="Type it on that phone: Linked devices > Link with phone number")
    phone: str


class QrQuery(RequestModel):
    format: Literal["png", "svg"] = "png"
    restart: bool = False  # relaunch a broken session


def _sessions(call: Call[Any, Any]) -> WhatsAppWebSessions | None:
    return call.request.app.get(SESSIONS)


@routes.post(
    "/api/whatsapp/qr",
    "channels:write",
    query=QrQuery,
    produces="image/png",
    errors=(409, 503),
    summary="Start the WhatsApp Web session if needed and get the QR to link a phone",
    description=__doc__ or "",
)
async def whatsapp_qr(call: Call[QrQuery, None]) -> web.StreamResponse:
    _, status, qr = await _start_and_wait(call, restart=call.query.restart)
    if qr is None:
        body = WhatsAppWebStatusOut.of(True, status).model_dump(mode="json")
        return web.json_response(body, status=202, headers={"Retry-After": "2"})
    if call.query.format == "svg":
        image = await asyncio.to_thread(qr_svg, qr)
        return web.Response(body=image, content_type="image/svg+xml", headers=_no_store())
    image = await asyncio.to_thread(qr_png, qr)
    return web.Response(body=image, content_type="image/png", headers=_no_store())


async def _start_and_wait(
    call: Call[Any, Any], *, restart: bool
) -> tuple[WhatsAppWebSessions, SessionStatus | None, str | None]:
    """Start the tenant's session if needed and wait until the page offers a login (or
    answer 409: channel not served, no account, already connected, broken)."""
    sessions = _sessions(call)
    if sessions is None:
        raise ApiError(
            409, "channel_not_served", "this server does not run the whatsapp_web channel"
        )
    accounts = call.request.app[RUNTIME].accounts
    tenant_id = call.tenant_id
    account = await asyncio.to_thread(accounts.for_tenant, tenant_id, CHANNEL)
    if account is None:
        raise ApiError(
            409, "no_account", "add an enabled whatsapp_web account first (POST /api/channels)"
        )
    url = call.request.app[RUNTIME].settings.whatsapp_web_url  # a platform setting
    try:
        await asyncio.to_thread(
            functools.partial(sessions.ensure, restart_broken=restart), tenant_id, url
        )
    except TooManyBrowsers as exc:
        raise ApiError(
            503, "too_many_browsers", str(exc), {"max_browsers": sessions.max_browsers}
        ) from exc
    # The page pushes its QR and state changes: this returns as soon as one arrives.
    status, qr = await asyncio.to_thread(sessions.wait_for_login, tenant_id, QR_WAIT_S)
    if status is not None and status.state == BROKEN:
        raise ApiError(
            409,
            "broken",
            "the WhatsApp Web session stopped on a problem to fix first (see last_error);"
            " then ask again with ?restart=true",
            {"state": status.state, "last_error": status.last_error},
        )
    if status is not None and status.state == CONNECTED:
        raise ApiError(
            409,
            "already_connected",
            "a phone is already linked; disconnect first to link another",
            {"state": status.state, "phone": status.phone},
        )
    return sessions, status, qr


@routes.post(
    "/api/whatsapp/pairing-code",
    "channels:write",
    body=PairingCodeIn,
    response=PairingCodeOut,
    errors=(409, 502, 503),
    summary="Link a phone by a code typed on it instead of scanning the QR",
    description="Starts the session if needed, like /api/whatsapp/qr (the same 409s);"
    " 409 `not_ready` when the page offers no login yet (ask again), 502 `page_error`"
    " when WhatsApp Web refused the request. On the phone: WhatsApp > Linked devices >"
    " Link a device > Link with phone number instead, then type the code.",
)
async def whatsapp_pairing_code(call: Call[None, PairingCodeIn]) -> PairingCodeOut:
    sessions, status, qr = await _start_and_wait(call, restart=False)
    if qr is None:
        raise ApiError(
            409,
            "not_ready",
            "the page offers no login yet; ask again in a moment",
            {"state": status.state if status else "not_started"},
        )
    digits = call.body.phone.lstrip("+")
    try:
        code = await asyncio.to_thread(
            sessions.pairing_code, call.tenant_id, digits, PAIRING_TIMEOUT_S
        )
    except SessionNotConnected as exc:
        raise ApiError(409, "not_ready", f"the page offers no login now ({exc})") from exc
    except Exception as exc:  # the page's answer (WhatsApp refused, timed out)
        raise ApiError(
            502, "page_error", f"WhatsApp Web did not give a code ({type(exc).__name__})"
        ) from exc
    return PairingCodeOut(code=code, phone=call.body.phone)


def _no_store() -> dict[str, str]:
    return {"Cache-Control": "no-store"}  # a QR is a short-lived login credential


@routes.get(
    "/api/whatsapp/status",
    "channels:read",
    response=WhatsAppWebStatusOut,
    summary="The WhatsApp Web session: state, since when, last error, linked phone",
)
async def whatsapp_status(call: Call[None, None]) -> WhatsAppWebStatusOut:
    sessions = _sessions(call)
    tenant_id = call.tenant_id
    if sessions is None:
        return WhatsAppWebStatusOut.of(False, None)
    return WhatsAppWebStatusOut.of(
        True, sessions.status(tenant_id), sessions.whatsapp_version(tenant_id)
    )


@routes.post(
    "/api/whatsapp/disconnect",
    "channels:write",
    response=WhatsAppWebStatusOut,
    summary="Unlink the phone, close the browser and wipe its profile (a new scan is needed)",
)
async def whatsapp_disconnect(call: Call[None, None]) -> WhatsAppWebStatusOut:
    sessions = _sessions(call)
    tenant_id = call.tenant_id
    if sessions is None:
        return WhatsAppWebStatusOut.of(False, None)
    status = await asyncio.to_thread(sessions.disconnect, tenant_id)
    return WhatsAppWebStatusOut.of(True, status)
