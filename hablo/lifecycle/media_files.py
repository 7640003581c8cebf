"""Where agents' uploaded files live, and how a message refers to one.

A file is ``<state_dir>/media/<tenant id>/<file id>`` (32 hex digits), written once. A
message that sent it keeps, in its outbox row's payload, ``file.id`` and the signed link
``media.url`` (``…/media/<token>``; the token seals the tenant and the file id). Backups,
retention and the API's media store all go through this module, so the layout is said once.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hablo.config.settings import Settings
from hablo.security.secrets import SecretBox, SecretError

LINK_CONTEXT = "media-url"
FILE_ID = re.compile(r"^[0-9a-f]{32}$")
_LINK = re.compile(r"/media/([^/?#]+)$")


def media_root(settings: Settings) -> Path:
    return settings.state_dir / "media"


@dataclass(frozen=True)
class LinkClaims:
    """What a media link's token says: whose file, which, shown how, until when."""

    tenant_id: uuid.UUID
    file_id: str
    mime: str
    name: str
    expires: datetime

    def seal(self, box: SecretBox) -> str:
        claims = {
            "t": str(self.tenant_id),
            "f": self.file_id,
            "m": self.mime,
            "n": self.name,
            "e": int(self.expires.timestamp()),
        }
        return box.seal(json.dumps(claims, separators=(",", ":")), context=LINK_CONTEXT)

    @classmethod
    def open(cls, box: SecretBox, token: str) -> LinkClaims | None:
        """The claims of a token this platform sealed (expired or not); None otherwise."""
        try:
            claims = json.loads(box.open(token, context=LINK_CONTEXT))
            found = cls(
                uuid.UUID(claims["t"]),
                claims["f"],
                str(claims["m"]),
                str(claims["n"]),
                datetime.fromtimestamp(int(claims["e"]), UTC),
            )
        except (SecretError, ValueError, KeyError, TypeError, OverflowError):
            return None
        if not isinstance(found.file_id, str) or not FILE_ID.match(found.file_id):
            return None
        return found


class MediaFolder:
    """The files of every tenant under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, tenant_id: uuid.UUID, file_id: str) -> Path:
        if not FILE_ID.match(file_id):
            raise ValueError("not a media file id")
        return self.root / str(tenant_id) / file_id

    def delete(self, tenant_id: uuid.UUID, file_ids: set[str]) -> int:
        """Remove these files (missing ones are fine: deleting twice changes nothing)."""
        removed = 0
        for file_id in file_ids:
            try:
                self.path(tenant_id, file_id).unlink()
                removed += 1
            except (FileNotFoundError, ValueError):
                continue
        return removed

    def tenants(self) -> Iterator[uuid.UUID]:
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            try:
                tenant_id = uuid.UUID(folder.name)
            except ValueError:
                continue
            if folder.is_dir() and str(tenant_id) == folder.name:
                yield tenant_id

    def files_older_than(self, tenant_id: uuid.UUID, cutoff: datetime) -> set[str]:
        """Ids of the tenant's files last written before `cutoff`."""
        folder = self.root / str(tenant_id)
        if not folder.is_dir():
            return set()
        limit = cutoff.timestamp()
        return {
            entry.name
            for entry in folder.iterdir()
            if FILE_ID.match(entry.name) and entry.is_file() and entry.stat().st_mtime < limit
        }

    def all_files(self) -> Iterator[tuple[str, Path]]:
        """(archive name, path) of every file, as ``<tenant id>/<file id>``."""
        for tenant_id in self.tenants():
            folder = self.root / str(tenant_id)
            for entry in sorted(folder.iterdir()):
                if FILE_ID.match(entry.name) and entry.is_file():
                    yield f"{tenant_id}/{entry.name}", entry


def referenced_file_id(payload: Mapping[str, Any], box: SecretBox | None) -> str | None:
    """The uploaded file an outbox payload sent, if any: ``file.id``, or for messages
    written before the id was kept, the id sealed in the link (needs the key ring)."""
    file = payload.get("file")
    if isinstance(file, Mapping) and isinstance(file.get("id"), str):
        return str(file["id"])
    media = payload.get("media")
    if box is None or not isinstance(media, Mapping) or not isinstance(media.get("url"), str):
        return None
    match = _LINK.search(str(media["url"]))
    claims = LinkClaims.open(box, match.group(1)) if match else None
    return claims.file_id if claims else None
