"""Files an agent sends (an image or a document), kept where the providers can fetch them.

A file is stored under ``<state_dir>/media/<tenant id>/<random id>``, written once and
never changed. Providers (WhatsApp Cloud, Twilio) fetch media by URL, so each file is
reached by ``<public URL>/media/<token>``: the token is the tenant, the file's id, its
type and name and an expiry, sealed with the secret key ring (AES-GCM; unforgeable and
unguessable, and it survives key rotation like every sealed value). Nobody can list files
or reach another tenant's: the folder comes from the sealed tenant id, never from the URL.

Several edge processes must share the state folder (or a volume mounted there).
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from hablo.config.settings import Settings
from hablo.security.secrets import SecretBox, SecretError

# Providers fetch a file when the message is sent; retries run for minutes, not days.
# The link shown in the console lasts as long (staff open it from the conversation).
URL_LIFETIME = timedelta(days=7)
_CONTEXT = "media-url"
_FILE_ID = re.compile(r"^[0-9a-f]{32}$")

# What WhatsApp and Twilio accept (the smallest limit of the two: 5 MB for images and
# for any media through Twilio), recognised by the file's first bytes, not its name.
MAX_BYTES = 5 * 1024 * 1024
IMAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".txt": "text/plain",
}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc .xls .ppt
_ZIP = b"PK\x03\x04"  # .docx .xlsx .pptx
ALLOWED = "a JPEG or PNG image, or a PDF, Word, Excel, PowerPoint or text document"


class UnsupportedFile(ValueError):
    """The file is not one of the kinds providers deliver (message says which are)."""


@dataclass(frozen=True)
class StoredFile:
    tenant_id: uuid.UUID
    file_id: str
    kind: str  # "image" | "document": the provider's message type
    mime: str
    name: str
    size: int


def recognise(data: bytes, name: str) -> tuple[str, str]:
    """(kind, mime type) of an upload from its bytes (and, for office files, its name)."""
    for magic, image_type in IMAGE_TYPES.items():
        if data.startswith(magic):
            return "image", image_type
    suffix = Path(name).suffix.lower()
    mime = DOCUMENT_TYPES.get(suffix)
    if mime is None or not _content_fits(data, mime, suffix):
        raise UnsupportedFile(f"send {ALLOWED}")
    return "document", mime


def _content_fits(data: bytes, mime: str, suffix: str) -> bool:
    """The bytes are what the name says (a renamed executable is no PDF)."""
    if mime == "application/pdf":
        return data.startswith(b"%PDF-")
    if mime == "text/plain":
        return _is_text(data)
    return data.startswith(_OLE if suffix in (".doc", ".xls", ".ppt") else _ZIP)


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def clean_name(name: str) -> str:
    """A file name safe to show and to send in a header (the folder part dropped)."""
    base = re.split(r"[\\/]", name or "")[-1]
    kept = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>;')
    return kept.strip()[:120] or "file"


class MediaStore:
    def __init__(self, root: Path, box: SecretBox, public_url: str) -> None:
        self.root = root
        self._box = box
        self._public_url = public_url.rstrip("/")

    def save(self, tenant_id: uuid.UUID, data: bytes, name: str) -> StoredFile:
        """Check and keep one upload (raises `UnsupportedFile`)."""
        if not data:
            raise UnsupportedFile("the file is empty")
        kind, mime = recognise(data, name)
        stored = StoredFile(
            tenant_id, secrets.token_hex(16), kind, mime, clean_name(name), len(data)
        )
        folder = self.root / str(tenant_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / stored.file_id).write_bytes(data)
        return stored

    def discard(self, stored: StoredFile) -> None:
        """The message was not written after all: the file goes too."""
        (self.root / str(stored.tenant_id) / stored.file_id).unlink(missing_ok=True)

    def url(self, stored: StoredFile, now: datetime) -> str:
        """The link providers and staff fetch the file by, valid for `URL_LIFETIME`."""
        claims = {
            "t": str(stored.tenant_id),
            "f": stored.file_id,
            "m": stored.mime,
            "n": stored.name,
            "e": int((now + URL_LIFETIME).timestamp()),
        }
        token = self._box.seal(json.dumps(claims, separators=(",", ":")), context=_CONTEXT)
        return f"{self._public_url}/media/{token}"

    def open(self, token: str, now: datetime) -> tuple[Path, str, str] | None:
        """(path, mime type, name) for a valid, unexpired token of an existing file."""
        try:
            claims = json.loads(self._box.open(token, context=_CONTEXT))
            tenant_id = uuid.UUID(claims["t"])
            file_id, mime, name, expires = claims["f"], claims["m"], claims["n"], claims["e"]
        except (SecretError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(file_id, str) or not _FILE_ID.match(file_id):
            return None
        if datetime.fromtimestamp(int(expires), UTC) <= now:
            return None
        path = self.root / str(tenant_id) / file_id
        return (path, str(mime), str(name)) if path.is_file() else None


@cache
def _store(keys: tuple[str, ...], state_dir: Path, public_url: str) -> MediaStore:
    box = SecretBox.from_config(list(keys), state_dir)
    return MediaStore(state_dir / "media", box, public_url)


def media_store(settings: Settings) -> MediaStore:
    """The process's store for these settings (built once)."""
    return _store(tuple(settings.secret_keys), settings.state_dir, settings.public_url)
