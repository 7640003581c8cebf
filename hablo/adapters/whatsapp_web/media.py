"""A reply's media, fetched by hablo and handed to the page as a data: URL. The page
cannot fetch it itself (WhatsApp Web's content policy blocks other origins), so the
link is checked against private addresses like any provider's (SSRF) and read with a cap."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from hablo.adapters.base import (
    PermanentSendError,
    TransientSendError,
    checked_media,
)
from hablo.engine.messages import OutboundEnvelope

# WhatsApp's own limit for images and the common document size.
MAX_MEDIA_BYTES = 16 * 1024 * 1024
FETCH_TIMEOUT_S = 20.0
KINDS = ("image", "document")


@dataclass(frozen=True)
class OutgoingFile:
    """What WPP.chat.sendFileMessage takes: the content as a data: URL and its options."""

    content: str
    kind: str  # "image" or "document"
    mimetype: str
    filename: str
    size: int


def fetch_media(
    envelope: OutboundEnvelope, allow_private: bool, max_bytes: int = MAX_MEDIA_BYTES
) -> OutgoingFile | None:
    """The envelope's media ready for the page, or None when it carries none."""
    if not envelope.media_url:
        return None
    checked_media(envelope, allow_private)
    url = envelope.media_url
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response:
            data = response.read(max_bytes + 1)
            headers: Message = response.headers
    except urllib.error.HTTPError as exc:
        if exc.code in (408, 429) or exc.code >= 500:
            raise TransientSendError(f"media link answered {exc.code}") from None
        raise PermanentSendError(f"media link answered {exc.code}") from None
    except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
        raise TransientSendError(f"media link unreachable: {type(exc).__name__}") from None
    if len(data) > max_bytes:
        raise PermanentSendError(f"media larger than {max_bytes} bytes")
    mimetype = headers.get_content_type() or "application/octet-stream"
    kind = envelope.media_type if envelope.media_type in KINDS else "document"
    encoded = base64.b64encode(data).decode("ascii")
    return OutgoingFile(
        content=f"data:{mimetype};base64,{encoded}",
        kind=kind,
        mimetype=mimetype,
        filename=_filename(headers, url),
        size=len(data),
    )


def _filename(headers: Message, url: str) -> str:
    """The file's name as the link's server gives it, else the link's last segment."""
    name = headers.get_filename() or PurePosixPath(urlsplit(url).path).name
    return "".join(c for c in name if c.isprintable() and c not in "/\\")[:120] or "file"
