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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from sqlalchemy import select

from hablo.adapters.base import ChannelSender, SendReceipt, TransientSendError
from hablo.adapters.webchat_guard import Refused, WebChatGuard, origin_allowed
from hablo.db.base import utcnow
from hablo.db.models import Conversation, Tenant
from hablo.engine.bridge import LoopBridge
from hablo.engine.messages import InboundMessage, OutboundEnvelope
from hablo.engine.runtime import Engine
from hablo.engine.sanitize import clean_text
from hablo.security.csp import html_page
from hablo.tenancy.settings import allowed_webchat_origins
from hablo.web.errors import json_error

CHANNEL = "webchat"
MAX_TEXT = 4000
_VISITOR = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
log = logging.getLogger(__name__)

PeerKey = tuple[uuid.UUID, str]
# The replies kept for a visitor who was not connected when they were sent, taken (and
# forgotten) when the visitor connects: the worker tier's relay keeps them in Redis.
Backlog = Callable[[PeerKey], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class _Site:
    id: uuid.UUID
    name: str
    allowed_origins: frozenset[str]
    known_visitor: bool


class WebChatHub:
    """Open sockets per (tenant, visitor). Lives on the event loop; touched only there."""

    def __init__(self) -> None:
        self._sockets: dict[PeerKey, set[web.WebSocketResponse]] = defaultdict(set)
        self.backlog: Backlog | None = None

    def add(self, key: PeerKey, ws: web.WebSocketResponse) -> None:
        self._sockets[key].add(ws)

    async def catch_up(self, key: PeerKey, ws: web.WebSocketResponse) -> None:
        """A socket just added: the visitor's kept replies, oldest first (the page drops
        one it has shown already, by its id)."""
        if self.backlog is None:
            return
        for frame in await self.backlog(key):
            try:
                await ws.send_json(frame)
            except (ConnectionError, RuntimeError):
                return

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


def frame_of(envelope: OutboundEnvelope) -> dict[str, Any]:
    """The frame a reply is to the visitor's page (its id lets the page drop a resend)."""
    return {"type": "message", "text": envelope.plain_text(), "id": f"out-{envelope.outbox_id}"}


class WebChatSender(ChannelSender):
    """Runs on the outbox thread; hands the frame to the loop and waits for the write."""

    channel = CHANNEL

    def __init__(self, hub: WebChatHub, bridge: LoopBridge, timeout: float = 5.0) -> None:
        self._hub = hub
        self._bridge = bridge
        self._timeout = timeout

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        payload = frame_of(envelope)
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

    def __init__(
        self,
        engine: Engine,
        hub: WebChatHub,
        guard: WebChatGuard | None = None,
        own_origins: frozenset[str] = frozenset(),
    ) -> None:
        self._engine = engine
        self._hub = hub
        self._guard = guard
        self._own_origins = own_origins  # hablo's public URL; the Host header also counts
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

    async def _site(self, slug: str, visitor: str | None) -> _Site:
        def lookup() -> _Site | None:
            with self._engine.db.transaction() as session:
                row = session.execute(
                    select(Tenant.id, Tenant.name, Tenant.settings).where(Tenant.slug == slug)
                ).one_or_none()
                if row is None:
                    return None
                known = visitor is not None and (
                    session.scalar(
                        select(Conversation.id)
                        .where(
                            Conversation.tenant_id == row.id,
                            Conversation.channel == CHANNEL,
                            Conversation.peer == visitor,
                        )
                        .limit(1)
                    )
                    is not None
                )
            return _Site(row.id, row.name, allowed_webchat_origins(row.settings or {}), known)

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
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=16 * 1024)
        if not ws.can_prepare(request).ok:
            site = await self._site(request.match_info["slug"], None)
            page = self._page.replace("{{TENANT_NAME}}", _html_escape(site.name))
            return html_page(request, page)
        ip = request.remote or "unknown"
        try:
            if self._guard is not None:
                await self._guard.on_open(ip)
            visitor = request.query.get("visitor", "")
            if not _VISITOR.match(visitor):
                return json_error(
                    400, "invalid_visitor", "visitor must be 8-64 chars of [A-Za-z0-9_-]"
                )
            site = await self._site(request.match_info["slug"], visitor)
            origin = request.headers.get("Origin")
            if not origin_allowed(origin, request.host, self._own_origins, site.allowed_origins):
                return json_error(
                    403,
                    "origin_not_allowed",
                    "this site may not embed the chat; the business can allow it in its settings",
                    {"origin": clean_text(origin or "", 300)},
                )
            if self._guard is not None and not site.known_visitor:
                await self._guard.on_new_visitor(site.id)
        except Refused as refused:
            return _refusal(refused)
        await ws.prepare(request)
        key = (site.id, visitor)
        self._hub.add(key, ws)
        try:
            await self._hub.catch_up(key, ws)
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    await self._on_frame(ws, site.id, visitor, ip, frame.data)
                elif frame.type == WSMsgType.ERROR:
                    break
        finally:
            self._hub.remove(key, ws)
        return ws

    async def _on_frame(
        self, ws: web.WebSocketResponse, tenant_id: uuid.UUID, visitor: str, ip: str, data: str
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
            # Cleaned first: a NUL or a lone surrogate is dropped, not a failing turn.
            text = clean_text(raw_text, MAX_TEXT + 1).strip()
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
        wait = await self._guard.on_message(tenant_id, visitor, ip) if self._guard else 0
        if wait:
            await ws.send_json(
                {
                    "type": "error",
                    "error": {
                        "code": "rate_limited",
                        "message": f"too many messages; try again in {wait} s",
                        "details": {"retry_after_s": wait, "id": client_id},
                    },
                }
            )
            return
        message = InboundMessage(
            tenant_id=tenant_id,
            channel=CHANNEL,
            peer=visitor,
            text=text,
            # Per visitor: two visitors whose pages both number messages "1" are not dupes.
            provider_message_id=f"{visitor}:{client_id}",
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


def _refusal(refused: Refused) -> web.Response:
    details = {"retry_after_s": refused.retry_after_s} if refused.retry_after_s else {}
    response = json_error(refused.status, refused.code, refused.message, details)
    if refused.retry_after_s:
        response.headers["Retry-After"] = str(refused.retry_after_s)
    return response


def _html_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
