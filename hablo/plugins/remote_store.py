"""A tenant's remote skills in the database: registration, settings, the engine's view.

The HTTP calls (manifest, config check) happen before and outside any transaction; the
writes after them are small. Every change moves `tenants.updated_at`, so every process
running the tenant rebuilds its skills and retrains its classifier, as for installed
skills. The signing secret is sealed with the platform's key ring (bound to the tenant
and the skill's name) and opened only to sign a call.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hablo.db.base import utcnow
from hablo.db.models import RemoteSkill as RemoteSkillRow
from hablo.db.models import Tenant
from hablo.plugins import remote_http
from hablo.plugins.remote_http import RemoteCallError
from hablo.plugins.remote_protocol import MIN_SECRET, Manifest
from hablo.plugins.remote_skill import RemoteEndpoint, RemotePolicy, remote_skill_class
from hablo.plugins.sdk import Skill

log = logging.getLogger(__name__)
REGISTRATION_TIMEOUT_S = 10.0


class RemoteSkillRefused(Exception):
    """Registration or a change is refused; `code` says why (for the API's error)."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class RemoteAccess:
    """What calling remote skills needs from the layers above: the platform's policy
    and the key ring (seal/open a secret bound to a context)."""

    policy: RemotePolicy
    seal: Callable[[str, str], str]
    open: Callable[[str, str], str]


def secret_context(tenant_id: uuid.UUID, name: str) -> str:
    return f"tenant:{tenant_id}:remote_skill:{name}"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def fetch_manifest(url: str, secret: str, policy: RemotePolicy) -> Manifest:
    """The endpoint's manifest, validated (checked against SSRF first). No transaction."""
    try:
        status, answer = remote_http.call(
            url,
            "GET",
            "manifest",
            secret,
            timeout_s=REGISTRATION_TIMEOUT_S,
            check=policy.check,
            allow_http=policy.allow_http,
        )
    except remote_http.UnsafeRemote as exc:
        raise RemoteSkillRefused("unsafe_url", str(exc)) from None
    except RemoteCallError as exc:
        raise RemoteSkillRefused("remote_unreachable", f"manifest: {exc}") from None
    if status != 200:
        raise RemoteSkillRefused("bad_manifest", f"manifest: the skill answered HTTP {status}")
    try:
        return Manifest.model_validate(answer)
    except ValidationError as exc:
        details = [
            {"loc": ["manifest", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        raise RemoteSkillRefused("bad_manifest", "the manifest is not valid", details) from None


def check_config(url: str, secret: str, policy: RemotePolicy, config: dict[str, Any]) -> None:
    """Ask the skill's server to validate a config against its config model (the same
    pydantic check an installed skill's config gets). No transaction."""
    body = json.dumps(config, separators=(",", ":")).encode()
    try:
        status, answer = remote_http.call(
            url,
            "POST",
            "config",
            secret,
            body=body,
            timeout_s=REGISTRATION_TIMEOUT_S,
            check=policy.check,
            allow_http=policy.allow_http,
        )
    except RemoteCallError as exc:
        raise RemoteSkillRefused("remote_unreachable", f"config check: {exc}") from None
    if status == 200:
        return
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if status == 422 and isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], dict) else {}
        where = ".".join(str(p) for p in first.get("loc", [])) or "config"
        message = f"config field {where}: {str(first.get('msg', 'invalid'))[:200]}"
        raise RemoteSkillRefused("validation_error", message, errors[:20])
    raise RemoteSkillRefused("remote_unreachable", f"config check: HTTP {status}")


def _check_caps(policy: RemotePolicy, manifest: Manifest, registered: list[dict[str, Any]]) -> None:
    """The platform's caps per tenant: how many remote skills, and how many training
    examples they bring in all (each is trained into the tenant's classifier)."""
    if len(registered) >= policy.skills_per_tenant:
        raise RemoteSkillRefused(
            "too_many_skills",
            f"this business has {len(registered)} remote skills, the most allowed; "
            "remove one first",
        )
    held = sum(_example_count(m) for m in registered)
    brought = _example_count(manifest.model_dump(mode="json"))
    if held + brought > policy.examples_per_tenant:
        raise RemoteSkillRefused(
            "too_many_examples",
            f"the skill brings {brought} training examples; with the {held} of this "
            f"business's other remote skills that is over the {policy.examples_per_tenant} "
            "allowed",
        )


def _example_count(manifest: dict[str, Any]) -> int:
    return sum(len(e) for intent in manifest["intents"] for e in intent["examples"].values())


def register(
    session: Session,
    tenant_id: uuid.UUID,
    access: RemoteAccess,
    *,
    name: str,
    url: str,
    secret: str,
    manifest: Manifest,
    taken_intents: Collection[str],
    taken_names: Collection[str],
) -> RemoteSkillRow:
    """Store a fetched and validated remote skill for the tenant (enabled)."""
    if len(secret) < MIN_SECRET:
        raise RemoteSkillRefused(
            "bad_secret", f"the secret must be at least {MIN_SECRET} characters"
        )
    rows = _rows(session, tenant_id)
    if name in taken_names or name in rows:
        raise RemoteSkillRefused("name_taken", f"a skill named {name} already exists")
    _check_caps(access.policy, manifest, [r.manifest for r in rows.values()])
    others = set(taken_intents) | {i["name"] for r in rows.values() for i in r.manifest["intents"]}
    clash = sorted({i.name for i in manifest.intents} & others)
    if clash:
        raise RemoteSkillRefused(
            "intent_taken", f"intents already answered by another skill: {', '.join(clash)}"
        )
    row = RemoteSkillRow(
        tenant_id=tenant_id,
        name=name,
        url=url,
        secret_sealed=access.seal(secret, secret_context(tenant_id, name)),
        manifest=manifest.model_dump(mode="json"),
        enabled=True,
        config={},
    )
    session.add(row)
    _tenant_changed(session, tenant_id)
    session.flush()
    return row


def view(row: RemoteSkillRow) -> dict[str, Any]:
    """A remote skill in the shape of the installed skills' listing (/api/skills,
    `hablo skills list`)."""
    manifest = row.manifest
    return {
        "name": row.name,
        "source": row.url,
        "status": "loaded",
        "error": None,
        "builtin": False,
        "remote": True,
        "intents": [intent["name"] for intent in manifest.get("intents", [])],
        "config_schema": manifest.get("config_schema") or None,
        "enabled": row.enabled,
        "config": dict(row.config),
        "config_error": None,
    }


def remote_rows(session: Session, tenant_id: uuid.UUID) -> list[RemoteSkillRow]:
    return sorted(_rows(session, tenant_id).values(), key=lambda r: r.name)


def find(session: Session, tenant_id: uuid.UUID, name: str) -> RemoteSkillRow | None:
    return _rows(session, tenant_id).get(name)


def change(
    session: Session,
    tenant_id: uuid.UUID,
    name: str,
    *,
    enabled: bool | None,
    config: dict[str, Any] | None,
) -> RemoteSkillRow | None:
    """Enable, disable or reconfigure (a config checked by `check_config` beforehand)."""
    row = session.scalars(
        select(RemoteSkillRow)
        .where(RemoteSkillRow.tenant_id == tenant_id, RemoteSkillRow.name == name)
        .with_for_update()
    ).first()
    if row is None:
        return None
    if enabled is not None:
        row.enabled = enabled
    if config is not None:
        row.config = dict(config)
    _tenant_changed(session, tenant_id)
    session.flush()
    return row


def remove(session: Session, tenant_id: uuid.UUID, name: str) -> bool:
    gone = session.execute(
        delete(RemoteSkillRow).where(
            RemoteSkillRow.tenant_id == tenant_id, RemoteSkillRow.name == name
        )
    )
    if gone.rowcount == 0:  # type: ignore[attr-defined]  # a CursorResult
        return False
    _tenant_changed(session, tenant_id)
    return True


def open_secret(row: RemoteSkillRow, access: RemoteAccess) -> str:
    return access.open(row.secret_sealed, secret_context(row.tenant_id, row.name))


def tenant_remote_skills(
    session: Session, tenant_id: uuid.UUID, access: RemoteAccess
) -> dict[str, Skill]:
    """The tenant's enabled remote skills, ready for its runtime. One that cannot be
    built (a secret the key ring no longer opens, a stale manifest) is logged and
    skipped: it never stops the tenant's other skills."""
    out: dict[str, Skill] = {}
    for row in remote_rows(session, tenant_id):
        if not row.enabled:
            continue
        try:
            endpoint = RemoteEndpoint(
                tenant_id,
                row.name,
                row.url,
                open_secret(row, access),
                Manifest.model_validate(row.manifest),
            )
            cls = remote_skill_class(endpoint, access.policy)
            out[row.name] = cls(cls.config_model.model_validate(row.config))
        except Exception as exc:  # one broken row must not break the tenant
            log.warning("tenant %s: remote skill %s skipped: %s", tenant_id, row.name, exc)
    return out


def _rows(session: Session, tenant_id: uuid.UUID) -> dict[str, RemoteSkillRow]:
    found = session.scalars(select(RemoteSkillRow).where(RemoteSkillRow.tenant_id == tenant_id))
    return {row.name: row for row in found}


def _tenant_changed(session: Session, tenant_id: uuid.UUID) -> None:
    session.execute(update(Tenant).where(Tenant.id == tenant_id).values(updated_at=utcnow()))
