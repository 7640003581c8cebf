"""The agent's day in real Chromium against the real server: a web chat customer asks for
a person, the inbox shows it live, the agent takes it and replies, gives it back to the
bot, and the bot answers again. Then the mailed links: a password reset and an invitation
end in a working sign-in."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import requests
from sqlalchemy import update

from hablo.api.server import token_service
from hablo.db.enums import Role, SenderKind
from hablo.db.models import Message, User
from hablo.security.principal import Principal
from tests.e2e.console_support import (
    CHROMIUM,
    PASSWORD,
    Console,
    PageWatch,
    axe_findings,
    chromium,
    console_server,
    sign_in,
)
from tests.e2e.server import wait_until
from tests.providers.fake_whatsapp_cloud import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    FakeWhatsAppCloud,
    post_webhook,
    text_message,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found"),
]
WAIT_MS = 30_000
NOTIFICATION_RECORDER = """
window.__notifications = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) {
    window.__notifications.push({title: title, body: (options || {}).body});
  }
};
"""


@pytest.fixture
def console(db_url: str) -> Iterator[Console]:
    with console_server(db_url) as running:
        yield running


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_agent_takes_a_handoff_replies_and_gives_it_back(console: Console) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    with chromium() as browser:
        agent = browser.new_context(locale="es-ES").new_page()
        # The browser's notifications, granted and recorded (headless Chromium shows none).
        agent.add_init_script(NOTIFICATION_RECORDER)
        watch = PageWatch().attach(agent)
        sign_in(agent, console, console.user(Role.AGENT, first_name="Lucía"))
        expect(agent.get_by_text("No hay conversaciones")).to_be_visible()

        customer = browser.new_context(locale="es-ES").new_page()
        customer.goto(console.url("/chat/demo"))
        expect(customer.locator("#send")).to_be_enabled()
        customer.locator("#text").fill("quiero hablar con una persona")
        customer.locator("#text").press("Enter")
        expect(customer.locator(".msg.bot")).to_have_count(1)

        # The open inbox shows it without a reload, waiting for a person, first in the list.
        first = agent.locator("ul.conversations li a").first
        expect(first).to_contain_text("Espera a una persona")
        expect(agent.locator("#notify-count")).to_have_text("1")
        shown = agent.evaluate("window.__notifications")
        assert shown == [
            {
                "title": "Un cliente pide una persona",
                "body": "Un cliente pide una persona: quiero hablar con una persona (webchat)",
            }
        ], shown
        first.click()
        expect(agent.locator("#messages")).to_contain_text("quiero hablar con una persona")
        assert not axe_findings(agent)

        agent.locator("#take").click()
        expect(agent.locator("#assignee")).to_have_text("Lucía")
        agent.get_by_label("Añadir nota").fill("Pregunta por el precio del tinte")
        agent.get_by_role("button", name="Añadir nota").click()
        expect(agent.locator(".notes li")).to_contain_text(["Pregunta por el precio del tinte"])
        expect(agent.get_by_label("Añadir nota")).to_have_value("")
        agent.locator("#reply-text").fill("Hola, soy Lucía. ¿En qué te ayudo?")
        agent.get_by_role("button", name="Enviar").click()
        expect(agent.locator("#messages .msg.agent")).to_contain_text("soy Lucía")
        expect(agent.locator("#reply-text")).to_have_value("")
        expect(customer.locator(".msg.bot").last).to_have_text("Hola, soy Lucía. ¿En qué te ayudo?")
        # Delivered through the web chat: the status the agent sees moves past "sending".
        expect(agent.locator("#messages .msg.agent .delivery").last).not_to_have_text("enviando")

        # The customer writes while the agent holds it: the bot stays silent, the agent
        # sees the message without reloading.
        customer.locator("#text").fill("gracias, una pregunta más")
        customer.locator("#text").press("Enter")
        expect(agent.locator("#messages")).to_contain_text("gracias, una pregunta más")

        agent.locator("#release").click()
        expect(agent.locator("#conv-status")).to_have_text("Abierta")
        bot_answers = customer.locator(".msg.bot").count()
        customer.locator("#text").fill("¿a qué hora abren el sábado?")
        customer.locator("#text").press("Enter")
        expect(customer.locator(".msg.bot")).to_have_count(bot_answers + 1)
        expect(customer.locator(".msg.bot").last).to_contain_text("13:00")
        expect(agent.locator("#messages .msg.bot").last).to_contain_text("13:00")
        watch.check()


def _link_in(console: Console, body: str) -> str:
    """The mail's link, on the test server (the mail names the configured public URL)."""
    found = re.search(r"https?://[^/\s]+(/\S+#token=[A-Za-z0-9_%-]+)", body)
    assert found, body
    return console.url(found.group(1))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_reset_and_invitation_links_lead_to_a_sign_in(console: Console) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    owner = console.user(Role.OWNER)
    with chromium() as browser:
        page = browser.new_context(locale="es-ES").new_page()
        watch = PageWatch().attach(page)
        page.goto(console.url("/app/login"))
        page.get_by_role("link", name="¿Olvidaste la contraseña?").click()
        page.get_by_label("Correo electrónico").fill(owner)
        page.get_by_role("button", name="Enviar enlace").click()
        expect(page.get_by_role("status")).to_contain_text("va en camino")
        link = _link_in(console, console.mail.body(console.mail.wait_for(owner, 1, timeout=30)))
        assert "/app/reset-password#token=" in link
        # Mails sent before the console linked /reset-password: that address still works.
        page.goto(link.replace("/app/reset-password", "/reset-password"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Elegir una contraseña nueva")
        page.get_by_label("Nueva contraseña").fill("Otra-Clave-Segura-77")
        page.get_by_role("button", name="Guardar contraseña").click()
        expect(page.get_by_role("status")).to_contain_text("Contraseña guardada")
        # The same link does not work twice.
        page.goto(link)
        page.get_by_label("Nueva contraseña").fill("Tercera-Clave-Segura-88")
        page.get_by_role("button", name="Guardar contraseña").click()
        expect(page.locator(".error:visible")).to_contain_text("venció o ya se usó")
        watch.problems.clear()  # that 400 was the point

        page.goto(console.url("/app/login"))
        page.get_by_label("Correo electrónico").fill(owner)
        page.get_by_label("Contraseña").fill("Otra-Clave-Segura-77")
        page.get_by_role("button", name="Iniciar sesión").click()
        code = console.mail.code_in(console.mail.wait_for(owner, 2, timeout=30))
        page.get_by_label("Código").fill(code)
        page.get_by_role("button", name="Verificar").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Bandeja")
        watch.check()

        # The owner invites an agent through the API; the invitation mail's link sets the
        # password, and the first sign-in leads to the second-factor set-up.
        token = _api_token(console, owner, "Otra-Clave-Segura-77", mails_before=2)
        invited = "nuevo.agente@example.com"
        created = requests.post(
            console.url("/api/users"),
            json={"email": invited, "first_name": "Nico", "role": "agent"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        link = _link_in(console, console.mail.body(console.mail.wait_for(invited, 1, timeout=30)))
        assert "/app/accept-invitation#token=" in link
        fresh = browser.new_context(locale="es-ES").new_page()
        watch = PageWatch().attach(fresh)
        fresh.goto(link)
        expect(fresh.get_by_role("heading", level=1)).to_have_text("Aceptar la invitación")
        assert "#token" not in fresh.url  # the token leaves the address bar once read
        fresh.get_by_label("Nueva contraseña").fill(PASSWORD)
        fresh.get_by_role("button", name="Guardar contraseña").click()
        fresh.get_by_label("Correo electrónico").fill(invited)
        fresh.get_by_label("Contraseña").fill(PASSWORD)
        fresh.get_by_role("button", name="Iniciar sesión").click()
        expect(fresh.get_by_role("heading", level=1)).to_have_text("Seguridad")
        expect(fresh.get_by_role("status").first).to_contain_text("segundo factor")
        fresh.get_by_role("button", name="Configurar una aplicación de autenticación").click()
        expect(fresh.locator("#totp-secret")).not_to_be_empty()
        assert not axe_findings(fresh)
        authenticator = pyotp.TOTP(fresh.locator("#totp-secret").inner_text())
        fresh.get_by_label("Código").fill(authenticator.now())
        fresh.get_by_role("button", name="Verificar").click()
        expect(fresh.get_by_role("status").last).to_contain_text("es tu segundo factor")
        expect(fresh.locator("#factor")).to_have_text("Aplicación de autenticación")

        # From now on the sign-in asks for the app's code (the next one: a code is used once).
        fresh.get_by_role("button", name="Cerrar sesión", exact=True).click()
        expect(fresh.get_by_role("status")).to_contain_text("Sesión cerrada")
        fresh.get_by_label("Correo electrónico").fill(invited)
        fresh.get_by_label("Contraseña").fill(PASSWORD)
        fresh.get_by_role("button", name="Iniciar sesión").click()
        expect(fresh.get_by_text("aplicación de autenticación")).to_be_visible()
        next_step = datetime.now(UTC) + timedelta(seconds=authenticator.interval)
        fresh.get_by_label("Código").fill(authenticator.at(next_step))
        fresh.get_by_role("button", name="Verificar").click()
        expect(fresh.get_by_role("heading", level=1)).to_contain_text("Bandeja")
        watch.check()


def _api_token(console: Console, email: str, password: str, mails_before: int) -> str:
    first = requests.post(
        console.url("/api/auth/login"), json={"email": email, "password": password}, timeout=30
    ).json()
    code = console.mail.code_in(console.mail.wait_for(email, mails_before + 1, timeout=30))
    done = requests.post(
        console.url("/api/auth/2fa/verify"),
        json={"challenge": first["challenge"], "code": code},
        timeout=30,
    )
    assert done.status_code == 200, done.text
    return str(done.json()["access_token"])


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_same_for_whatsapp_through_the_fake_graph_api(db_url: str) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    fake = FakeWhatsAppCloud().start()
    try:
        with console_server(
            db_url,
            channels=["console", "whatsapp_cloud"],
            whatsapp_cloud_api_base=fake.api_base,
        ) as console:
            _connect_whatsapp(console, template_name="seguimiento", template_text_param=True)
            _whatsapp_journey(console, fake)
    finally:
        fake.stop()


def _connect_whatsapp(console: Console, **config: Any) -> None:
    """The owner connects the number through the API, as in the WhatsApp tests."""
    with console.runtime.db.transaction() as session:
        owner = User(
            tenant_id=console.tenant_id,
            email=f"owner.{uuid.uuid4().hex[:6]}@example.com",
            first_name="Sol",
            password_hash="!",
            role=Role.OWNER,
        )
        session.add(owner)
        session.flush()
        principal = Principal(owner.id, console.tenant_id, Role.OWNER)
    token = token_service(console.runtime).issue_access(principal)
    created = requests.post(
        console.url("/api/channels"),
        json={
            "channel": "whatsapp_cloud",
            "address": PHONE_NUMBER_ID,
            "display_name": "Salón (WhatsApp)",
            "config": {"verify_token": VERIFY_TOKEN, **config},
            "secrets": {"access_token": ACCESS_TOKEN, "app_secret": APP_SECRET},
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text


def _whatsapp_journey(console: Console, fake: FakeWhatsAppCloud) -> None:
    from playwright.sync_api import expect

    peer = "5491155550001"
    base = console.server.base_url
    with chromium() as browser:
        agent = browser.new_context(locale="es-ES").new_page()
        watch = PageWatch().attach(agent)
        sign_in(agent, console, console.user(Role.AGENT, first_name="Lucía"))
        assert post_webhook(base, text_message(peer, "quiero hablar con una persona", "w1")).ok
        first = agent.locator("ul.conversations li a").first
        expect(first).to_contain_text("Espera a una persona")
        expect(first).to_contain_text("whatsapp_cloud")
        first.click()
        agent.locator("#take").click()
        agent.locator("#reply-text").fill("Hola Ana, te atiendo yo.")
        agent.get_by_role("button", name="Enviar").click()
        wait_until(
            lambda: any(s.text == "Hola Ana, te atiendo yo." for s in fake.sent_to(peer)),
            timeout=30,
            what="the agent's reply at the Graph API",
        )
        agent.locator("#release").click()
        expect(agent.locator("#conv-status")).to_have_text("Abierta")
        sent = len(fake.sent_to(peer))
        assert post_webhook(base, text_message(peer, "¿a qué hora abren el sábado?", "w2")).ok
        wait_until(lambda: len(fake.sent_to(peer)) > sent, timeout=30, what="the bot's answer")
        assert "13:00" in fake.sent_to(peer)[-1].text
        expect(agent.locator("#messages .msg.bot").last).to_contain_text("13:00")

        # A day later the composer says WhatsApp's window is closed and names the template.
        with console.runtime.db.transaction() as session:
            session.execute(
                update(Message)
                .where(Message.sender_kind == SenderKind.CUSTOMER)
                .values(created_at=datetime.now(UTC) - timedelta(hours=25))
            )
        agent.reload()
        expect(agent.locator("#window-closed")).to_contain_text("24 horas")
        expect(agent.locator("#template-name")).to_have_text("seguimiento")
        watch.check()
