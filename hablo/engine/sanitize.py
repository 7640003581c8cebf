"""Cleaning of everything a customer or a provider sends us, applied where an inbound
message is built (every channel goes through `InboundMessage`).

Why: PostgreSQL refuses NUL in text and lone surrogates are not UTF-8, so one such
character used to fail every retry of a turn and block the conversation for good. The
other C0 controls only hide data. Lengths are capped to what the columns hold.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

# A turn's text (WhatsApp's own limit is 4096; mail bodies are already trimmed of quotes).
MAX_TEXT = 8000
MAX_PEER = 254  # inbox.peer, conversations.peer
MAX_PROVIDER_ID = 200  # inbox.provider_message_id
MAX_NAME = 200  # contacts.name
MAX_EXTRA_TEXT = 4000  # any string inside an adapter's extras (captions, subjects, ...)

# C0 controls except tab and newline, DEL, and every surrogate code point (a Python str
# holds a surrogate only when it came from a broken escape: it is never valid UTF-8).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    """Text any database can store: CR LF becomes LF, unsafe characters go, capped."""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub("", value)[:limit]


def clean_identifier(value: str, limit: int) -> str:
    """An id or address: cleaned, and when too long cut with a digest of the whole, so
    two different long ids never become one (the inbox dedupes on them)."""
    cleaned = _UNSAFE.sub("", value).strip()
    if len(cleaned) <= limit:
        return cleaned
    digest = hashlib.sha256(cleaned.encode()).hexdigest()[:16]
    return f"{cleaned[: limit - len(digest) - 1]}~{digest}"


def clean_tree(value: Any, limit: int = MAX_EXTRA_TEXT) -> Any:
    """Every string in a JSON-like value (dict keys too) cleaned; shapes are kept."""
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, dict):
        return {clean_text(str(k), limit): clean_tree(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_tree(v, limit) for v in value]
    if isinstance(value, tuple):
        return tuple(clean_tree(v, limit) for v in value)
    return value


def has_unsafe(value: str) -> bool:
    return _UNSAFE.search(value) is not None
