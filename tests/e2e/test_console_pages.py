"""Every console page in real Chromium, for every role that may see it: it renders, with
no console errors, no failed requests and no serious accessibility findings (axe-core);
pages and actions a role may not use are refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from hablo.db.enums import Role
from hablo.db.models import Conversation
from tests.e2e.console_support import (
    CHROMIUM,
    PHONE,
    Console,
    PageWatch,
    axe_findings,
    chromium,
    console_server,
    sign_in,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found"),
]


@pytest.fixture
def console(db_url: str) -> Iterator[Console]:
    with console_server(db_url) as running:
        yield running


def _a_conversation(console: Console) -> str:
    """A web chat conversation of the demo business (a customer said hello)."""
    with console.runtime.db.transaction() as session:
        found = session.scalars(
            select(Conversation.id).where(Conversation.tenant_id == console.tenant_id)
        ).first()
    assert found is not None
    return str(found)


def _visit(page, watch: PageWatch, url: str, heading: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_role("heading", level=1).first).to_contain_text(heading)
    page.wait_for_load_state("networkidle") if "/app/inbox" not in url else None
    findings = axe_findings(page)
    assert not findings, f"{url}:\n" + "\n".join(findings)
    watch.check()


PUBLIC_PAGES = [
    ("/app/login", "Iniciar sesión"),
    ("/app/forgot-password", "Recuperar la contraseña"),
    ("/app/reset-password", "Elegir una contraseña nueva"),
    ("/app/accept-invitation", "Aceptar la invitación"),
]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_every_page_for_every_role(console: Console) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    conversation_id = _start_a_chat(console)
    staff_pages = [
        ("/app/inbox", "Bandeja"),
        (f"/app/conversations/{conversation_id}", "Bandeja"),
        ("/app/inbox/settings", "Etiquetas"),
        ("/app/security", "Seguridad"),
    ]
    with chromium() as browser:
        for viewport in (None, PHONE):
            context = browser.new_context(locale="es-ES", viewport=viewport)
            page = context.new_page()
            watch = PageWatch().attach(page)
            for path, heading in PUBLIC_PAGES:
                _visit(page, watch, console.url(path), heading)
            context.close()
        for role in (Role.OWNER, Role.ADMIN, Role.AGENT):
            context = browser.new_context(locale="es-ES")
            page = context.new_page()
            watch = PageWatch().attach(page)
            sign_in(page, console, console.user(role))
            for path, heading in staff_pages:
                _visit(page, watch, console.url(path), heading)
            context.close()
        # A client of the business and the platform's super admin have an account
        # (security page) but no inbox.
        for role in (Role.CLIENT, Role.SUPER_ADMIN):
            context = browser.new_context(locale="es-ES")
            page = context.new_page()
            watch = PageWatch(allowed_statuses={403}).attach(page)
            sign_in(page, console, console.user(role), target="/app/security")
            _visit(page, watch, console.url("/app/security"), "Seguridad")
            for path, _ in staff_pages[:3]:
                response = page.goto(console.url(path))
                assert response is not None and response.status == 403, (role, path)
                expect(page.locator(".error")).to_contain_text("rol")
            context.close()


def _start_a_chat(console: Console) -> str:
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page()
        page.goto(console.url("/chat/demo"))
        expect(page.locator("#send")).to_be_enabled(timeout=30_000)
        page.locator("#text").fill("hola")
        page.locator("#text").press("Enter")
        expect(page.locator(".msg.bot")).to_have_count(1, timeout=30_000)
    return _a_conversation(console)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_labels_saved_replies_filters_and_language(console: Console) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    conversation_id = _start_a_chat(console)
    with chromium() as browser:
        page = browser.new_context(locale="es-ES").new_page()
        watch = PageWatch().attach(page)
        sign_in(page, console, console.user(Role.OWNER), target="/app/inbox/settings")
        page.get_by_label("Nueva etiqueta").fill("VIP")
        page.get_by_role("button", name="Añadir").first.click()
        expect(page.locator(".label-chip")).to_have_text(["VIP"])
        page.get_by_label("Renombrar VIP").fill("Cliente VIP")
        page.get_by_role("button", name="Renombrar").click()
        expect(page.locator(".label-chip")).to_have_text(["Cliente VIP"])
        page.get_by_label("Atajo").fill("/horario")
        page.get_by_label("Texto").fill("Abrimos de lunes a sábado.")
        page.get_by_role("button", name="Añadir").last.click()
        expect(page.locator("code")).to_have_text(["/horario"])
        assert not axe_findings(page)  # with its rename and delete forms filled in

        page.goto(console.url(f"/app/conversations/{conversation_id}"))
        page.get_by_role("button", name="Cliente VIP").click()
        expect(page.get_by_role("button", name="Cliente VIP")).to_have_attribute(
            "aria-pressed", "true"
        )
        # "/hor" offers the saved reply; Tab puts its text in the composer.
        page.locator("#reply-text").fill("/hor")
        expect(page.locator("#shortcut-menu")).to_contain_text("/horario")
        page.locator("#reply-text").press("Tab")
        expect(page.locator("#reply-text")).to_have_value("Abrimos de lunes a sábado.")
        assert not axe_findings(page)

        rows = page.locator("ul.conversations li")
        page.goto(console.url("/app/inbox"))
        expect(rows).to_have_count(1)
        page.get_by_label("Etiqueta").select_option(label="Cliente VIP")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Cliente VIP")
        page.get_by_label("Estado").select_option(value="closed")
        expect(page.get_by_text("No hay conversaciones")).to_be_visible()
        # Something changes in the inbox: the live refresh keeps the filters chosen since.
        with (
            page.expect_response(lambda r: "/app/inbox/list" in r.url) as refreshed,
            console.runtime.db.transaction() as session,
        ):
            session.execute(
                update(Conversation)
                .where(Conversation.id == uuid.UUID(conversation_id))
                .values(updated_at=datetime.now(UTC))
            )
        assert "status=closed" in refreshed.value.url
        expect(page.get_by_text("No hay conversaciones")).to_be_visible()
        page.get_by_label("Estado").select_option(value="")
        page.get_by_label("Buscar").fill("hola")
        page.get_by_label("Buscar").press("Enter")
        expect(rows).to_have_count(1)
        page.get_by_label("Buscar").fill("nadie dijo esto")
        page.get_by_label("Buscar").press("Enter")
        expect(page.get_by_text("No hay conversaciones")).to_be_visible()

        page.get_by_role("link", name="English").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Inbox")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        watch.check()
