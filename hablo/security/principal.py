"""Who is calling: the verified identity an access token carries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hablo.db.enums import Role


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    tenant_id: uuid.UUID | None  # None only for super_admin
    role: Role
    session_id: uuid.UUID | None = None  # the refresh-token family (logout revokes it)
