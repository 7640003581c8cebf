"""Screenshots of the staff console, desktop and phone width, into docs/screenshots/.

Runs the real server on a throw-away SQLite database with the demo salon, lets three
customers talk to the bot (one asks for a person), signs an agent in through the real
form in Chromium (/usr/bin/chromium), and saves every console page.

    make screenshots        (or: .venv/bin/python scripts/console_screenshots.py)
"""

from __future__ import annotations

import io
import sys
import tempfile
import uuid
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test server helpers (tests/e2e/server.py)

from hablo.adapters.console import ConsoleSender, run_console  # noqa: E402
from hablo.bootstrap import bootstrap  # noqa: E402
from hablo.config import Settings  # noqa: E402
from hablo.db.enums import Role  # noqa: E402
from hablo.db.migrate import upgrade  # noqa: E402
from hablo.db.models import Label, SavedReply, User  # noqa: E402
from hablo.demo import seed_demo  # noqa: E402
from hablo.security.passwords import hash_password  # noqa: E402
from tests.e2e.server import serve  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "Gato-Azul-2024"
SIZES: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 860},
    "phone": {"width": 390, "height": 844},
}
CUSTOMERS = {
    "+34600111222": ["hola", "¿cuánto cuesta un corte de pelo?"],
    "+34600333444": ["¿a qué hora abren el sábado?"],
    "+34600555666": ["hola", "quiero hablar con una persona"],
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hablo-shots-") as folder:
        url = f"sqlite:///{folder}/console.db"
        upgrade(url)
        settings = Settings.model_validate(
            {
                "database_url": url,
                "state_dir": folder,
                "channels": ["console", "webchat"],
                "nlu_train_in_background": False,
            }
        )
        runtime = bootstrap(settings, upgrade_schema=False)
        with runtime.db.transaction() as session:
            tenant_id = seed_demo(session)
            email = f"lucia.{uuid.uuid4().hex[:6]}@example.com"
            session.add(
                User(
                    tenant_id=tenant_id,
                    email=email,
                    first_name="Lucía",
                    last_name="Gómez",
                    password_hash=hash_password(PASSWORD),
                    role=Role.AGENT,
                )
            )
            session.add(Label(tenant_id=tenant_id, name="VIP"))
            session.add(
                SavedReply(
                    tenant_id=tenant_id,
                    shortcut="horario",
                    text="Abrimos de lunes a viernes de 9:00 a 20:00.",
                )
            )
        with serve(runtime) as server:
            runtime.engine.add_sender(ConsoleSender(io.StringIO(), prefix=""))
            for phone, lines in CUSTOMERS.items():
                run_console(runtime.engine, tenant_id, phone, lines)
            shoot(server.url, email)
        runtime.db.dispose()
    print(f"screenshots in {OUT.relative_to(ROOT)}/")


def shoot(url: object, email: str) -> None:
    base = url  # ServerThread.url: path -> absolute URL
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for size, viewport in SIZES.items():
            page = browser.new_context(locale="es-ES", viewport=viewport).new_page()
            page.goto(base("/app/login"))  # type: ignore[operator]
            save(page, "login", size)
            page.get_by_label("Correo electrónico").fill(email)
            page.get_by_label("Contraseña").fill(PASSWORD)
            page.get_by_role("button", name="Iniciar sesión").click()
            page.wait_for_url("**/app/inbox")
            save(page, "inbox", size)
            page.locator("ul.conversations li a").first.click()
            page.wait_for_selector("#messages .msg")
            save(page, "conversation", size)
            for name, path in (
                ("inbox-settings", "/app/inbox/settings"),
                ("security", "/app/security"),
            ):
                page.goto(base(path))  # type: ignore[operator]
                save(page, name, size)
            page.context.close()
        browser.close()


def save(page: Page, name: str, size: str) -> None:
    page.wait_for_timeout(300)  # let htmx settle
    page.screenshot(path=str(OUT / f"console-{name}-{size}.png"), full_page=True)


if __name__ == "__main__":
    main()
