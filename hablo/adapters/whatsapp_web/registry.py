"""The tenants' WhatsApp Web sessions, on one asyncio loop in a thread of their own.

Owned by the server lifecycle: `start()` launches the loop and Playwright, `resume()`
starts a session for each tenant with an enabled whatsapp_web account, `stop()` closes
every browser (the profiles stay, so a restart keeps the login). The blocking methods
here may be called from any thread except the registry's own loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from playwright.async_api import Playwright, async_playwright
from sqlalchemy import select

from hablo.adapters.host import ChannelHost
from hablo.adapters.whatsapp_web import page_script
from hablo.adapters.whatsapp_web.session import (
    BROKEN,
    CONNECTED,
    SessionNotConnected,
    SessionOptions,
    SessionStatus,
    WebSession,
)
from hablo.db.models import AuditLog, ChannelAccount
from hablo.db.staff_events import record_channel_disconnected
from hablo.engine.messages import InboundMessage
from hablo.engine.store import normalize_phone

log = logging.getLogger(__name__)

CHANNEL = "whatsapp_web"
STATE_ACTION = "whatsapp_web.state"
T = TypeVar("T")


class WhatsAppWebSessions:
    def __init__(self, runtime: ChannelHost) -> None:
        self._runtime = runtime
        settings = runtime.settings
        self._options = SessionOptions(
            chromium=settings.whatsapp_web_chromium,
            headless=settings.whatsapp_web_headless,
            min_gap_s=settings.whatsapp_web_min_gap_s,
            max_gap_s=settings.whatsapp_web_max_gap_s,
            backoff_max_s=settings.whatsapp_web_backoff_max_s,
            ready_timeout_s=settings.whatsapp_web_ready_timeout_s,
        )
        self._root = settings.state_dir / "whatsapp-web"
        self._sessions: dict[uuid.UUID, WebSession] = {}
        self._stopped: dict[uuid.UUID, SessionStatus] = {}  # after a disconnect
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pw: Playwright | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> None:
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=main, name="hablo-whatsapp-web", daemon=True)
        self._thread.start()
        ready.wait()
        self._pw = self._call(async_playwright().start(), timeout=60)

    def resume(self) -> int:
        """Start a session for every tenant with an enabled whatsapp_web account."""
        with self._runtime.db.transaction() as session:
            rows = session.execute(
                select(ChannelAccount.tenant_id).where(
                    ChannelAccount.channel == CHANNEL, ChannelAccount.enabled.is_(True)
                )
            ).all()
        for (tenant_id,) in rows:
            self.ensure(tenant_id, self._runtime.settings.whatsapp_web_url)
        return len(rows)

    def stop(self) -> None:
        if self._loop is None:
            return
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()

        async def shutdown() -> None:
            await asyncio.gather(*(s.stop() for s in sessions), return_exceptions=True)
            if self._pw is not None:
                await self._pw.stop()

        try:
            self._call(shutdown(), timeout=60)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(30)
            self._loop = None

    # -- per tenant ---------------------------------------------------------------

    def ensure(self, tenant_id: uuid.UUID, url: str, *, restart_broken: bool = False) -> WebSession:
        """The tenant's session, started if it is not running. A broken one stays broken
        (so a client asking again and again does not relaunch it in a loop) unless
        `restart_broken`: how an owner retries after fixing what the alert said."""
        assert self._loop is not None and self._pw is not None, "registry not started"
        with self._lock:
            found = self._sessions.get(tenant_id)
            if found is not None and (found.status.state != BROKEN or not restart_broken):
                return found
            session = WebSession(
                tenant_id,
                url,
                self._root / str(tenant_id),
                self._pw,
                self._options,
                self._state_changed,
                self._incoming,
            )
            self._sessions[tenant_id] = session
            self._stopped.pop(tenant_id, None)
        self._loop.call_soon_threadsafe(session.start)
        return session

    def status(self, tenant_id: uuid.UUID) -> SessionStatus | None:
        with self._lock:
            session = self._sessions.get(tenant_id)
            return session.status if session else self._stopped.get(tenant_id)

    def qr(self, tenant_id: uuid.UUID) -> str | None:
        with self._lock:
            session = self._sessions.get(tenant_id)
        return session.qr if session else None

    def whatsapp_version(self, tenant_id: uuid.UUID) -> str | None:
        with self._lock:
            session = self._sessions.get(tenant_id)
        return session.whatsapp_version if session else None

    def pairing_code(self, tenant_id: uuid.UUID, phone_digits: str, timeout: float) -> str:
        with self._lock:
            session = self._sessions.get(tenant_id)
        if session is None:
            raise SessionNotConnected("no session")
        return self._call(session.pairing_code(phone_digits), timeout=timeout)

    def send(self, tenant_id: uuid.UUID, peer: str, text: str, timeout: float) -> str | None:
        with self._lock:
            session = self._sessions.get(tenant_id)
        if session is None:
            raise SessionNotConnected("no session")
        return self._call(session.send(peer, text), timeout=timeout)

    def disconnect(self, tenant_id: uuid.UUID) -> SessionStatus | None:
        """Unlink the device, close the browser and wipe the profile."""
        with self._lock:
            session = self._sessions.pop(tenant_id, None)
        if session is None:
            return self._stopped.get(tenant_id)
        self._call(session.stop(logout=True), timeout=60)
        with self._lock:
            self._stopped[tenant_id] = session.status
        return session.status

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- hooks (run on the registry loop; blocking work goes to the default executor) --

    async def _state_changed(
        self, tenant_id: uuid.UUID, old: SessionStatus, new: SessionStatus
    ) -> None:
        if old.state == new.state:
            return
        lost = old.state == CONNECTED and new.state != CONNECTED
        deliberate = new.last_error == "unlinked through the API"
        # One alert per loss (keyed by when the lost session connected) or per breakdown.
        alert: str | None = None
        if new.state == BROKEN:
            alert = "broken:" + new.since.isoformat()
        elif lost and not deliberate:
            alert = old.since.isoformat()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._record, tenant_id, old, new, alert)

    def _record(
        self, tenant_id: uuid.UUID, old: SessionStatus, new: SessionStatus, alert: str | None
    ) -> None:
        """An audit row for the change; on a loss or a breakdown (`alert`: its key), a staff
        notification in the same transaction (the console shows it, the notification job
        e-mails it once)."""
        with self._runtime.db.transaction() as session:
            session.add(
                AuditLog(
                    tenant_id=tenant_id,
                    actor_user_id=None,
                    action=STATE_ACTION,
                    entity="channel",
                    entity_id=CHANNEL,
                    changes={"from": old.state, "to": new.state, "error": new.last_error},
                    created_at=datetime.now(UTC),
                )
            )
            if alert is not None:
                record_channel_disconnected(
                    session.connection(), tenant_id, CHANNEL, alert, new.last_error or new.state
                )

    async def _incoming(self, tenant_id: uuid.UUID, raw: dict[str, Any]) -> None:
        chat = str(raw.get("from") or "")
        if raw.get("isGroup") or not page_script.is_person(chat):
            return  # the bot serves one-to-one chats with a phone number only
        text, message_id = str(raw.get("text") or ""), str(raw.get("id") or "")
        if not text.strip() or not message_id or len(message_id) > 200:
            return
        try:
            peer = normalize_phone("+" + page_script.peer_digits(chat))
        except ValueError:
            log.info("whatsapp_web %s: ignoring a message from a non-phone chat", tenant_id)
            return
        message = InboundMessage(
            tenant_id=tenant_id,
            channel=CHANNEL,
            peer=peer,
            text=text[:4096],
            provider_message_id=message_id,
            received_at=datetime.now(UTC),
            sender_name=str(raw.get("pushname") or "")[:200],
        )
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._runtime.engine.submit, message)
