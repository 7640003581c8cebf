"""A reply's media, fetched by hablo and handed to the page as a data: URL. The page
cannot fetch it itself (WhatsApp Web's content policy blocks other origins). What is
fetched lands in a customer's chat, so the fetch is SSRF-safe end to end
(`hablo.web.pinned_http`): the checked address is the one dialled (no DNS rebinding),
every redirect hop is checked again, no proxy, a size cap and one deadline for all."""

from __future__ import annotations

import base64
import functools
import time
from dataclasses import dataclass
from email.message import Message
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit

from hablo.adapters.base import (
    PermanentSendError,
    TransientSendError,
    checked_media,
)
from hablo.engine.messages import OutboundEnvelope
from hablo.security.urls import checked_addresses
from hablo.web import pinned_http
from hablo.web.pinned_http import AddressCheck

# WhatsApp's own limit for images and the common document size.
MAX_MEDIA_BYTES = 16 * 1024 * 1024
FETCH_TIMEOUT_S = 20.0  # for the whole fetch, redirects included
MAX_REDIRECTS = 3
REDIRECTS = (301, 302, 303, 307, 308)
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
    envelope: OutboundEnvelope,
    allow_private: bool,
    max_bytes: int = MAX_MEDIA_BYTES,
    *,
    check: AddressCheck | None = None,
) -> OutgoingFile | None:
    """The envelope's media ready for the page, or None when it carries none. `check`
    (tests) replaces the address check that `allow_private` selects."""
    if not envelope.media_url:
        return None
    checked_media(envelope, allow_private)
    check = check or functools.partial(checked_addresses, allow_private=allow_private)
    url, answer = _fetch(envelope.media_url, check, max_bytes)
    data, headers = answer.body, answer.headers
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


def _fetch(url: str, check: AddressCheck, max_bytes: int) -> tuple[str, pinned_http.Answer]:
    """(final URL, its answer), following up to MAX_REDIRECTS redirects, each hop's
    address checked again, all within FETCH_TIMEOUT_S."""
    deadline = time.monotonic() + FETCH_TIMEOUT_S
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            target = pinned_http.parse(url, allow_http=True)
            answer = pinned_http.request(
                target, "GET", target.path, check=check, deadline=deadline,
                max_body=max_bytes, headers={"Accept-Encoding": "identity"},
            )  # fmt: skip
        except pinned_http.UnsafeTarget as exc:
            raise PermanentSendError(f"media_url refused: {exc}") from None
        except pinned_http.TooLarge:
            raise PermanentSendError(f"media larger than {max_bytes} bytes") from None
        except pinned_http.FetchError as exc:
            raise TransientSendError(f"media link unreachable: {exc}") from None
        location = answer.headers.get("Location")
        if answer.status in REDIRECTS and location:
            url = urljoin(url, location)
            continue
        if answer.status in (408, 429) or answer.status >= 500:
            raise TransientSendError(f"media link answered {answer.status}")
        if answer.status >= 300:
            raise PermanentSendError(f"media link answered {answer.status}")
        return url, answer
    raise PermanentSendError(f"media link redirects more than {MAX_REDIRECTS} times")


def _filename(headers: Message, url: str) -> str:
    """The file's name as the link's server gives it, else the link's last segment."""
    name = headers.get_filename() or PurePosixPath(urlsplit(url).path).name
    return "".join(c for c in name if c.isprintable() and c not in "/\\")[:120] or "file"
