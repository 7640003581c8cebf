"""A message the page forwarded (see page_script.HOOK_JS) as the engine's InboundMessage:
text, a reply to buttons or a list, media with its caption, a location. The same shapes
as the Cloud API's parser gives the engine (`wa_type`, `reply_id`, `attachments`)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from hablo.adapters.whatsapp_web import CHANNEL, page_script
from hablo.engine.messages import InboundMessage
from hablo.engine.store import normalize_phone

log = logging.getLogger(__name__)

MEDIA_TYPES = ("image", "document", "audio", "ptt", "video", "sticker")
CHOICE_TYPES = ("buttons_response", "list_response", "template_button_reply")


def _str(raw: dict[str, Any], key: str, limit: int = 4096) -> str:
    value = raw.get(key)
    return value[:limit] if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def inbound_of(tenant_id: uuid.UUID, raw: dict[str, Any]) -> InboundMessage | None:
    """The engine's message, or None for what the bot does not answer (groups, ids that
    are not a phone number, kinds it cannot read)."""
    chat, message_id = _str(raw, "from", 200), _str(raw, "id", 400)
    if raw.get("isGroup") or not page_script.is_person(chat):
        return None  # one-to-one chats with a phone number only
    if not message_id or len(message_id) > 200:
        return None
    try:
        peer = normalize_phone("+" + page_script.peer_digits(chat))
    except ValueError:
        log.info("whatsapp_web %s: ignoring a message from a non-phone chat", tenant_id)
        return None
    kind = _str(raw, "type", 40) or "chat"
    text, extra = _content(kind, raw)
    if not text.strip():
        log.info("whatsapp_web %s: ignoring a %r message it cannot read", tenant_id, kind)
        return None
    return InboundMessage(
        tenant_id=tenant_id,
        channel=CHANNEL,
        peer=peer,
        text=text.strip()[:4096],
        provider_message_id=message_id,
        received_at=datetime.now(UTC),
        sender_name=_str(raw, "pushname", 200),
        extra=tuple(sorted(extra.items())),
    )


def _content(kind: str, raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(the text the engine reads, the extras) of one message kind."""
    extra: dict[str, Any] = {"wa_type": kind}
    if kind == "chat":
        return _str(raw, "text"), extra
    if kind in CHOICE_TYPES:
        extra["reply_id"] = _str(raw, "choiceId", 256)
        return _str(raw, "text"), extra
    if kind in MEDIA_TYPES:
        caption = _str(raw, "caption", 1024)
        attachment: dict[str, Any] = {
            "type": "audio" if kind == "ptt" else kind,
            # The page's message id: WPP.chat.downloadMedia fetches the file by it.
            "media_id": _str(raw, "id", 200),
            "mime_type": _str(raw, "mimetype", 100),
        }
        size = _number(raw.get("size"))
        if size is not None:
            attachment["size"] = int(size)
        for key, value in (("caption", caption), ("filename", _str(raw, "filename", 200))):
            if value:
                attachment[key] = value
        extra["attachments"] = (attachment,)
        # The engine needs some text; a caption is what the customer said about it.
        return caption or f"[{attachment['type']}]", extra
    if kind == "location":
        lat, lng = _number(raw.get("lat")), _number(raw.get("lng"))
        if lat is None or lng is None:
            return "", extra
        place = _str(raw, "place", 300)
        location: dict[str, Any] = {"type": "location", "latitude": lat, "longitude": lng}
        if place:
            location["name"] = place
        extra["attachments"] = (location,)
        return f"📍 {place or f'{lat}, {lng}'}", extra
    return "", extra
