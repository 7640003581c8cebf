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

import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from hablo.config.settings import Settings
from hablo.lifecycle.media_files import LinkClaims, MediaFolder, media_root
from hablo.security.secrets import SecretBox

# Providers fetch a file when the message is sent; retries run for minutes, not days.
# The link shown in the console lasts as long (staff open it from the conversation).
URL_LIFETIME = timedelta(days=7)

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

    def extras(self) -> dict[str, Any]:
        """What a message keeps of the file (beside its link) to find it again."""
        return {"id": self.file_id, "name": self.name, "mime": self.mime, "size": self.size}

    @classmethod
    def of_extras(cls, tenant_id: uuid.UUID, kind: str, file: Mapping[str, Any]) -> StoredFile:
        """The file a message's extras describe (raises ValueError when they do not)."""
        try:
            return cls(
                tenant_id,
                str(file["id"]),
                kind,
                str(file["mime"]),
                str(file["name"]),
                int(file["size"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError("the message's extras name no stored file") from exc


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
        self.folder = MediaFolder(root)
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
        path = self.folder.path(tenant_id, stored.file_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return stored

    def discard(self, stored: StoredFile) -> None:
        """The message was not written after all: the file goes too."""
        self.folder.delete(stored.tenant_id, {stored.file_id})

    def url(self, stored: StoredFile, now: datetime) -> str:
        """The link providers and staff fetch the file by, valid for `URL_LIFETIME`."""
        claims = LinkClaims(
            stored.tenant_id, stored.file_id, stored.mime, stored.name, now + URL_LIFETIME
        )
        return f"{self._public_url}/media/{claims.seal(self._box)}"

    def fresh_url(
        self, tenant_id: uuid.UUID, kind: str, file: Mapping[str, Any], now: datetime
    ) -> str | None:
        """A new link to a file a message sent (from its extras), if it is still kept."""
        try:
            stored = StoredFile.of_extras(tenant_id, kind, file)
            kept = self.folder.path(tenant_id, stored.file_id).is_file()
        except ValueError:
            return None
        return self.url(stored, now) if kept else None

    def open(self, token: str, now: datetime) -> tuple[Path, str, str] | None:
        """(path, mime type, name) for a valid, unexpired token of an existing file."""
        claims = LinkClaims.open(self._box, token)
        if claims is None or claims.expires <= now:
            return None
        path = self.folder.path(claims.tenant_id, claims.file_id)
        return (path, claims.mime, claims.name) if path.is_file() else None


@cache
def _store(keys: tuple[str, ...], state_dir: Path, root: Path, public_url: str) -> MediaStore:
    box = SecretBox.from_config(list(keys), state_dir)
    return MediaStore(root, box, public_url)


def media_store(settings: Settings) -> MediaStore:
    """The process's store for these settings (built once)."""
    return _store(
        tuple(settings.secret_keys), settings.state_dir, media_root(settings), settings.public_url
    )
