"""The agent sends an image and a document from the composer in real Chromium: the
customer gets them, the conversation shows them, a file the providers would refuse gets
a clear message and nothing is sent."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

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
# A real 1×1 PNG (the browser draws it: a broken image would not be 1 px wide).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000000030101001826dd8d0000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_agent_sends_an_image_and_a_document(console: Console, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    image = tmp_path / "precios.png"
    image.write_bytes(PNG)
    document = tmp_path / "presupuesto.pdf"
    document.write_bytes(PDF)
    fake = tmp_path / "virus.pdf"
    fake.write_bytes(b"MZ\x90\x00 this is no pdf")
    with chromium() as browser:
        customer = customer_asks_for_a_person(browser, console)

        agent = browser.new_context(locale="es-ES").new_page()
        watch = PageWatch(allowed_statuses={415}).attach(agent)
        sign_in(agent, console, console.user(Role.AGENT, first_name="Lucía"))
        agent.locator("ul.conversations li a").first.click()
        expect(agent.locator("#messages")).to_contain_text("quiero hablar con una persona")

        agent.get_by_label("Adjuntar una imagen o un documento").set_input_files(str(image))
        agent.get_by_label("Texto que lo acompaña (opcional)").fill("Nuestra lista de precios")
        agent.get_by_role("button", name="Mandar archivo").click()
        shown = agent.locator("#messages .msg.agent img.thumb")
        expect(shown).to_have_count(1)
        expect(shown).to_have_attribute("alt", "precios.png")
        expect(agent.locator("#messages .msg.agent").last).to_contain_text(
            "Nuestra lista de precios"
        )
        # The browser loaded the image from its signed link (same origin, CSP allows it).
        agent.wait_for_function(
            "() => { const i = document.querySelector('img.thumb'); "
            "return i && i.complete && i.naturalWidth === 1; }",
            timeout=WAIT_MS,
        )
        expect(agent.get_by_label("Texto que lo acompaña (opcional)")).to_have_value("")
        expect(customer.locator(".msg.bot").last).to_contain_text("Nuestra lista de precios")
        expect(customer.locator(".msg.bot").last).to_contain_text("/media/")
        link = agent.locator("#messages .msg.agent a.media").first.get_attribute("href")
        assert link and link.startswith("/media/")
        fetched = requests.get(console.url(link), timeout=30)
        assert fetched.status_code == 200 and fetched.content == PNG

        agent.get_by_label("Adjuntar una imagen o un documento").set_input_files(str(document))
        agent.get_by_role("button", name="Mandar archivo").click()
        expect(agent.locator("#messages .msg.agent a.media").last).to_have_text(
            "Documento: presupuesto.pdf"
        )

        sent_before = agent.locator("#messages .msg.agent").count()
        agent.get_by_label("Adjuntar una imagen o un documento").set_input_files(str(fake))
        agent.get_by_role("button", name="Mandar archivo").click()
        expect(agent.locator("#flash")).to_contain_text("Ese archivo no se puede enviar")
        expect(agent.locator("#messages .msg.agent")).to_have_count(sent_before)
        assert not axe_findings(agent)
        watch.check()
