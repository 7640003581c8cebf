"""An agent sends an image or a document: checked (kind by content, size), kept in the
media store, sent through the outbox like any agent reply, and fetched by the provider
through a signed link that nobody can forge or reuse after it expires."""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from sqlalchemy import select

from hablo.api.media_store import MAX_BYTES, media_store
from hablo.db.base import utcnow
from hablo.db.enums import Role
from hablo.db.models import Message, OutboxMessage
from tests.api.support import Api
from tests.api.test_conversations import Chats, chats, new_peer

__all__ = ["chats"]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
PDF = b"%PDF-1.4\n% hablo test\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def _fetch(api: Api, url: str) -> requests.Response:
    """The provider's fetch, on the test server (the link names the public URL)."""
    return requests.get(api.base_url + urlsplit(url).path, timeout=30)


def test_image_with_caption_reaches_the_channel_and_its_link_serves_it(
    api: Api, chats: Chats
) -> None:
    peer = new_peer()
    conversation = chats.start(peer)
    before = len(chats.sender.sent)
    agent = api.as_role(Role.AGENT)
    path = f"/api/conversations/{conversation}/media"
    files = {"file": ("lista de precios.png", PNG, "image/png")}
    data = {"caption": "Nuestros precios", "client_message_id": "precios-1"}

    sent = agent.post(path, files=files, data=data)
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["sender_kind"] == "agent" and body["body"] == "Nuestros precios"
    assert body["media_type"] == "image" and body["mime_type"] == "image/png"
    assert body["file_name"] == "lista de precios.png" and body["size"] == len(PNG)

    envelopes = chats.sender.wait_for(before + 1, timeout=30)
    envelope = [e for e in envelopes if e.peer == peer][-1]
    assert envelope.text == "Nuestros precios"
    assert envelope.media_url == body["media_url"] and envelope.media_type == "image"
    fetched = _fetch(api, body["media_url"])
    assert fetched.status_code == 200 and fetched.content == PNG
    assert fetched.headers["Content-Type"] == "image/png"

    # A retried upload sends nothing again and keeps no second file.
    again = agent.post(path, files=files, data=data)
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    assert again.headers["Idempotent-Replay"] == "true"
    # ... and links the file the first upload sent (not the retry's, discarded).
    refetched = _fetch(api, again.json()["media_url"])
    assert refetched.status_code == 200 and refetched.content == PNG
    folder = media_store(api.runtime.settings).root / str(api.tenant_id())
    with api.runtime.db.transaction() as session:
        rows = session.scalars(
            select(OutboxMessage.payload)
            .join(Message, Message.id == OutboxMessage.message_id)
            .where(Message.conversation_id == conversation, Message.sender_kind == "agent")
        ).all()
    assert len(rows) == 1 and rows[0]["media"]["url"] == body["media_url"]
    assert [f.read_bytes() for f in folder.iterdir()] == [PNG]

    detail = agent.get(f"/api/conversations/{conversation}").json()
    assert detail["status"] == "waiting_human"


def test_a_document_without_caption(api: Api, chats: Chats) -> None:
    conversation = chats.start(new_peer())
    sent = api.as_role(Role.OWNER).post(
        f"/api/conversations/{conversation}/media",
        files={"file": ("presupuesto.pdf", PDF, "application/pdf")},
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["media_type"] == "document" and sent.json()["body"] == ""
    fetched = _fetch(api, sent.json()["media_url"])
    assert fetched.status_code == 200 and fetched.content == PDF
    assert fetched.headers["Content-Disposition"].startswith("attachment;")


def test_bad_uploads_get_clear_errors_and_write_nothing(api: Api, chats: Chats) -> None:
    conversation = chats.start(new_peer())
    agent = api.as_role(Role.AGENT)
    path = f"/api/conversations/{conversation}/media"

    def post(**kwargs: object) -> requests.Response:
        return agent.post(path, **kwargs)

    renamed = post(files={"file": ("factura.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert renamed.status_code == 415 and renamed.json()["error"]["code"] == "unsupported_file"
    assert "JPEG or PNG" in renamed.json()["error"]["message"]
    script = post(files={"file": ("hola.html", b"<script>alert(1)</script>", "text/html")})
    assert script.status_code == 415
    empty = post(files={"file": ("vacio.png", b"", "image/png")})
    assert empty.status_code == 415 and "empty" in empty.json()["error"]["message"]
    big = post(files={"file": ("grande.png", PNG + b"\x00" * MAX_BYTES, "image/png")})
    assert big.status_code == 413 and big.json()["error"]["code"] == "file_too_large"
    missing = post(data={"caption": "sin archivo"}, files={"x": ("a", b"", "text/plain")})
    assert missing.status_code == 422
    no_file = post(files={"caption": (None, "solo texto")})
    assert (
        no_file.status_code == 422 and no_file.json()["error"]["message"] == "choose a file to send"
    )
    broken = post(
        data=b"--b\r\n--b--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "bad_form"
    as_json = post(json={"caption": "hola"})
    assert as_json.status_code == 415
    long_caption = post(files={"file": ("a.png", PNG, "image/png")}, data={"caption": "x" * 1025})
    assert long_caption.status_code == 422
    client = api.as_role(Role.CLIENT).post(path, files={"file": ("a.png", PNG, "image/png")})
    assert client.status_code == 403
    other = api.as_role(Role.AGENT, tenant="other").post(
        path, files={"file": ("a.png", PNG, "image/png")}
    )
    assert other.status_code == 404

    assert agent.post(f"/api/conversations/{conversation}/close").status_code == 200
    closed = post(files={"file": ("a.png", PNG, "image/png")})
    assert closed.status_code == 409
    with api.runtime.db.transaction() as session:
        agent_messages = session.scalars(
            select(Message).where(
                Message.conversation_id == conversation, Message.sender_kind == "agent"
            )
        ).all()
    assert agent_messages == []
    folder = media_store(api.runtime.settings).root / str(api.tenant_id())
    assert not folder.exists() or not any(folder.iterdir())


def test_links_cannot_be_forged_tampered_with_or_used_after_expiry(api: Api) -> None:
    store = media_store(api.runtime.settings)
    stored = store.save(api.tenant_id(), PNG, "foto.png")
    now = utcnow()
    url = store.url(stored, now)
    assert _fetch(api, url).status_code == 200
    token = urlsplit(url).path.rsplit("/", 1)[1]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert requests.get(f"{api.base_url}/media/{tampered}", timeout=30).status_code == 404
    guessed = f"{api.base_url}/media/{uuid.uuid4().hex}"
    assert requests.get(guessed, timeout=30).status_code == 404
    assert store.open(token, now + timedelta(days=6)) is not None
    assert store.open(token, now + timedelta(days=8)) is None  # expired
