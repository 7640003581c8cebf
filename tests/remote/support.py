"""Registering the points skill (served by the `skill_server` fixture) for a tenant, as
POST /api/skills/remote does."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from hablo.bootstrap import Runtime, bootstrap
from hablo.demo import seed_demo
from hablo.plugins import remote_store
from hablo.security.remote_skill_access import remote_access
from tests.conftest import make_settings
from tests.remote.conftest import ROOT, SkillServer


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


def demo_with_points(folder: Path, server: SkillServer) -> tuple[Runtime, dict[str, str]]:
    """A SQLite database in `folder` with the demo salon and the points skill registered
    (the caller closes the runtime), and the environment a `hablo` subprocess needs to
    use it: its state folder's key ring opens the skill's secret."""
    url = f"sqlite:///{folder / 'hablo.db'}"
    settings = make_settings(url, state_dir=folder / "state", remote_skills_allow_private=True)
    runtime = bootstrap(settings)
    with runtime.db.transaction() as session:
        tenant_id = seed_demo(session)
    register_points(runtime, tenant_id, server)
    env = {
        **os.environ,
        "HABLO_DATABASE_URL": url,
        "HABLO_STATE_DIR": str(folder / "state"),
        "HABLO_REMOTE_SKILLS_ALLOW_PRIVATE": "true",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("HABLO_SECRET_KEYS", None)
    return runtime, env
