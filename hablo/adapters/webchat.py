"""The web-chat channel: a WebSocket at /chat/{tenant_slug} and a small page to use it.

A browser keeps a random visitor id in localStorage; that id is the conversation's peer.
Each message carries a client id, the provider message id for dedupe: a resend after a
reconnect is acknowledged and not processed twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections import defaultdict
from importlib.resources import files
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from sqlalchemy import select

from hablo.adapters.base import ChannelSender, SendReceipt, TransientSendError
from hablo.db.base import utcnow
from hablo.db.models import Tenant
from hablo.engine.bridge import LoopBridge
from hablo.engine.messages import InboundMessage, OutboundEnvelope
from hablo.engine.runtime import Engine

CHANNEL = "webchat"
MAX_TEXT = 4000
_VISITOR = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
log = logging.getLogger(__name__)

PeerKey = tuple[uuid.UUID, str]


class WebChatHub:
    """Open sockets per (tenant, visitor). Lives on the event loop; touched only there."""

    def __init__(self) -> None:
        self._sockets: dict[PeerKey, set[web.WebSocketResponse]] = defaultdict(set)

    def add(self, key: PeerKey, ws: web.WebSocketResponse) -> None:
        self._sockets[key].add(ws)

    def remove(self, key: PeerKey, ws: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(key)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._sockets[key]

    async def push(self, key: PeerKey, payload: dict[str, Any]) -> int:
        delivered = 0
        for ws in list(self._sockets.get(key, ())):
            if ws.closed:
                continue
            try:
                await ws.send_json(payload)
                delivered += 1
            except (ConnectionError, RuntimeError):
                continue
        return delivered

    async def close_all(self) -> None:
        """On shutdown: close every socket (1001 going away) so handlers end promptly
        instead of holding the server's graceful shutdown for its whole timeout."""
        sockets = [ws for group in self._sockets.values() for ws in group]
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in sockets),
            return_exceptions=True,
        )


class WebChatSender(ChannelSender):
    """Runs on the outbox thread; hands the frame to the loop and waits for the write."""

    channel = CHANNEL

    def __init__(self, hub: WebChatHub, bridge: LoopBridge, timeout: float = 5.0) -> None:
        self._hub = hub
        self._bridge = bridge
        self._timeout = timeout

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        payload = {
            "type": "message",
            "text": envelope.plain_text(),
            "id": f"out-{envelope.outbox_id}",
        }
        try:
            delivered = self._bridge.run(
                self._hub.push((envelope.tenant_id, envelope.peer), payload), self._timeout
            )
        except TimeoutError as exc:
            raise TransientSendError("web chat write timed out") from exc
        if delivered == 0:
            # The visitor is offline: retry with backoff; they may reconnect.
            raise TransientSendError("visitor not connected", retry_after=2.0)
        return SendReceipt(provider_message_id=payload["id"])


class WebChat:
    """HTTP/WebSocket handlers. The bridge is attached when the app starts (needs a loop)."""

    def __init__(self, engine: Engine, hub: WebChatHub) -> None:
        self._engine = engine
        self._hub = hub
        self._bridge: LoopBridge | None = None
        self._page = files("hablo.adapters").joinpath("static/webchat.html").read_text("utf-8")

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/chat/{slug}", self.handle)]

    def attach(self, bridge: LoopBridge) -> None:
        self._bridge = bridge

    @property
    def bridge(self) -> LoopBridge:
        if self._bridge is None:
            raise RuntimeError("web chat used before the app started")
        return self._bridge

    async def _tenant(self, slug: str) -> tuple[uuid.UUID, str]:
        def lookup() -> tuple[uuid.UUID, str] | None:
            with self._engine.db.transaction() as session:
                row = session.execute(
                    select(Tenant.id, Tenant.name).where(Tenant.slug == slug)
                ).one_or_none()
            return (row.id, row.name) if row else None

        found = await self.bridge.call(lookup)
        if found is None:
            raise web.HTTPNotFound(
                text=json.dumps(
                    {
                        "error": {
                            "code": "tenant_not_found",
                            "message": f"no tenant {slug!r}",
                            "details": {},
                        }
                    }
                ),
                content_type="application/json",
            )
        return found

    async def handle(self, request: web.Request) -> web.StreamResponse:
        tenant_id, tenant_name = await self._tenant(request.match_info["slug"])
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=16 * 1024)
        if not ws.can_prepare(request).ok:
            page = self._page.replace("{{TENANT_NAME}}", _html_escape(tenant_name))
            return web.Response(text=page, content_type="text/html")
        visitor = request.query.get("visitor", "")
        if not _VISITOR.match(visitor):
            raise web.HTTPBadRequest(
                text=json.dumps(
                    {
                        "error": {
                            "code": "invalid_visitor",
                            "message": "visitor must be 8-64 chars of [A-Za-z0-9_-]",
                            "details": {},
                        }
                    }
                ),
                content_type="application/json",
            )
        await ws.prepare(request)
        key = (tenant_id, visitor)
        self._hub.add(key, ws)
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    await self._on_frame(ws, tenant_id, visitor, frame.data)
                elif frame.type == WSMsgType.ERROR:
                    break
        finally:
            self._hub.remove(key, ws)
        return ws

    async def _on_frame(
        self, ws: web.WebSocketResponse, tenant_id: uuid.UUID, visitor: str, data: str
    ) -> None:
        try:
            frame = json.loads(data)
            raw_text, raw_id = frame["text"], frame.get("id")
            # Only strings (ids may be numbers): str() would turn null into "None".
            if (
                not isinstance(raw_text, str)
                or isinstance(raw_id, bool)
                or not isinstance(raw_id, str | int | None)
            ):
                raise TypeError("text must be a string, id a string or number")
            text = raw_text.strip()
            client_id = str(raw_id or uuid.uuid4())
        except (ValueError, KeyError, TypeError):
            await ws.send_json(
                {
                    "type": "error",
                    "error": {
                        "code": "bad_frame",
                        "message": 'send {"text": "...", "id": "..."}',
                        "details": {},
                    },
                }
            )
            return
        if not text or len(text) > MAX_TEXT or len(client_id) > 100:
            await ws.send_json(
                {
                    "type": "error",
                    "error": {
                        "code": "bad_text",
                        "message": f"text must be 1..{MAX_TEXT} characters",
                        "details": {},
                    },
                }
            )
            return
        message = InboundMessage(
            tenant_id=tenant_id,
            channel=CHANNEL,
            peer=visitor,
            text=text,
            provider_message_id=client_id,
            received_at=utcnow(),
        )
        try:
            result = await self.bridge.call(self._engine.submit, message)
        except Exception:
            log.exception("web chat submit failed")
            await ws.send_json(
                {
                    "type": "error",
                    "error": {
                        "code": "unavailable",
                        "message": "try again in a moment",
                        "details": {},
                    },
                }
            )
            return
        await ws.send_json({"type": "ack", "id": client_id, "duplicate": result.duplicate})


def _html_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
