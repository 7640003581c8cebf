"""One WhatsApp Web session: a persistent Chromium profile driven by Playwright.

The session runs on the registry's asyncio loop (a thread of its own): senders call in
from the outbox thread and the API from the aiohttp loop, both through that loop. All
page specifics come from `page_script`; the page pushes its connection events (WPP's
conn.*) and messages to two exposed functions, nothing polls it.

States: starting -> scan_qr -> connected -> disconnected (lost) or failed (Chromium would
not start); a supervisor relaunches with exponential backoff. Two ends need a person:
`logged_out` (the phone unlinked the device: the profile is wiped, a new QR is needed)
and `broken` (WhatsApp Web asks for an update, or the page never became ready). Neither
relaunches by itself (the endless-QR complaint against other gateways); the managers are
alerted and a new POST /api/whatsapp/qr starts afresh.
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
from hablo.adapters.whatsapp_web.media import OutgoingFile
from hablo.adapters.whatsapp_web.pacing import SendCaps, typing_pause

log = logging.getLogger(__name__)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

STARTING, SCAN_QR, CONNECTED, DISCONNECTED, FAILED, BROKEN, LOGGED_OUT = (
    "starting",
    "scan_qr",
    "connected",
    "disconnected",
    "failed",
    "broken",
    "logged_out",
)
ENDED = (BROKEN, LOGGED_OUT)  # no browser, no relaunch: a person starts it again
NEEDS_UPDATE = "needs_update"  # what the page reports; the session becomes BROKEN
UNLINKED_BY_API = "unlinked through the API"
LOGGED_OUT_REASON = "logged out: the phone unlinked this device; link it again with a new QR"


@dataclass(frozen=True)
class SessionStatus:
    state: str
    since: datetime
    last_error: str | None = None
    phone: str | None = None
    online: bool | None = None  # conn.online: None until the page said


@dataclass(frozen=True)
class SessionOptions:
    chromium: Path
    headless: bool = True
    min_gap_s: float = 1.0
    max_gap_s: float = 3.0
    typing_s_per_char: float = 0.03
    typing_min_s: float = 1.0
    typing_max_s: float = 4.0
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    # Longest the page may stay neither showing a QR nor connected (WA-JS not ready, or
    # a sync that hangs) before the session is declared broken.
    ready_timeout_s: float = 180.0
    watch_tick_s: float = 0.5  # how often the ready timeout is checked (no page call)


# (tenant_id, previous status, new status); (tenant_id, raw message from the page)
StateHook = Callable[[uuid.UUID, SessionStatus, SessionStatus], Awaitable[None]]
IncomingHook = Callable[[uuid.UUID, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class SessionHooks:
    on_state: StateHook
    on_incoming: IncomingHook
    on_change: Callable[[], None]  # any change of state or QR (wakes the API's waiters)


class SessionNotConnected(Exception):
    """The page is not logged in: nothing can be sent now."""


class SessionBroken(Exception):
    """The page cannot go on by itself; a person has to look (the message says why)."""


class SessionLoggedOut(Exception):
    """The phone unlinked this device: the login is gone."""


class WebSession:
    def __init__(
        self,
        tenant_id: uuid.UUID,
        url: str,
        profile_dir: Path,
        playwright: Playwright,
        options: SessionOptions,
        hooks: SessionHooks,
        caps: SendCaps,
    ) -> None:
        self.tenant_id = tenant_id
        self.url = url
        self.profile_dir = profile_dir
        self._pw = playwright
        self._options = options
        self._hooks = hooks
        self._caps = caps
        self.status = SessionStatus(STARTING, datetime.now(UTC))
        self.qr: str | None = None
        self.whatsapp_version: str | None = None  # WhatsApp Web's, as the page reports it
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._stopping = False
        self._send_lock = asyncio.Lock()
        self._last_sent = 0.0
        self._task: asyncio.Task[None] | None = None
        # Set by the page's events: why the session must end (raised by _watch).
        self._problem: Exception | None = None
        self._woken = asyncio.Event()
        self._waiting_since: float | None = None  # neither a QR nor connected since

    @property
    def ended(self) -> bool:
        """Stopped for good (broken, logged out): holds no browser."""
        return self.status.state in ENDED

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._supervise())

    async def _set(
        self,
        state: str,
        error: str | None = None,
        phone: str | None = None,
        online: bool | None = None,
    ) -> None:
        old = self.status
        if online is None and state == old.state:
            online = old.online
        if (old.state, old.last_error, old.phone, old.online) == (state, error, phone, online):
            return
        new = SessionStatus(state, datetime.now(UTC), error, phone, online)
        if old.state == state:  # same state, new detail: keep `since`
            new = replace(new, since=old.since)
        self.status = new
        if old.state != state:
            log.info("whatsapp_web %s: %s -> %s", self.tenant_id, old.state, state)
        self._hooks.on_change()
        try:
            await self._hooks.on_state(self.tenant_id, old, new)
        except Exception:
            log.exception("whatsapp_web %s: state hook failed", self.tenant_id)

    def _set_qr(self, qr: str | None) -> None:
        self.qr = qr
        self._hooks.on_change()

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
            except (SessionBroken, SessionLoggedOut) as exc:
                await self._end(exc)
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
                self._set_qr(None)
                await self._set(DISCONNECTED if launched else FAILED, reason)
                delay = min(
                    self._options.backoff_max_s,
                    self._options.backoff_base_s * 2 ** (failures - 1),
                )
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))

    async def _end(self, why: SessionBroken | SessionLoggedOut) -> None:
        await self._close_browser()
        self._set_qr(None)
        if isinstance(why, SessionLoggedOut):
            # The login is gone on WhatsApp's side; a stale profile would only confuse
            # the next start.
            log.warning("whatsapp_web %s: logged out by the phone", self.tenant_id)
            shutil.rmtree(self.profile_dir, ignore_errors=True)
            await self._set(LOGGED_OUT, str(why))
        else:
            log.warning("whatsapp_web %s: broken (%s)", self.tenant_id, why)
            await self._set(BROKEN, str(why))

    async def _open(self) -> None:
        self._problem = None
        self._woken.clear()
        self._waiting_since = time.monotonic()
        self.profile_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._context = await self._pw.chromium.launch_persistent_context(
            user_data_dir=str(self.profile_dir),
            executable_path=str(self._options.chromium),
            headless=self._options.headless,
            args=CHROMIUM_ARGS,
        )
        self._context.on("close", lambda _: self._fail(RuntimeError("the browser closed")))
        page = self._context.pages[0] if self._context.pages else await self._context.new_page()
        page.on("crash", lambda _: self._fail(RuntimeError("the page crashed")))
        await page.expose_function(page_script.INCOMING_BINDING, self._incoming)
        await page.expose_function(page_script.CONN_BINDING, self._conn_event)
        # WA-JS first (it builds window.WPP from the page's modules), then our hook on it.
        await page.add_init_script(path=page_script.WA_JS_PATH)
        await page.add_init_script(page_script.HOOK_JS)
        await page.goto(self.url)
        self._page = page

    def _fail(self, problem: Exception) -> None:
        if self._problem is None:
            self._problem = problem
        self._woken.set()

    async def _watch(self) -> None:
        """Wait until the page's events end the session (raises) or it stops; meanwhile
        keep the clock on a page that shows neither a QR nor the chats."""
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self._options.watch_tick_s)
            if self._problem is not None:
                raise self._problem
            since = self._waiting_since
            if since is not None and time.monotonic() - since > self._options.ready_timeout_s:
                raise SessionBroken(
                    f"the page was not ready within {self._options.ready_timeout_s:.0f} s"
                    " (WA-JS did not find WhatsApp Web's modules, or the sync hung)"
                )

    # -- what the page pushes -------------------------------------------------------------

    async def _conn_event(self, event: dict[str, Any]) -> None:
        """One of page_script's connection events (see EVENT_* there)."""
        if self._stopping or not isinstance(event, dict):
            return  # a deliberate logout's own events, or garbage
        kind = event.get("event")
        try:
            await self._apply(kind, event)
        except Exception:  # never let a bad event break the page binding
            log.exception("whatsapp_web %s: connection event %r failed", self.tenant_id, kind)

    async def _apply(self, kind: Any, event: dict[str, Any]) -> None:
        if kind == page_script.EVENT_STATE:
            self.whatsapp_version = _text(event.get("whatsapp")) or self.whatsapp_version
            state = event.get("state")
            if state == NEEDS_UPDATE:
                await self._apply(page_script.EVENT_NEEDS_UPDATE, event)
            elif state == CONNECTED:
                self._waiting_since = None
                self._set_qr(None)
                await self._set(CONNECTED, phone=_text(event.get("phone")))
            elif state == SCAN_QR:
                await self._apply(page_script.EVENT_QR, event)
        elif kind == page_script.EVENT_QR:
            qr = _text(event.get("qr"), 2000)
            if qr is None:
                return  # gone after a scan: "authenticated" follows
            if self.status.state == CONNECTED:  # asks for a scan: the login is gone
                self._fail(SessionLoggedOut(LOGGED_OUT_REASON))
                return
            self._waiting_since = None
            self._set_qr(qr)  # WhatsApp rotates it every ~20 s: the API serves the newest
            await self._set(SCAN_QR, self.status.last_error)
        elif kind == page_script.EVENT_AUTHENTICATED:
            self._waiting_since = time.monotonic()  # linked, syncing: main_ready follows
            self._set_qr(None)
            await self._set(STARTING)
        elif kind == page_script.EVENT_LOGOUT:
            self._fail(SessionLoggedOut(LOGGED_OUT_REASON))
        elif kind == page_script.EVENT_NEEDS_UPDATE:
            self._fail(
                SessionBroken(
                    "WhatsApp Web asks for an update: a newer Chromium, or a newer WA-JS"
                    " (scripts/update-wa-js), is needed"
                )
            )
        elif kind == page_script.EVENT_ONLINE:
            s = self.status
            await self._set(s.state, s.last_error, s.phone, online=bool(event.get("online")))

    async def _incoming(self, payload: dict[str, Any]) -> None:
        try:
            await self._hooks.on_incoming(self.tenant_id, payload)
        except Exception:  # never let a bad message break the page binding
            log.exception("whatsapp_web %s: incoming message not accepted", self.tenant_id)

    # -- what hablo asks of the page ----------------------------------------------------------

    async def send(self, peer: str, text: str, media: OutgoingFile | None = None) -> str | None:
        """Send a reply like a person would: within the number's caps (SendDeferred /
        SendRefused otherwise), a gap after the last one, "typing..." for a while."""
        async with self._send_lock:
            page = self._page  # closed under us, it raises Playwright's error, not None's
            if self.status.state != CONNECTED or page is None:
                raise SessionNotConnected(self.status.state)
            self._caps.check()
            chat = page_script.chat_id(peer)
            o = self._options
            pause = typing_pause(len(text), o.typing_s_per_char, o.typing_min_s, o.typing_max_s)
            # A burst of replies looks like a bot: a jittered gap after the last one. The
            # chat shows "typing..." meanwhile, so the two waits overlap.
            gap = random.uniform(o.min_gap_s, o.max_gap_s)
            wait = max(pause, self._last_sent + gap - time.monotonic())
            await page.evaluate(page_script.COMPOSE_JS, {"chatId": chat, "ms": int(wait * 1000)})
            await asyncio.sleep(wait)
            if media is None:
                message_id = await page.evaluate(
                    page_script.SEND_JS, {"chatId": chat, "text": text}
                )
            else:
                message_id = await page.evaluate(
                    page_script.SEND_FILE_JS,
                    {
                        "chatId": chat,
                        "content": media.content,
                        "type": media.kind,
                        "caption": text,
                        "filename": media.filename,
                        "mimetype": media.mimetype,
                    },
                )
            self._caps.record()
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
            self._set_qr(None)
            await self._set(DISCONNECTED, UNLINKED_BY_API)

    async def _close_browser(self) -> None:
        context, self._context, self._page = self._context, None, None
        if context is not None:
            try:
                await context.close()
            except Exception as exc:
                log.debug("whatsapp_web %s: close failed: %s", self.tenant_id, exc)


def _text(value: Any, limit: int = 200) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None
