"""The installed skills and which of them this business runs, with their config.

Enabling, disabling or configuring one takes effect without a restart: the change
moves `tenants.updated_at`, which every process running the tenant watches, and this
process is told at once; the classifier retrains on the new intents off the hot path.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from hablo.api.app_keys import RUNTIME
from hablo.api.endpoints import ApiRoutes, Call, RequestModel
from hablo.api.problems import ApiError, conflict, not_found
from hablo.api.routes.skills_remote import (
    RemoteSkillIn,
    change_remote,
    register_remote,
    remote_list,
    remove_remote,
)
from hablo.api.scope import TenantScope
from hablo.plugins.tenant_skills import (
    SkillConfigInvalid,
    SkillUnavailable,
    SkillView,
    UnknownSkill,
    list_tenant_skills,
    set_tenant_skill,
)

routes = ApiRoutes("skills")


class SkillName(str):
    """A skill's name in a path: an identifier, never "remote" (that is
    /api/skills/remote, where remote skills are registered)."""

    path_pattern = r"(?!remote$)[A-Za-z_][A-Za-z0-9_]{0,63}"


class SkillOut(BaseModel):
    name: str
    source: str = Field(description="Where it was loaded from (entry point or module)")
    status: str = Field(description='"loaded", or "failed" (see error): installed but broken')
    error: str | None = Field(description="Why the plugin failed to load")
    builtin: bool
    remote: bool = Field(
        default=False, description="A skill the business hosts at its own URL (source)"
    )
    intents: list[str] = Field(description="The intents it answers")
    config_schema: dict[str, Any] | None = Field(
        description="JSON Schema of its config (from the skill's config_model)"
    )
    enabled: bool = Field(description="Whether this business runs it")
    config: dict[str, Any] = Field(description="This business's config for it")
    config_error: str | None = Field(
        description="Why an enabled skill does not run here: its stored config is invalid"
    )

    @classmethod
    def of(cls, view: SkillView) -> SkillOut:
        return cls.model_validate(view.as_dict())


class SkillList(BaseModel):
    items: list[SkillOut]


class SkillChange(RequestModel):
    """Only the fields sent change; `config` replaces the whole stored config."""

    enabled: bool | None = None
    config: dict[str, Any] | None = Field(
        default=None, description="Validated against the skill's config_schema"
    )


@routes.get("/api/skills", "skills:read", response=SkillList)
async def list_skills(call: Call[None, None]) -> SkillList:
    """The installed skills, their status and this business's settings for each"""
    registry = call.request.app[RUNTIME].registry

    def work(scope: TenantScope) -> SkillList:
        views = list_tenant_skills(registry, scope.session, scope.tenant_id)
        remote = [SkillOut.model_validate(item) for item in remote_list(scope)]
        return SkillList(items=[SkillOut.of(v) for v in views] + remote)

    return await call.db(work)


@routes.put(
    "/api/skills/{name}",
    "skills:write",
    body=SkillChange,
    response=SkillOut,
    errors=(404, 409),
    path_types={"name": SkillName},
    summary="Enable, disable or configure a skill for this business; effective on the "
    "next message, no restart",
)
async def change_skill(call: Call[None, SkillChange]) -> SkillOut:
    registry = call.request.app[RUNTIME].registry
    name = str(call.path["name"])
    body = call.body
    remote = await change_remote(call, name, body.enabled, body.config)
    if remote is not None:
        return SkillOut.model_validate(remote)

    def work(scope: TenantScope) -> SkillOut:
        try:
            view, changes = set_tenant_skill(
                registry,
                scope.session,
                scope.tenant_id,
                name,
                enabled=body.enabled,
                config=body.config,
            )
        except UnknownSkill:
            raise not_found("skill") from None
        except SkillUnavailable as exc:
            raise conflict(str(exc)) from None
        except SkillConfigInvalid as exc:
            details = [{**e, "loc": ["body", "config", *e["loc"]]} for e in exc.errors]
            raise ApiError(422, "validation_error", str(exc), details) from None
        scope.audit("update", "skill", name, changes)
        return SkillOut.of(view)

    result = await call.db(work)
    call.tenant_changed()
    return result


class RemoteSkillOut(SkillOut):
    secret: str | None = Field(
        default=None,
        description="The signing secret hablo made (only when none was sent; shown once)",
    )


@routes.post(
    "/api/skills/remote",
    "skills:write",
    body=RemoteSkillIn,
    response=RemoteSkillOut,
    status=201,
    errors=(409, 422),
    summary="Register a remote skill by URL: its manifest is fetched and validated, its "
    "intents join the business's classifier; enabled at once, no restart",
)
async def add_remote_skill(call: Call[None, RemoteSkillIn]) -> RemoteSkillOut:
    return RemoteSkillOut.model_validate(await register_remote(call))


@routes.delete(
    "/api/skills/remote/{name}",
    "skills:write",
    status=204,
    errors=(404,),
    path_types={"name": str},
    summary="Remove a remote skill from this business",
)
async def delete_remote_skill(call: Call[None, None]) -> None:
    await remove_remote(call, call.path["name"])
