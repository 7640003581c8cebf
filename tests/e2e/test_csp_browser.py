"""The nonce-based CSP in real Chromium: the pages hablo serves work with no policy
violation, and a script without the nonce is refused."""

from __future__ import annotations

import pytest

from hablo.bootstrap import Runtime
from tests.e2e.server import serve
from tests.e2e.test_webchat_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pages_work_under_the_policy_and_foreign_scripts_do_not(runtime: Runtime) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package to run this")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with serve(runtime) as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))

            page.goto(server.url("/docs"))
            expect(page.locator("#ops details").first).to_be_visible()  # the script ran
            # The inline style applied: the header has its colour, not the default.
            assert (
                page.eval_on_selector("header", "h => getComputedStyle(h).backgroundColor")
                == "rgb(11, 110, 79)"
            )
            page.locator("#filter").fill("/api/services")
            expect(page.locator("#ops details:visible").first).to_contain_text("/api/services")

            page.goto(server.url("/chat/demo"))
            expect(page.locator("#status")).to_have_text("en línea")
            assert (
                page.eval_on_selector("header", "h => getComputedStyle(h).backgroundColor")
                == "rgb(18, 140, 126)"
            )
            assert not [c for c in console if "Content Security Policy" in c], console

            # Markup that gets into the page without the nonce does not run.
            page.evaluate(
                """() => {
                    const s = document.createElement('script');
                    s.textContent = 'window.injected = true';
                    document.body.append(s);
                }"""
            )
            expect(page.locator("#status")).to_have_text("en línea")
            assert page.evaluate("window.injected === undefined")
            assert [c for c in console if "Content Security Policy" in c]
        finally:
            browser.close()
