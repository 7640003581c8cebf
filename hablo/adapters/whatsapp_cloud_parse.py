"""Parse WhatsApp Cloud API webhook payloads (Graph API wire format) into plain records.

Pure functions, no I/O: the HTTP handler in `whatsapp_cloud` verifies the signature,
finds the account by phone number id and hands these records to the engine.
Unknown or unsupported parts are skipped, never raised on: Meta adds types over time
and retries any webhook that is not answered with 200.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from hablo.db.enums import DeliveryStatus
from hablo.engine.sanitize import clean_text

log = logging.getLogger(__name__)

MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}


@dataclass(frozen=True)
class WaMessage:
    """One customer message addressed to `phone_number_id`."""

    phone_number_id: str
    peer: str  # the customer's wa_id
    provider_message_id: str  # "wamid...."
    text: str
    sender_name: str
    kind: str
    extra: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class WaStatus:
    """A delivery status callback for a message we sent."""

    phone_number_id: str
    provider_message_id: str
    status: DeliveryStatus
    error: str | None


def phone_number_ids(payload: Any) -> set[str]:
    """Every phone number id a payload is addressed to (to find the accounts first)."""
    return {value["metadata"]["phone_number_id"] for value in _values(payload)}


def parse_webhook(payload: Any) -> tuple[list[WaMessage], list[WaStatus]]:
    messages: list[WaMessage] = []
    statuses: list[WaStatus] = []
    for value in _values(payload):
        number = value["metadata"]["phone_number_id"]
        names = _contact_names(value.get("contacts"))
        for raw in _dicts(value.get("messages")):
            parsed = _message(number, raw, names)
            if parsed is not None:
                messages.append(parsed)
        for raw in _dicts(value.get("statuses")):
            status = _status(number, raw)
            if status is not None:
                statuses.append(status)
    return messages, statuses


def _values(payload: Any) -> list[dict[str, Any]]:
    """The `value` of every entry/change that carries a phone number id."""
    found: list[dict[str, Any]] = []
    if not isinstance(payload, dict):
        return found
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            metadata = value.get("metadata")
            number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
            if isinstance(number, str) and number:
                found.append(value)
    return found


def _dicts(items: Any) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _contact_names(contacts: Any) -> dict[str, str]:
    names = {}
    for contact in _dicts(contacts):
        profile = contact.get("profile")
        name = profile.get("name") if isinstance(profile, dict) else None
        wa_id = contact.get("wa_id")
        if isinstance(wa_id, str) and isinstance(name, str):
            names[wa_id] = name[:200]
    return names


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _message(number: str, raw: dict[str, Any], names: dict[str, str]) -> WaMessage | None:
    peer, message_id, kind = _str(raw.get("from")), _str(raw.get("id")), _str(raw.get("type"))
    peer = clean_text(peer, 64)  # a NUL is dropped like anywhere else
    if not peer.isdigit() or len(peer) > 20 or not message_id or len(message_id) > 200:
        return None  # a wa_id is the customer's number in digits; anything else is forged
    if "group_id" in raw:  # group messages are not conversations with one customer
        log.info("whatsapp: ignoring group message %s", message_id)
        return None
    extra: dict[str, Any] = {"wa_type": kind}
    if isinstance(raw.get("timestamp"), str):
        extra["wa_timestamp"] = raw["timestamp"]
    found = raw.get(kind)
    body: dict[str, Any] = found if isinstance(found, dict) else {}
    text = ""
    if kind == "text":
        text = _str(body.get("body"))
    elif kind == "interactive":
        reply = body.get(_str(body.get("type")))  # button_reply or list_reply
        if not isinstance(reply, dict):
            _unsupported(message_id, kind)
            return None
        text = _str(reply.get("title"))
        extra["reply_id"] = _str(reply.get("id"))
    elif kind == "button":  # a quick-reply button of a template
        text = _str(body.get("text"))
        extra["reply_id"] = _str(body.get("payload"))
    elif kind in MEDIA_TYPES:
        caption = _str(body.get("caption"))
        attachment = {
            "type": kind,
            "media_id": _str(body.get("id")),
            "mime_type": _str(body.get("mime_type")),
            "sha256": _str(body.get("sha256")),
        }
        if caption:
            attachment["caption"] = caption
        if body.get("filename"):
            attachment["filename"] = _str(body.get("filename"))
        extra["attachments"] = (attachment,)
        # The engine needs some text; a caption is what the customer said about it.
        text = caption or f"[{kind}]"
    elif kind == "location":
        lat, lon = body.get("latitude"), body.get("longitude")
        if not isinstance(lat, int | float) or not isinstance(lon, int | float):
            _unsupported(message_id, kind)
            return None
        name, address = _str(body.get("name")), _str(body.get("address"))
        place = ", ".join(part for part in (name, address) if part)
        text = f"📍 {place or f'{lat}, {lon}'}"
        location = {"type": "location", "latitude": lat, "longitude": lon}
        location.update({k: v for k, v in (("name", name), ("address", address)) if v})
        extra["attachments"] = (location,)
    else:
        _unsupported(message_id, kind)
        return None
    text = text.strip()
    if not text:
        _unsupported(message_id, kind)
        return None
    return WaMessage(
        phone_number_id=number,
        peer=peer[:64],
        provider_message_id=message_id,
        text=text[:4096],
        sender_name=names.get(peer, ""),
        kind=kind,
        extra=tuple(sorted(extra.items())),
    )


def _unsupported(message_id: str, kind: str) -> None:
    log.info("whatsapp: ignoring unsupported message %s of type %r", message_id, kind[:40])


def _status(number: str, raw: dict[str, Any]) -> WaStatus | None:
    status = STATUSES.get(_str(raw.get("status")))
    message_id = _str(raw.get("id"))
    if status is None or not message_id:
        return None
    error = None
    errors = _dicts(raw.get("errors"))
    if status is DeliveryStatus.FAILED:
        first = errors[0] if errors else {}
        error = f"whatsapp error {first.get('code', '?')}: {_str(first.get('title')) or 'failed'}"
    return WaStatus(number, message_id, status, error)
