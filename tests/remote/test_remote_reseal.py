"""Key rotation covers remote skills: after `reseal_all` with a new key first in the
ring, a remote skill's signing secret opens with the new key alone (and only as its own
tenant's and name's)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from hablo.bootstrap import Runtime
from hablo.db.models import RemoteSkill
from hablo.plugins.remote_store import secret_context
from hablo.reseal import reseal_all
from hablo.security.secrets import SecretBox, SecretError, generate_key_spec


def test_reseal_moves_remote_skill_secrets_to_the_new_key(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    old, new = generate_key_spec("old"), generate_key_spec("new")
    context = secret_context(demo_tenant_id, "points")
    with runtime.db.transaction() as session:
        session.add(
            RemoteSkill(
                tenant_id=demo_tenant_id,
                name="points",
                url="https://skills.example/points",
                secret_sealed=SecretBox.from_specs([old]).seal("x" * 40, context=context),
                manifest={},
            )
        )
    with runtime.db.transaction() as session:
        moved = reseal_all(session, SecretBox.from_specs([new, old]))
    assert moved["remote_skills.secret"] == 1
    with runtime.db.transaction() as session:
        sealed = session.scalars(select(RemoteSkill.secret_sealed)).one()
    only_new = SecretBox.from_specs([new])
    assert only_new.open(sealed, context=context) == "x" * 40
    with pytest.raises(SecretError):
        only_new.open(sealed, context=secret_context(uuid.uuid4(), "points"))
