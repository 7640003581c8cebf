"""The tenants' WhatsApp Web sessions, on one asyncio loop in a thread of their own.

Owned by the server lifecycle: `start()` launches the loop and Playwright, `resume()`
starts a session for each tenant with an enabled whatsapp_web account, `stop()` closes
every browser (the profiles stay, so a restart keeps the login). One browser per tenant,
at most `whatsapp_web_max_browsers` in this process: the rest are refused
(TooManyBrowsers) and logged. The blocking methods here may be called from any thread
except the registry's own loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from playwright.async_api import Playwright, async_playwright
from sqlalchemy import select

from hablo.adapters.host import ChannelHost
from hablo.adapters.whatsapp_web import CHANNEL, history
from hablo.adapters.whatsapp_web.incoming import inbound_of
from hablo.adapters.whatsapp_web.media import OutgoingFile
from hablo.adapters.whatsapp_web.pacing import SendCaps
from hablo.adapters.whatsapp_web.session import (
    BROKEN,
    CONNECTED,
    LOGGED_OUT,
    UNLINKED_BY_API,
    SessionHooks,
    SessionNotConnected,
    SessionOptions,
    SessionStatus,
    WebSession,
)
from hablo.config import Settings
from hablo.db.models import AuditLog, ChannelAccount
from hablo.db.staff_events import record_channel_disconnected

log = logging.getLogger(__name__)

__all__ = ["CHANNEL", "TooManyBrowsers", "WhatsAppWebSessions"]
STATE_ACTION = "whatsapp_web.state"
T = TypeVar("T")


class TooManyBrowsers(Exception):
    """This process already runs as many browsers as it may (the message says how many)."""


class WhatsAppWebSessions:
    def __init__(self, runtime: ChannelHost) -> None:
        self._runtime = runtime
        settings = runtime.settings
        self._options = SessionOptions(
            chromium=settings.whatsapp_web_chromium,
            headless=settings.whatsapp_web_headless,
            min_gap_s=settings.whatsapp_web_min_gap_s,
            max_gap_s=settings.whatsapp_web_max_gap_s,
            typing_s_per_char=settings.whatsapp_web_typing_s_per_char,
            typing_min_s=settings.whatsapp_web_typing_min_s,
            typing_max_s=settings.whatsapp_web_typing_max_s,
            backoff_max_s=settings.whatsapp_web_backoff_max_s,
            ready_timeout_s=settings.whatsapp_web_ready_timeout_s,
        )
        self._hooks = SessionHooks(self._state_changed, self._incoming, self._changed)
        self.max_browsers = settings.whatsapp_web_max_browsers
        self._root = settings.state_dir / "whatsapp-web"
        self._sessions: dict[uuid.UUID, WebSession] = {}
        self._stopped: dict[uuid.UUID, SessionStatus] = {}  # after a disconnect
        self._caps: dict[uuid.UUID, SendCaps] = {}  # per linked number, kept across relaunches
        self._lock = threading.Lock()
        self._change = threading.Condition(self._lock)  # a state or QR changed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pw: Playwright | None = None
        self._thread: threading.Thread | None = None

    @property
    def settings(self) -> Settings:
        return self._runtime.settings

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
        started = 0
        for (tenant_id,) in rows:
            try:
                self.ensure(tenant_id, self._runtime.settings.whatsapp_web_url)
            except TooManyBrowsers as exc:
                log.error("whatsapp_web %s: not started: %s", tenant_id, exc)
                continue
            started += 1
        return started

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
        `restart_broken`: how an owner retries after fixing what the alert said. A logged
        out one starts afresh (the owner asks for a QR to link again). TooManyBrowsers
        when this process runs its cap of browsers already."""
        assert self._loop is not None and self._pw is not None, "registry not started"
        caps = self._caps_for(tenant_id)
        with self._lock:
            found = self._sessions.get(tenant_id)
            if found is not None and not (
                found.status.state == LOGGED_OUT
                or (found.status.state == BROKEN and restart_broken)
            ):
                return found
            running = sum(1 for s in self._sessions.values() if not s.ended)
            if running >= self.max_browsers:
                log.warning(
                    "whatsapp_web %s: refused, %d browsers running"
                    " (HABLO_WHATSAPP_WEB_MAX_BROWSERS=%d)",
                    tenant_id,
                    running,
                    self.max_browsers,
                )
                raise TooManyBrowsers(
                    f"this server already runs {running} WhatsApp Web browsers, its limit"
                    " (HABLO_WHATSAPP_WEB_MAX_BROWSERS); try again later"
                )
            session = WebSession(
                tenant_id,
                url,
                self._root / str(tenant_id),
                self._pw,
                self._options,
                self._hooks,
                caps,
            )
            self._sessions[tenant_id] = session
            self._stopped.pop(tenant_id, None)
        self._loop.call_soon_threadsafe(session.start)
        return session

    def _caps_for(self, tenant_id: uuid.UUID) -> SendCaps:
        """The number's send caps, the day seeded from what the outbox sent (a restart
        does not reset the daily cap)."""
        with self._lock:
            found = self._caps.get(tenant_id)
        if found is not None:
            return found
        settings = self._runtime.settings
        caps = SendCaps(
            settings.whatsapp_web_sends_per_minute,
            settings.whatsapp_web_sends_per_day,
            history.sent_last_day(self._runtime.db, tenant_id),
        )
        with self._lock:
            return self._caps.setdefault(tenant_id, caps)

    def wait_for_login(
        self, tenant_id: uuid.UUID, timeout: float
    ) -> tuple[SessionStatus | None, str | None]:
        """(status, QR) as soon as the page offers a QR, is connected or has ended
        (pushed by the page's events), or as they stand after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._change:
            while True:
                session = self._sessions.get(tenant_id)
                status = session.status if session else self._stopped.get(tenant_id)
                qr = session.qr if session else None
                settled = status is not None and status.state in (CONNECTED, BROKEN, LOGGED_OUT)
                left = deadline - time.monotonic()
                if qr is not None or settled or left <= 0:
                    return status, qr
                self._change.wait(left)

    def _changed(self) -> None:
        with self._change:
            self._change.notify_all()

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

    def send(
        self,
        tenant_id: uuid.UUID,
        peer: str,
        text: str,
        timeout: float,
        media: OutgoingFile | None = None,
    ) -> str | None:
        with self._lock:
            session = self._sessions.get(tenant_id)
        if session is None:
            raise SessionNotConnected("no session")
        return self._call(session.send(peer, text, media), timeout=timeout)

    def check_connected(self, tenant_id: uuid.UUID) -> None:
        """SessionNotConnected unless the tenant's page is logged in now."""
        with self._lock:
            session = self._sessions.get(tenant_id)
            state = session.status.state if session else "no session"
        if state != CONNECTED:
            raise SessionNotConnected(state)

    def may_reply(self, tenant_id: uuid.UUID, peer: str) -> bool:
        """Reply only: whether `peer` wrote to this business within 24 hours."""
        return history.may_reply(self._runtime.db, tenant_id, peer)

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
        deliberate = new.last_error == UNLINKED_BY_API
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
        message = inbound_of(tenant_id, raw)
        if message is None:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._runtime.engine.submit, message)
