"""One WhatsApp Web session: a persistent Chromium profile driven by Playwright.

The session runs on the registry's asyncio loop (a thread of its own): senders call in
from the outbox thread and the API from the aiohttp loop, both through that loop. All
page specifics come from `page_script`.

States: starting -> scan_qr -> connected -> disconnected (lost, or unlinked on purpose)
or failed (Chromium would not start); a supervisor relaunches with exponential backoff.
`broken` is the end of the line: WhatsApp Web asks for an update, or the page never became
ready; relaunching would loop (the endless-QR complaint against other gateways), so the
session stops, the managers are alerted, and a new POST /api/whatsapp/qr starts afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page, Playwright

from hablo.adapters.whatsapp_web import page_script

log = logging.getLogger(__name__)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

STARTING, SCAN_QR, CONNECTED, DISCONNECTED, FAILED, BROKEN = (
    "starting",
    "scan_qr",
    "connected",
    "disconnected",
    "failed",
    "broken",
)
NEEDS_UPDATE = "needs_update"  # what the page probe reports; the session becomes BROKEN


@dataclass(frozen=True)
class SessionStatus:
    state: str
    since: datetime
    last_error: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class SessionOptions:
    chromium: Path
    headless: bool = True
    min_gap_s: float = 1.0
    max_gap_s: float = 3.0
    probe_interval_s: float = 0.5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    # Longest the page may stay neither showing a QR nor connected (WA-JS not ready, or
    # a sync that hangs) before the session is declared broken.
    ready_timeout_s: float = 180.0


# (tenant_id, previous status, new status); (tenant_id, raw message from the page)
StateHook = Callable[[uuid.UUID, SessionStatus, SessionStatus], Awaitable[None]]
IncomingHook = Callable[[uuid.UUID, dict[str, Any]], Awaitable[None]]


class SessionNotConnected(Exception):
    """The page is not logged in: nothing can be sent now."""


class SessionBroken(Exception):
    """The page cannot go on by itself; a person has to look (the message says why)."""


class WebSession:
    def __init__(
        self,
        tenant_id: uuid.UUID,
        url: str,
        profile_dir: Path,
        playwright: Playwright,
        options: SessionOptions,
        on_state: StateHook,
        on_incoming: IncomingHook,
    ) -> None:
        self.tenant_id = tenant_id
        self.url = url
        self.profile_dir = profile_dir
        self._pw = playwright
        self._options = options
        self._on_state = on_state
        self._on_incoming = on_incoming
        self.status = SessionStatus(STARTING, datetime.now(UTC))
        self.qr: str | None = None
        self.whatsapp_version: str | None = None  # WhatsApp Web's, as the page reports it
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._stopping = False
        self._send_lock = asyncio.Lock()
        self._last_sent = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._supervise())

    async def _set(self, state: str, error: str | None = None, phone: str | None = None) -> None:
        old = self.status
        if old.state == state and old.last_error == error and old.phone == phone:
            return
        new = SessionStatus(state, datetime.now(UTC), error, phone)
        if old.state == state:  # same state, new detail: keep `since`
            new = replace(new, since=old.since)
        self.status = new
        log.info("whatsapp_web %s: %s -> %s", self.tenant_id, old.state, state)
        try:
            await self._on_state(self.tenant_id, old, new)
        except Exception:
            log.exception("whatsapp_web %s: state hook failed", self.tenant_id)

    async def _supervise(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                await self._set(STARTING)
                await self._open()
                failures = 0
                await self._watch()
            except asyncio.CancelledError:
                raise
            except SessionBroken as exc:
                log.warning("whatsapp_web %s: broken (%s)", self.tenant_id, exc)
                await self._close_browser()
                self.qr = None
                await self._set(BROKEN, str(exc))
                return
            except Exception as exc:
                if self._stopping:
                    break
                failures += 1
                reason = (
                    f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
                )
                log.warning("whatsapp_web %s: session error (%s)", self.tenant_id, reason)
                launched = self._context is not None
                await self._close_browser()
                await self._set(DISCONNECTED if launched else FAILED, reason)
                delay = min(
                    self._options.backoff_max_s,
                    self._options.backoff_base_s * 2 ** (failures - 1),
                )
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))

    async def _open(self) -> None:
        self.profile_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._context = await self._pw.chromium.launch_persistent_context(
            user_data_dir=str(self.profile_dir),
            executable_path=str(self._options.chromium),
            headless=self._options.headless,
            args=CHROMIUM_ARGS,
        )
        page = self._context.pages[0] if self._context.pages else await self._context.new_page()
        await page.expose_function(page_script.INCOMING_BINDING, self._incoming)
        # WA-JS first (it builds window.WPP from the page's modules), then our hook on it.
        await page.add_init_script(path=page_script.WA_JS_PATH)
        await page.add_init_script(page_script.HOOK_JS)
        await page.goto(self.url)
        self._page = page

    async def _watch(self) -> None:
        """Follow the page until it breaks (raises) or the session stops."""
        assert self._page is not None
        waiting_since: float | None = time.monotonic()  # neither a QR nor connected since
        while not self._stopping:
            seen = await self._page.evaluate(page_script.PROBE_JS)
            state = seen.get("state")
            self.whatsapp_version = seen.get("whatsapp") or self.whatsapp_version
            if state == NEEDS_UPDATE:
                raise SessionBroken(
                    "WhatsApp Web asks for an update: a newer Chromium, or a newer WA-JS"
                    " (scripts/update-wa-js), is needed"
                )
            if state in (CONNECTED, SCAN_QR):
                waiting_since = None
            elif waiting_since is None:
                waiting_since = time.monotonic()
            elif time.monotonic() - waiting_since > self._options.ready_timeout_s:
                raise SessionBroken(
                    f"the page was not ready within {self._options.ready_timeout_s:.0f} s"
                    " (WA-JS did not find WhatsApp Web's modules, or the sync hung)"
                )
            if state == CONNECTED:
                self.qr = None
                await self._set(CONNECTED, phone=seen.get("phone"))
            elif state == SCAN_QR:
                self.qr = seen.get("qr")
                if self.status.state == CONNECTED:
                    # The phone unlinked us (or WhatsApp dropped the session): a loss.
                    await self._set(DISCONNECTED, "logged out: the page asks for a new scan")
                await self._set(SCAN_QR, self.status.last_error)
            await asyncio.sleep(self._options.probe_interval_s)

    async def _incoming(self, payload: dict[str, Any]) -> None:
        try:
            await self._on_incoming(self.tenant_id, payload)
        except Exception:  # never let a bad message break the page binding
            log.exception("whatsapp_web %s: incoming message not accepted", self.tenant_id)

    async def send(self, peer: str, text: str) -> str | None:
        async with self._send_lock:
            if self.status.state != CONNECTED or self._page is None:
                raise SessionNotConnected(self.status.state)
            # Human-like pacing: a burst of replies looks like a bot to WhatsApp.
            gap = random.uniform(self._options.min_gap_s, self._options.max_gap_s)
            wait = self._last_sent + gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            message_id = await self._page.evaluate(
                page_script.SEND_JS, {"chatId": page_script.chat_id(peer), "text": text}
            )
            self._last_sent = time.monotonic()
            return str(message_id) if message_id else None

    async def pairing_code(self, phone_digits: str) -> str:
        """A code to link `phone_digits` by typing it on that phone instead of scanning."""
        if self.status.state != SCAN_QR or self._page is None:
            raise SessionNotConnected(f"the page offers no login now ({self.status.state})")
        code = await self._page.evaluate(page_script.PAIRING_CODE_JS, {"phone": phone_digits})
        return str(code)

    async def stop(self, *, logout: bool = False) -> None:
        """Close the browser; with `logout`, unlink the device and wipe the profile."""
        self._stopping = True
        if logout and self._page is not None:
            try:
                await self._page.evaluate(page_script.LOGOUT_JS)
            except Exception as exc:
                log.warning("whatsapp_web %s: logout script failed: %s", self.tenant_id, exc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._close_browser()
        if logout:
            shutil.rmtree(self.profile_dir, ignore_errors=True)
            self.qr = None
            await self._set(DISCONNECTED, "unlinked through the API")

    async def _close_browser(self) -> None:
        context, self._context, self._page = self._context, None, None
        if context is not None:
            try:
                await context.close()
            except Exception as exc:
                log.debug("whatsapp_web %s: close failed: %s", self.tenant_id, exc)
