"""The web chat page in real Chromium (Debian's package), against the real server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from hablo.bootstrap import Runtime
from hablo.db.enums import DeliveryStatus, SenderKind
from hablo.db.models import InboxEvent, Message
from tests.e2e.server import serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(os.environ.get("HABLO_WEBCHAT_SCREENSHOT", "/tmp/webchat.png"))
TIMEOUT_MS = 15_000


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_chat_page_in_chromium(runtime: Runtime) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package to run this")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with serve(runtime) as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 420, "height": 640})
            page_errors: list[str] = []
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.goto(server.url("/chat/demo"))
            expect(page).to_have_title("Peluquería Sol · chat")
            expect(page.locator("header")).to_contain_text("Peluquería Sol")
            expect(page.locator("#status")).to_have_text("en línea")
            expect(page.locator("#send")).to_be_enabled()

            bot = page.locator(".msg.bot")
            me = page.locator(".msg.me")

            page.locator("#text").fill("hola")
            page.locator("#text").press("Enter")
            expect(me).to_have_text(["hola"])
            expect(bot).to_have_count(1)
            expect(bot.nth(0)).to_contain_text("Peluquería Sol")
            expect(page.locator("#text")).to_have_value("")

            page.locator("#text").fill("¿a qué hora abren el sábado?")
            page.locator("#text").press("Enter")
            expect(bot).to_have_count(2)
            expect(bot.nth(1)).to_contain_text("13:00")

            # Markup typed by the visitor is shown as text, never parsed.
            page.locator("#text").fill("<b>hola</b>")
            page.locator("#text").press("Enter")
            expect(me.nth(2)).to_have_text("<b>hola</b>")
            expect(bot).to_have_count(3)
            assert page.locator("#log b").count() == 0
            assert page.locator(".msg.sys").count() == 0  # no error frames shown

            visitor = page.evaluate("localStorage.getItem('hablo-visitor')")
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            assert not page_errors, page_errors
        finally:
            browser.close()

    assert SCREENSHOT.stat().st_size > 0
    with runtime.db.transaction() as session:
        peers = set(session.scalars(select(InboxEvent.peer)).all())
        rows = session.execute(select(Message.sender_kind, Message.body, Message.status)).all()
    assert peers == {visitor}
    assert sorted(r.body for r in rows if r.sender_kind == SenderKind.CUSTOMER) == sorted(
        ["hola", "¿a qué hora abren el sábado?", "<b>hola</b>"]
    )
    bot_rows = [r for r in rows if r.sender_kind == SenderKind.BOT]
    assert len(bot_rows) == 3 and all(r.status == DeliveryStatus.SENT for r in bot_rows)
