"""Skills a tenant hosts itself and hablo calls over signed HTTP (hablo.plugins.remote_*)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, Timestamps, UUIDPrimaryKey
from hablo.db.models._columns import tenant_fk


class RemoteSkill(UUIDPrimaryKey, Timestamps, Base):
    """A tenant's remote skill: where it lives, what its manifest said, its settings."""

    __tablename__ = "remote_skills"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    name: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2000))
    # The per-skill signing secret, sealed by hablo.security.secrets (never stored plain).
    secret_sealed: Mapped[str] = mapped_column(String(500))
    # The validated manifest (hablo.plugins.remote_protocol.Manifest) as JSON.
    manifest: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
