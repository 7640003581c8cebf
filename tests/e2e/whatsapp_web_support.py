"""What the WhatsApp Web browser tests share: the real server with the channel on, driving
Debian's Chromium against the fake page (tests/providers/fake_whatsapp_web.py), and the
steps a test repeats (status, QR, linking, a customer's round trip)."""

from __future__ import annotations

import email
import email.policy
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hablo.bootstrap import bootstrap
from hablo.db.enums import Role
from hablo.demo import seed_demo
from tests.api.support import Api, Client
from tests.conftest import make_settings
from tests.e2e.server import serve, wait_until
from tests.providers.fake_whatsapp_web import FakeWhatsAppWeb

CHROMIUM = Path("/usr/bin/chromium")
CUSTOMER = "5491155550001"
CHAT = CUSTOMER + "@c.us"
BUSINESS_PHONE = "5491144443333"
QUESTION = "hola, cuánto sale el corte?"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@contextmanager
def live_whatsapp_web(
    db_url: str, state_dir: Path, seed: bool, web_url: str, **extra: Any
) -> Iterator[Api]:
    values: dict[str, Any] = {
        "channels": ["console", "whatsapp_web"],
        "state_dir": state_dir,
        "whatsapp_web_url": web_url,  # a platform setting, never an account's
        "whatsapp_web_min_gap_s": 0.0,
        "whatsapp_web_max_gap_s": 0.2,
        "whatsapp_web_backoff_max_s": 2.0,
        "whatsapp_web_typing_min_s": 0.0,
        "whatsapp_web_typing_max_s": 0.0,
    }
    settings = make_settings(db_url, **(values | extra))
    runtime = bootstrap(settings, upgrade_schema=False)
    if seed:
        with runtime.db.transaction() as session:
            seed_demo(session)
    try:
        with serve(runtime) as server:
            yield Api(server, runtime)
    finally:
        runtime.db.dispose()


def status(owner: Client) -> dict[str, Any]:
    response = owner.get("/api/whatsapp/status")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_state(owner: Client, state: str, timeout: float = 30.0) -> dict[str, Any]:
    return wait_until(
        lambda: (s := status(owner))["state"] == state and s,
        timeout=timeout,
        interval=0.2,
        what=f"state {state}",
    )


def get_qr(owner: Client, fmt: str = "png") -> Any:
    """POST /api/whatsapp/qr until the page shows a QR (202 means: not yet)."""

    def ready() -> Any:
        response = owner.post(f"/api/whatsapp/qr?format={fmt}", timeout=60)
        assert response.status_code in (200, 202), response.text
        return response if response.status_code == 200 else None

    return wait_until(ready, timeout=60, interval=0.5, what="a QR")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def round_trip(fake: FakeWhatsAppWeb, text: str) -> str:
    before = len(fake.sent_to(CHAT))
    fake.control("incoming", {"from": CHAT, "text": text, "pushname": "Ana"})
    replies = wait_until(
        lambda: len(fake.sent_to(CHAT)) > before and fake.sent_to(CHAT),
        timeout=30,
        interval=0.2,
        what="the bot's reply on the page",
    )
    return str(replies[-1])


def mails(state_dir: Path) -> list[email.message.Message]:
    folder = state_dir / "mail"
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]


def needs_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package to run this")


def link_by_qr(api: Api, fake: FakeWhatsAppWeb) -> Client:
    """Add the demo tenant's whatsapp_web account, scan its QR; the owner's client."""
    owner = api.as_role(Role.OWNER)
    created = owner.post(
        "/api/channels", json={"channel": "whatsapp_web", "address": "+" + BUSINESS_PHONE}
    )
    assert created.status_code == 201, created.text
    get_qr(owner)
    fake.control("scan", {"phone": BUSINESS_PHONE})
    wait_state(owner, "connected")
    return owner
