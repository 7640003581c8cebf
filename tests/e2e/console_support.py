"""The console in real Chromium: a live server with the web chat (the customer's side),
mail to a fake SMTP server, staff users with real passwords, and checks every page gets
(no console errors, no failed requests, axe-core without serious findings)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest

from hablo.bootstrap import Runtime, bootstrap
from hablo.db.enums import Role
from hablo.db.models import User
from hablo.demo import seed_demo
from hablo.security.passwords import hash_password
from tests.conftest import make_settings
from tests.e2e.server import ServerThread, serve
from tests.e2e.test_webchat_browser import CHROMIUM, CHROMIUM_ARGS
from tests.providers.fake_smtp import Inbox, fake_smtp

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
PASSWORD = "Gato-Azul-2024"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


@dataclass
class Console:
    server: ServerThread
    runtime: Runtime
    mail: Inbox
    tenant_id: uuid.UUID

    def url(self, path: str) -> str:
        return self.server.url(path)

    def user(self, role: Role, *, method: str | None = None, first_name: str = "Ana") -> str:
        """A staff user with the shared password; returns the e-mail."""
        email = f"{role.value}.{uuid.uuid4().hex[:8]}@example.com"
        with self.runtime.db.transaction() as session:
            session.add(
                User(
                    tenant_id=None if role is Role.SUPER_ADMIN else self.tenant_id,
                    email=email,
                    first_name=first_name,
                    password_hash=hash_password(PASSWORD),
                    role=role,
                    two_factor_method=method,
                )
            )
        return email


@contextmanager
def console_server(db_url: str, **overrides: Any) -> Iterator[Console]:
    with fake_smtp() as (mail, port):
        overrides.setdefault("channels", ["webchat", "console"])
        runtime = bootstrap(
            make_settings(
                db_url,
                smtp_host="127.0.0.1",
                smtp_port=port,
                smtp_security="none",
                **overrides,
            ),
            upgrade_schema=False,
        )
        with runtime.db.transaction() as session:
            tenant_id = seed_demo(session)
        try:
            with serve(runtime) as server:
                yield Console(server, runtime, mail, tenant_id)
        finally:
            runtime.db.dispose()


_REASONS = {status.value: status.phrase for status in HTTPStatus}


@dataclass
class PageWatch:
    """What went wrong on a page: console errors, uncaught exceptions, failed requests."""

    problems: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=set)

    def attach(self, page: Any) -> PageWatch:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        return self

    def _console(self, message: Any) -> None:
        # Chromium also logs every 4xx response; an expected status is not a problem.
        expected = any(
            message.text.endswith(f"status of {status} ({reason})")
            for status, reason in _REASONS.items()
            if status in self.allowed_statuses
        )
        if message.type == "error" and not expected:
            self.problems.append(f"console: {message.text}")

    def _failed(self, request: Any) -> None:
        # An event stream closed by navigating away is not a failure of the page.
        if request.url.split("?")[0].endswith("/app/live"):
            return
        # Nor is a live refresh (an htmx partial) the page left before it was answered.
        if request.failure == "net::ERR_ABORTED" and request.headers.get("hx-request"):
            return
        self.problems.append(f"request failed: {request.url} {request.failure}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.status not in self.allowed_statuses:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def check(self) -> None:
        found, self.problems = self.problems, []
        assert not found, "\n".join(found)


def axe_findings(page: Any) -> list[str]:
    """Serious and critical axe-core violations of the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluate() runs outside the page's CSP, which stays as strict as in production.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => JSON.stringify(await axe.run(document))")
    violations = json.loads(result)["violations"]
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Any, console: Console, email: str, target: str = "/app/inbox") -> None:
    """Through the real forms: password, then the mailed code when the role needs one."""
    before = len(console.mail.to(email))
    page.goto(console.url(f"/app/login?next={target}"))
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_load_state()
    if "/app/login/code" in page.url:
        code = console.mail.code_in(console.mail.wait_for(email, before + 1, timeout=30))
        page.get_by_label("Código").fill(code)
        page.get_by_role("button", name="Verificar").click()
    page.wait_for_url(f"**{target}*", timeout=30_000)


# Every browser test of the console: marked, and skipped where Chromium is missing.
BROWSER_TEST = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found"),
]


def customer_asks_for_a_person(browser: Any, console: Console) -> Any:
    """A web chat customer who asked for a person (and got the bot's answer): the page."""
    from playwright.sync_api import expect

    customer = browser.new_context(locale="es-ES").new_page()
    customer.goto(console.url("/chat/demo"))
    expect(customer.locator("#send")).to_be_enabled()
    customer.locator("#text").fill("quiero hablar con una persona")
    customer.locator("#text").press("Enter")
    expect(customer.locator(".msg.bot")).to_have_count(1)
    return customer


@pytest.fixture
def console(db_url: str) -> Iterator[Console]:
    """The console's live server with the demo business (import it into a test module)."""
    with console_server(db_url) as running:
        yield running
