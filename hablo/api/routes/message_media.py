"""An agent sends an image or a document (with an optional caption), and providers fetch
it by its signed link. The message goes through the same path as a text reply (one
transaction with the handoff, the outbox, retries); the file is in the media store."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import Field
from sqlalchemy import select

from hablo.api.app_keys import RUNTIME
from hablo.api.endpoints import Call, RequestModel, _validate
from hablo.api.media_store import ALLOWED, MAX_BYTES, StoredFile, UnsupportedFile, media_store
from hablo.api.problems import ApiError, conflict, not_found
from hablo.api.routes.messages import CleanText, MessageOut, routes, send_as_agent
from hablo.api.scope import TenantScope
from hablo.db.base import utcnow
from hablo.db.models import Conversation, OutboxMessage
from hablo.plugins.sdk import Reply

MULTIPART = "multipart/form-data"
Upload = tuple[bytes, str, dict[str, str]]
# A request's body is read once: the console checks its form's CSRF token, then runs
# this operation on the same request.
_UPLOAD = web.RequestKey("media_upload", tuple)


class MediaFields(RequestModel):
    caption: CleanText = Field(default="", max_length=1024)
    client_message_id: str | None = Field(
        default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$"
    )


class MediaMessageOut(MessageOut):
    media_url: str = Field(description="Signed link to the file (expires after 7 days)")
    media_type: str = Field(description="image or document")
    file_name: str
    mime_type: str
    size: int


async def read_upload(request: web.Request) -> Upload:
    """The file's bytes and name and the other fields of a multipart form, with the
    size limit checked while reading (a larger file is never held in memory)."""
    if _UPLOAD in request:
        cached: Upload = request[_UPLOAD]
        return cached
    upload = await _read(request)
    request[_UPLOAD] = upload
    return upload


async def _read(request: web.Request) -> Upload:
    if request.content_type != MULTIPART:
        raise ApiError(415, "unsupported_media_type", f"send the file as {MULTIPART}")
    if request.content_length is not None and request.content_length > MAX_BYTES + 64 * 1024:
        raise _too_large()
    data: bytes | None = None
    name = ""
    fields: dict[str, str] = {}
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise ValueError("nested multipart")
            if part.name == "file":
                name = part.filename or ""
                data = await _capped(part)
            elif part.name in ("caption", "client_message_id", "csrf"):
                fields[part.name] = (await part.read(decode=True)).decode("utf-8")[:4096]
            else:
                raise ApiError(422, "validation_error", f"unknown form field {part.name!r}")
    except (ValueError, UnicodeDecodeError, AssertionError, HttpProcessingError) as exc:
        raise ApiError(400, "bad_form", "the request body is not a valid multipart form") from exc
    if data is None:
        raise ApiError(
            422,
            "validation_error",
            "choose a file to send",
            [{"loc": ["body", "file"], "msg": "missing", "type": "missing"}],
        )
    return data, name, fields


async def _capped(part: BodyPartReader) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk():
        size += len(chunk)
        if size > MAX_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> ApiError:
    return ApiError(
        413, "file_too_large", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB"
    )


@routes.post(
    "/api/conversations/{conversation_id}/media",
    "messages:send",
    consumes=MULTIPART,
    response=MediaMessageOut,
    status=201,
    errors=(409, 413, 415),
    summary="Send the customer an image or a document as an agent (the bot goes silent)",
    description=f"A multipart form: `file` ({ALLOWED}; at most 5 MB, recognised by its "
    "content), an optional `caption` (≤ 1024 characters) and `client_message_id` (as for "
    "text messages). The provider fetches the file by a signed link that expires after "
    "7 days.",
)
async def send_media(call: Call[None, None]) -> MediaMessageOut:
    # Another tenant's conversation is "not found" before anything of the upload is read
    # (an error about the form would tell it exists).
    await call.db(
        lambda scope: scope.get(Conversation, call.path["conversation_id"], what="conversation")
    )
    data, name, raw_fields = await read_upload(call.request)
    # The console's form token, checked by the console.
    raw = {k: v for k, v in raw_fields.items() if k != "csrf"}
    fields: MediaFields = _validate(MediaFields, raw, "body")
    store = media_store(call.request.app[RUNTIME].settings)
    try:
        stored = await asyncio.to_thread(store.save, call.tenant_id, data, name)
    except UnsupportedFile as exc:
        raise ApiError(415, "unsupported_file", str(exc)) from exc
    url = store.url(stored, utcnow())
    extras: dict[str, Any] | None = Reply(
        fields.caption, media_url=url, media_type=stored.kind
    ).extras()
    assert extras is not None
    extras["file"] = stored.extras()
    try:
        message = await send_as_agent(call, fields.caption, fields.client_message_id, extras)
    except BaseException:
        store.discard(stored)
        raise
    if call.response_headers.get("Idempotent-Replay"):
        store.discard(stored)  # a retry: the first upload's file is the one sent
        payload = await call.db(lambda scope: _sent_payload(scope, message.id))
        try:
            stored = StoredFile.of_extras(call.tenant_id, payload["media"]["type"], payload["file"])
        except (KeyError, TypeError, ValueError):
            raise conflict(
                "this client_message_id was already used for another message",
                {"field": "client_message_id"},
            ) from None
        url = store.url(stored, utcnow())
    return MediaMessageOut(
        **message.model_dump(),
        media_url=url,
        media_type=stored.kind,
        file_name=stored.name,
        mime_type=stored.mime,
        size=stored.size,
    )


def _sent_payload(scope: TenantScope, message_id: uuid.UUID) -> dict[str, Any]:
    """The outbox payload of a message: its text and extras (media, file)."""
    payload = scope.session.scalars(
        select(OutboxMessage.payload).where(
            OutboxMessage.tenant_id == scope.tenant_id, OutboxMessage.message_id == message_id
        )
    ).first()
    return dict(payload or {})


@routes.get(
    "/media/{token}",
    None,
    path_types={"token": str},
    produces="application/octet-stream",
    errors=(404,),
    summary="A file an agent sent, by its signed link (for the providers that deliver it)",
)
async def get_media(call: Call[None, None]) -> web.StreamResponse:
    store = media_store(call.request.app[RUNTIME].settings)
    found = store.open(str(call.path["token"]), utcnow())
    if found is None:
        raise not_found("file")
    path, mime, name = found
    disposition = "inline" if mime.startswith("image/") else "attachment"
    return web.FileResponse(
        path,
        headers={
            "Content-Type": mime,
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, max-age=3600",
        },
    )
