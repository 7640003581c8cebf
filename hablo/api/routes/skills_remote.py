"""Remote skills behind /api/skills: registration by URL, listing, changes, removal.

The declarations are in skills.py (one resource in the docs); the work is here. HTTP to
the skill (its manifest, a config check) happens before the transaction, never inside.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import Field

from hablo.api.app_keys import RUNTIME
from hablo.api.endpoints import Call, RequestModel
from hablo.api.problems import ApiError, conflict, not_found
from hablo.api.scope import TenantScope
from hablo.plugins import remote_store
from hablo.plugins.remote_lane import LANE, LaneBusy
from hablo.plugins.remote_protocol import MIN_SECRET, Manifest
from hablo.plugins.remote_store import RemoteAccess, RemoteSkillRefused
from hablo.security.remote_skill_access import remote_access

T = TypeVar("T")
# Refusals that are the caller's input (422) rather than a conflict with what exists (409).
_CONFLICTS = frozenset({"name_taken", "intent_taken", "too_many_skills"})


class RemoteSkillIn(RequestModel):
    url: str = Field(
        max_length=2000,
        description="Where the skill lives: hablo GETs <url>/manifest and POSTs <url>/turn. "
        "https, at a public address",
    )
    name: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="The name it is listed under (default: the manifest's)",
    )
    secret: str | None = Field(
        default=None,
        min_length=MIN_SECRET,
        max_length=200,
        description="The signing secret the skill's server checks (default: hablo makes "
        "one and returns it once)",
    )


def access_of(call: Call[Any, Any]) -> RemoteAccess:
    return remote_access(call.request.app[RUNTIME].settings)


def refused(exc: RemoteSkillRefused) -> ApiError:
    if exc.code in _CONFLICTS:
        return conflict(str(exc))
    return ApiError(422, exc.code, str(exc), exc.details)


async def register_remote(call: Call[None, RemoteSkillIn]) -> dict[str, Any]:
    body = call.body
    access = access_of(call)
    secret = body.secret or remote_store.new_secret()
    registry = call.request.app[RUNTIME].registry
    try:
        manifest: Manifest = await _off_loop(
            call, lambda: remote_store.fetch_manifest(body.url, secret, access.policy)
        )
    except RemoteSkillRefused as exc:
        raise refused(exc) from None
    name = body.name or manifest.name
    taken_intents = {
        spec.name
        for skill_name in registry.names()
        if (cls := registry.get(skill_name)) is not None
        for spec in cls.intents
    }
    taken_names = {status.name for status in registry.statuses}

    def work(scope: TenantScope) -> dict[str, Any]:
        try:
            row = remote_store.register(
                scope.session,
                scope.tenant_id,
                access,
                name=name,
                url=body.url,
                secret=secret,
                manifest=manifest,
                taken_intents=taken_intents,
                taken_names=taken_names,
            )
        except RemoteSkillRefused as exc:
            raise refused(exc) from None
        scope.audit("create", "remote_skill", name, {"url": body.url})
        out = remote_store.view(row)
        if body.secret is None:
            out["secret"] = secret  # shown once: the skill's server needs it
        return out

    result = await call.db(work)
    call.tenant_changed()
    return result


async def change_remote(
    call: Call[Any, Any], name: str, enabled: bool | None, config: dict[str, Any] | None
) -> dict[str, Any] | None:
    """None: the tenant has no remote skill of that name (an installed one, maybe)."""
    access = access_of(call)
    found = await call.db(lambda scope: _endpoint(scope, access, name))
    if found is None:
        return None
    url, secret = found
    if config is not None:
        try:
            await _off_loop(
                call, lambda: remote_store.check_config(url, secret, access.policy, config)
            )
        except RemoteSkillRefused as exc:
            if exc.code == "validation_error":
                details = [{**e, "loc": ["body", "config", *e.get("loc", [])]} for e in exc.details]
                raise ApiError(422, "validation_error", str(exc), details) from None
            raise refused(exc) from None

    def work(scope: TenantScope) -> dict[str, Any]:
        row = remote_store.change(
            scope.session, scope.tenant_id, name, enabled=enabled, config=config
        )
        if row is None:
            raise not_found("skill")
        changes: dict[str, Any] = {"enabled": row.enabled}
        if config is not None:
            changes["config"] = config
        scope.audit("update", "remote_skill", name, changes)
        return remote_store.view(row)

    result = await call.db(work)
    call.tenant_changed()
    return result


async def remove_remote(call: Call[None, None], name: str) -> None:
    def work(scope: TenantScope) -> None:
        if not remote_store.remove(scope.session, scope.tenant_id, name):
            raise not_found("remote skill")
        scope.audit("delete", "remote_skill", name)

    await call.db(work)
    call.tenant_changed()


def remote_list(scope: TenantScope) -> list[dict[str, Any]]:
    return [
        remote_store.view(row) for row in remote_store.remote_rows(scope.session, scope.tenant_id)
    ]


def _endpoint(scope: TenantScope, access: RemoteAccess, name: str) -> tuple[str, str] | None:
    row = remote_store.find(scope.session, scope.tenant_id, name)
    return None if row is None else (row.url, remote_store.open_secret(row, access))


async def _off_loop(call: Call[Any, Any], work: Callable[[], T]) -> T:
    """Blocking HTTP to the skill, on the remote-call lane's threads (never on the event
    loop, nor on its default executor); 429 when this tenant has its share under way."""
    try:
        return await LANE.run(call.tenant_id, work)
    except LaneBusy as exc:
        raise ApiError(429, "busy", str(exc)) from None
