"""The WhatsApp Web channel's pure parts: chat ids, the QR images, and the sender's
answer when no session is connected (the outbox must retry, not dead-letter)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any, cast

import pytest

from hablo.adapters.base import TransientSendError
from hablo.adapters.whatsapp_web import page_script
from hablo.adapters.whatsapp_web.qr import qr_png, qr_svg
from hablo.adapters.whatsapp_web.registry import WhatsAppWebSessions
from hablo.adapters.whatsapp_web.sender import WhatsAppWebSender
from hablo.config.settings import Settings
from hablo.engine.messages import OutboundEnvelope


def test_chat_ids() -> None:
    assert page_script.chat_id("+5491155550001") == "5491155550001@c.us"
    assert page_script.peer_digits("5491155550001@c.us") == "5491155550001"
    assert page_script.is_group("120363000000000001@g.us")
    assert not page_script.is_group("5491155550001@c.us")


def test_qr_images() -> None:
    assert qr_png("2@abc,def")[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in qr_svg("2@abc,def")


def test_the_channel_is_a_known_setting() -> None:
    settings = Settings.model_validate({"channels": ["console", "whatsapp_web"]})
    assert settings.whatsapp_web_min_gap_s <= settings.whatsapp_web_max_gap_s


def test_sender_without_a_session_asks_the_outbox_to_retry(tmp_path: Any) -> None:
    settings = Settings.model_validate({"state_dir": tmp_path})
    runtime = cast(Any, SimpleNamespace(settings=settings))
    sessions = WhatsAppWebSessions(runtime)
    envelope = OutboundEnvelope(
        outbox_id=1,
        tenant_id=uuid.uuid4(),
        channel="whatsapp_web",
        peer="+5491155550001",
        text="hola",
        conversation_id=None,
    )
    with pytest.raises(TransientSendError) as raised:
        WhatsAppWebSender(sessions).send(envelope)
    assert raised.value.retry_after == 5.0
