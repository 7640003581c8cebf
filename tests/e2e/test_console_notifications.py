"""Notification history in real Chromium: the badge counts what arrived since this user
last opened the list, the list keeps the recent ones, and each user has their own."""

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
def test_the_badge_counts_what_came_since_the_list_was_opened(console: Console) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    with chromium() as browser:
        agent = browser.new_context(locale="es-ES").new_page()
        watch = PageWatch().attach(agent)
        sign_in(agent, console, console.user(Role.AGENT, first_name="Lucía"))
        expect(agent.locator("#notify-count")).to_have_count(0)

        customer_asks_for_a_person(browser, console)
        expect(agent.locator("#notify-count")).to_have_text("1")
        expect(agent.locator(".notifications li.unread")).to_have_count(1)
        agent.locator(".notifications summary").click()
        expect(agent.locator("#notify-count")).to_have_count(0)
        expect(agent.locator(".notifications li.unread")).to_have_count(0)
        assert not axe_findings(agent)

        agent.reload()  # looked at: still read after a reload, and kept in the list
        expect(agent.locator(".notifications li")).to_have_count(1)
        expect(agent.locator("#notify-count")).to_have_count(0)

        customer_asks_for_a_person(browser, console)
        expect(agent.locator("#notify-count")).to_have_text("1")  # only the new one
        agent.reload()
        expect(agent.locator("#notify-count")).to_have_text("1")
        expect(agent.locator(".notifications li")).to_have_count(2)
        watch.check()

        # Someone who never opened the list has both unread.
        other = browser.new_context(locale="es-ES").new_page()
        sign_in(other, console, console.user(Role.AGENT, first_name="Marta"))
        expect(other.locator("#notify-count")).to_have_text("2")
