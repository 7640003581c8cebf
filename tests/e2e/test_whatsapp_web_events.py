"""WhatsApp Web's pushed events and richer messages, end to end in real Chromium against
the fake page: the served QR follows WhatsApp's rotation (conn.auth_code_change), the
status follows conn.online, incoming media, locations and button replies reach the engine,
a hidden "@lid" sender is the same customer as their number, an agent's file goes out
through sendFileMessage, and a process past its browser cap refuses another tenant."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import qrcode
from sqlalchemy import func, select

from hablo.adapters.whatsapp_web.qr import qr_png
from hablo.db.enums import Role
from hablo.db.models import Contact, Conversation, Message
from tests.api.support import Api
from tests.e2e.server import wait_until
from tests.e2e.whatsapp_web_support import (
    BUSINESS_PHONE,
    CHAT,
    CUSTOMER,
    get_qr,
    live_whatsapp_web,
    needs_chromium,
    round_trip,
    status,
    wait_state,
)
from tests.providers.fake_whatsapp_web import FakeWhatsAppWeb
from tests.providers.public_proxy import PublicProxy

pytestmark = pytest.mark.browser

HIDDEN_ID = "190237461230981@lid"  # WhatsApp's hidden id for CUSTOMER


def a_png() -> bytes:
    buffer = io.BytesIO()
    qrcode.make("hablo test file").save(buffer)
    return buffer.getvalue()


def test_events_media_lid_files_and_browser_cap(db_url: str, tmp_path: Path) -> None:
    needs_chromium()
    fake = FakeWhatsAppWeb().start()
    proxy = PublicProxy().start()
    try:
        with live_whatsapp_web(
            db_url,
            tmp_path / "state",
            True,
            fake.url,
            public_url=proxy.url,
            whatsapp_web_max_browsers=1,
        ) as api:
            proxy.target = api.base_url
            owner = api.as_role(Role.OWNER)
            created = owner.post(
                "/api/channels", json={"channel": "whatsapp_web", "address": "+" + BUSINESS_PHONE}
            )
            assert created.status_code == 201, created.text

            # The QR served is the page's, and follows WhatsApp's rotation.
            first = get_qr(owner).content
            assert first == qr_png(fake.qr_refs[-1])
            rotated = fake.control("rotate")["ref"]
            wait_until(
                lambda: get_qr(owner).content == qr_png(rotated),
                timeout=30,
                interval=0.3,
                what="the rotated QR served",
            )
            fake.control("scan", {"phone": BUSINESS_PHONE})
            assert wait_state(owner, "connected")["online"] in (None, True)

            # Another tenant cannot start a second browser past the process's cap.
            other = api.as_role(Role.OWNER, tenant="otro")
            added = other.post(
                "/api/channels", json={"channel": "whatsapp_web", "address": "+5491144449999"}
            )
            assert added.status_code == 201, added.text
            refused = other.post("/api/whatsapp/qr", timeout=60)
            assert refused.status_code == 503, refused.text
            error = refused.json()["error"]
            assert error["code"] == "too_many_browsers"
            assert error["details"]["max_browsers"] == 1
            assert status(other)["state"] == "not_started"

            # conn.online: the page's connection drops and comes back.
            fake.control("flags", {"online": False})
            wait_until(lambda: status(owner)["online"] is False, timeout=30, what="offline")
            fake.control("flags", {"online": True})
            wait_until(lambda: status(owner)["online"] is True, timeout=30, what="online")

            # A text, then an image with a caption, a location and a button reply.
            round_trip(fake, "hola")
            incoming: list[dict[str, Any]] = [
                {"type": "image", "caption": "¿tienen este color?", "mimetype": "image/jpeg"},
                {"type": "location", "lat": -34.6037, "lng": -58.3816, "place": "Obelisco"},
                {"type": "buttons_response", "text": "Mañana", "choiceId": "day-2"},
                {"type": "sticker", "mimetype": "image/webp"},
            ]
            for body in incoming:
                fake.control("incoming", {"from": CHAT, **body})
            wait_until(
                lambda: (
                    _bodies(api, "¿tienen este color?", "📍 Obelisco", "Mañana", "[sticker]") == 4
                ),
                timeout=60,
                what="the media, location, button reply and sticker in the conversation",
            )
            with api.runtime.db.transaction() as session:
                image = session.scalars(
                    select(Message).where(Message.body == "¿tienen este color?")
                ).one()
                place = session.scalars(select(Message).where(Message.body == "📍 Obelisco")).one()
            assert image.attachments is not None
            assert image.attachments[0]["type"] == "image"
            assert image.attachments[0]["mime_type"] == "image/jpeg"
            assert place.attachments is not None
            assert place.attachments[0]["latitude"] == pytest.approx(-34.6037)

            # A hidden "@lid" sender WhatsApp maps to CUSTOMER: the same contact and chat.
            fake.control("lid", {"lid": HIDDEN_ID, "phone": CUSTOMER})
            before = len(fake.sent_to(CHAT))
            fake.control("incoming", {"from": HIDDEN_ID, "text": "¿cuánto sale el corte?"})
            wait_until(
                lambda: len(fake.sent_to(CHAT)) > before,
                timeout=60,
                what="the reply to the @lid sender, on the number's chat",
            )
            with api.runtime.db.transaction() as session:
                peers = set(session.scalars(select(Conversation.peer)))
                contacts = session.scalar(
                    select(func.count(Contact.id)).where(Contact.phone == "+" + CUSTOMER)
                )
            assert "+" + CUSTOMER in peers
            assert not any("190237461230981" in peer for peer in peers)
            assert contacts == 1
            assert not any(chat.endswith("@lid") for _, chat in fake.actions)

            # An agent sends a file: fetched through the public link, sent as a file with
            # its caption, after "typing...".
            with api.runtime.db.transaction() as session:
                conversation = session.scalar(
                    select(Conversation.id).where(Conversation.peer == "+" + CUSTOMER)
                )
            png = a_png()
            sent = owner.post(
                f"/api/conversations/{conversation}/media",
                files={"file": ("color.png", png, "image/png")},
                data={"caption": "Este es el tono"},
            )
            assert sent.status_code == 201, sent.text
            wait_until(lambda: fake.files, timeout=60, what="the file on the page")
            file = fake.files[0]
            assert file["chatId"] == CHAT
            assert file["data"] == png
            assert file["header"] == "data:image/png;base64"
            assert file["options"]["type"] == "image"
            assert file["options"]["caption"] == "Este es el tono"
            assert any(path.startswith("/media/") for path in proxy.forwarded)
            actions = fake.actions_on(CHAT)
            assert actions[-2:] == ["composing", "file"]
    finally:
        proxy.stop()
        fake.stop()


def _bodies(api: Api, *bodies: str) -> int:
    with api.runtime.db.transaction() as session:
        found = session.scalar(select(func.count(Message.id)).where(Message.body.in_(bodies)))
    return int(found or 0)
