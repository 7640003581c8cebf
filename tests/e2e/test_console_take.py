"""Two agents take the same conversation at the same moment in real Chromium: one gets
it, the other is told someone else has it (nothing silently taken from anyone), and can
then take it over on purpose."""

from __future__ import annotations

import pytest

from hablo.db.enums import Role
from tests.e2e.console_support import (
    BROWSER_TEST,
    Console,
    PageWatch,
    axe_findings,
    chromium,
    console,
    customer_asks_for_a_person,
    sign_in,
)

pytestmark = BROWSER_TEST
__all__ = ["console"]  # the fixture
WAIT_MS = 30_000


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_second_of_two_agents_taking_is_told(console: Console) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    with chromium() as browser:
        customer_asks_for_a_person(browser, console)

        pages = {}
        for name in ("Lucía", "Marta"):
            page = browser.new_context(locale="es-ES").new_page()
            sign_in(page, console, console.user(Role.AGENT, first_name=name))
            page.locator("ul.conversations li a").first.click()
            expect(page.locator("#take")).to_be_visible()
            pages[name] = page
        lucia, marta = pages["Lucía"], pages["Marta"]
        # Marta's screen is frozen at "nobody has it" (no live refresh): the same moment.
        marta.route("**/app/live*", lambda route: route.abort())
        marta.reload()
        expect(marta.locator("#take")).to_be_visible()
        watch = PageWatch(allowed_statuses={409}).attach(marta)
        lucia_watch = PageWatch().attach(lucia)

        lucia.locator("#take").click()
        expect(lucia.locator("#assignee")).to_have_text("Lucía")
        marta.locator("#take").click()
        expect(marta.locator("#flash")).to_contain_text(
            "Otra persona cambió quién atiende esta conversación"
        )
        expect(marta.locator("#assignee")).to_have_count(0)  # her page was not changed
        assert not axe_findings(marta)

        # Having seen who has it, taking it over is deliberate and works.
        marta.reload()
        expect(marta.locator("#assignee")).to_have_text("Lucía")
        marta.locator("#take").click()
        expect(marta.locator("#assignee")).to_have_text("Marta")
        expect(lucia.locator("#assignee")).to_have_text("Marta")  # Lucía's page is live
        lucia_watch.check()
        # What the blocked event stream itself logs on Marta's page is the test's doing.
        blocked = {"console: [object Event]", "console: Failed to load resource: net::ERR_FAILED"}
        watch.problems = [p for p in watch.problems if p not in blocked]
        watch.check()
