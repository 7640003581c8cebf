"""Registering the points skill (served by the `skill_server` fixture) for a tenant, as
POST /api/skills/remote does."""

from __future__ import annotations

import uuid

from hablo.bootstrap import Runtime
from hablo.plugins import remote_store
from hablo.security.remote_skill_access import remote_access
from tests.remote.conftest import SkillServer


def register_points(runtime: Runtime, tenant_id: uuid.UUID, server: SkillServer) -> None:
    access = remote_access(runtime.settings)
    manifest = remote_store.fetch_manifest(server.url, server.secret, access.policy)
    with runtime.db.transaction() as session:
        remote_store.register(
            session,
            tenant_id,
            access,
            name="points",
            url=server.url,
            secret=server.secret,
            manifest=manifest,
            taken_intents=(),
            taken_names=(),
        )
