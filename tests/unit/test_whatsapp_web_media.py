"""A reply's file as the WhatsApp Web sender hands it to the page: fetched over real HTTP
from a server on 127.0.0.1, its name and type from the answer, the size capped, private
addresses refused unless allowed, and a failing link retried or set aside."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator

import pytest
from aiohttp import web

from hablo.adapters.base import PermanentSendError, TransientSendError
from hablo.adapters.whatsapp_web.media import fetch_media
from hablo.engine.messages import OutboundEnvelope
from tests.providers.threaded import ThreadedFakeServer

PNG = b"\x89PNG\r\n\x1a\n" + b"x" * 100


class FileServer(ThreadedFakeServer):
    thread_name = "fake-files"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/media/token123", self._named)
        app.router.add_get("/menu.pdf", self._plain)
        app.router.add_get("/missing", self._status)
        app.router.add_get("/down", self._status)
        app.router.add_get("/to-inside", self._to_inside)
        app.router.add_get("/to-menu", self._to_menu)

    async def _named(self, request: web.Request) -> web.Response:
        return web.Response(
            body=PNG,
            content_type="image/png",
            headers={"Content-Disposition": "inline; filename*=UTF-8''tono%20rosa.png"},
        )

    async def _plain(self, request: web.Request) -> web.Response:
        return web.Response(body=b"%PDF-1.4 menu", content_type="application/pdf")

    async def _to_inside(self, request: web.Request) -> web.Response:
        # The attacker's public host sends hablo to an internal one (cloud metadata).
        raise web.HTTPFound(f"http://127.0.0.1:{request.url.port}/media/token123")

    async def _to_menu(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/menu.pdf")

    async def _status(self, request: web.Request) -> web.Response:
        return web.Response(status=404 if request.path == "/missing" else 503)


@pytest.fixture(scope="module")
def files() -> Iterator[str]:
    server = FileServer().start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def envelope(url: str | None, kind: str = "image") -> OutboundEnvelope:
    return OutboundEnvelope(
        outbox_id=1,
        tenant_id=uuid.uuid4(),
        channel="whatsapp_web",
        peer="+5491155550001",
        text="Este es el tono",
        conversation_id=None,
        media_url=url,
        media_type=kind,
    )


def test_a_file_becomes_a_data_url_with_its_name_and_type(files: str) -> None:
    got = fetch_media(envelope(files + "/media/token123"), allow_private=True)
    assert got is not None
    assert got.content == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert (got.kind, got.mimetype, got.filename, got.size) == (
        "image",
        "image/png",
        "tono rosa.png",
        len(PNG),
    )
    document = fetch_media(envelope(files + "/menu.pdf", "document"), allow_private=True)
    assert document is not None
    assert (document.kind, document.filename) == ("document", "menu.pdf")  # from the link
    assert fetch_media(envelope(None), allow_private=True) is None


def test_a_failing_or_unsafe_link(files: str) -> None:
    with pytest.raises(PermanentSendError, match="refused"):
        fetch_media(envelope(files + "/media/token123"), allow_private=False)  # SSRF
    with pytest.raises(PermanentSendError, match="404"):
        fetch_media(envelope(files + "/missing"), allow_private=True)
    with pytest.raises(TransientSendError, match="503"):
        fetch_media(envelope(files + "/down"), allow_private=True)
    with pytest.raises(PermanentSendError, match="larger than 50 bytes"):
        fetch_media(envelope(files + "/media/token123"), allow_private=True, max_bytes=50)


def _public_name_on_loopback(host: str, port: int) -> list[str]:
    """The address check as it sees the attacker's host: 'media.invalid' is public (and
    reached on 127.0.0.1 here); a literal private address is refused, as in production."""
    if host != "media.invalid":
        raise ValueError(f"{host} is a private, loopback or link-local address")
    return ["127.0.0.1"]


def test_the_checked_address_is_the_one_dialled(files: str) -> None:
    # 'media.invalid' resolves nowhere: the fetch works only because it dials the
    # address the check returned, never the name again (no DNS rebinding).
    port = files.rsplit(":", 1)[1]
    got = fetch_media(
        envelope(f"http://media.invalid:{port}/menu.pdf", "document"),
        allow_private=True,
        check=_public_name_on_loopback,
    )
    assert got is not None and got.filename == "menu.pdf"


def test_every_redirect_hop_is_checked(files: str) -> None:
    port = files.rsplit(":", 1)[1]
    with pytest.raises(PermanentSendError, match=r"refused: 127\.0\.0\.1 is a private"):
        fetch_media(
            envelope(f"http://media.invalid:{port}/to-inside"),
            allow_private=True,
            check=_public_name_on_loopback,
        )
    followed = fetch_media(
        envelope(f"http://media.invalid:{port}/to-menu", "document"),
        allow_private=True,
        check=_public_name_on_loopback,
    )
    assert followed is not None and followed.size == len(b"%PDF-1.4 menu")
