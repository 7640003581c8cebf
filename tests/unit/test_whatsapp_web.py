"""The WhatsApp Web channel's pure parts: chat ids, the QR images, the sender's answer
when no session is connected (the outbox must retry, not dead-letter), the pacing rules
and how the page's messages become the engine's."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any, cast

import pytest

from hablo.adapters.base import TransientSendError
from hablo.adapters.whatsapp_web import page_script
from hablo.adapters.whatsapp_web.incoming import inbound_of
from hablo.adapters.whatsapp_web.pacing import SendCaps, SendDeferred, SendRefused, typing_pause
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


# -- pacing: the typing pause and the per-number caps, on a clock the test moves -----------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_typing_pause_grows_with_the_reply_within_bounds() -> None:
    assert typing_pause(10, 0.05, 1.0, 6.0) == 1.0  # short: the floor
    assert typing_pause(60, 0.05, 1.0, 6.0) == pytest.approx(3.0)
    assert typing_pause(4000, 0.05, 1.0, 6.0) == 6.0  # long: the ceiling
    assert typing_pause(4000, 0.05, 6.0, 1.0) == 6.0  # bounds given the wrong way round


def test_the_minute_cap_defers_until_the_oldest_send_leaves_the_minute() -> None:
    clock = Clock()
    caps = SendCaps(per_minute=2, per_day=100, clock=clock)
    for step in (0.0, 10.0):
        clock.now += step
        caps.check()
        caps.record()
    clock.now += 5.0  # 15 s after the first send
    with pytest.raises(SendDeferred) as deferred:
        caps.check()
    assert deferred.value.wait_s == pytest.approx(45.0)
    assert "per-minute" in str(deferred.value)
    clock.now += 45.0
    caps.check()  # the first send left the minute


def test_the_day_cap_refuses_and_counts_sends_from_before_a_restart() -> None:
    clock = Clock()
    earlier = [clock.now - 23 * 3600, clock.now - 3600, clock.now - 25 * 3600]  # one too old
    caps = SendCaps(per_minute=10, per_day=3, sent_before=earlier, clock=clock)
    caps.check()
    caps.record()
    with pytest.raises(SendRefused, match="daily send cap"):
        caps.check()
    clock.now += 3600 + 1  # the send of 23 h ago is now a day old
    caps.check()


# -- incoming: what the page forwards, as the engine's message --------------------------------

TENANT = uuid.uuid4()


def page_message(**fields: Any) -> dict[str, Any]:
    raw = {"id": "false_5491155550001@c.us_3A1", "from": "5491155550001@c.us", "type": "chat"}
    raw.update(fields)
    return raw


def test_incoming_text_media_location_and_choices() -> None:
    text = inbound_of(TENANT, page_message(text="hola", pushname="Ana"))
    assert text is not None
    assert (text.peer, text.text, text.sender_name) == ("+5491155550001", "hola", "Ana")

    image = inbound_of(
        TENANT, page_message(type="image", caption="¿este?", mimetype="image/jpeg", size=123)
    )
    assert image is not None and image.text == "¿este?"
    (attachment,) = dict(image.extra)["attachments"]
    assert attachment == {
        "type": "image",
        "media_id": "false_5491155550001@c.us_3A1",
        "mime_type": "image/jpeg",
        "size": 123,
        "caption": "¿este?",
    }
    voice = inbound_of(TENANT, page_message(type="ptt", mimetype="audio/ogg"))
    assert voice is not None and voice.text == "[audio]"

    place = inbound_of(TENANT, page_message(type="location", lat=-34.6, lng=-58.4, place=""))
    assert place is not None and place.text == "📍 -34.6, -58.4"
    choice = inbound_of(TENANT, page_message(type="list_response", text="Mañana", choiceId="day-2"))
    assert choice is not None and choice.text == "Mañana"
    assert dict(choice.extra)["reply_id"] == "day-2"


def test_incoming_the_bot_does_not_answer() -> None:
    assert inbound_of(TENANT, page_message(isGroup=True, text="hola")) is None
    assert inbound_of(TENANT, page_message(**{"from": "120363@g.us"}, text="hola")) is None
    # A hidden id WPP could not map to a number is not taken for one.
    assert inbound_of(TENANT, page_message(**{"from": "190237461230981@lid"}, text="x")) is None
    assert inbound_of(TENANT, page_message(type="location", lat="x", lng=1.0)) is None
    assert inbound_of(TENANT, page_message(type="call_log")) is None
    assert inbound_of(TENANT, page_message(text="   ")) is None
    assert inbound_of(TENANT, page_message(id="", text="hola")) is None
