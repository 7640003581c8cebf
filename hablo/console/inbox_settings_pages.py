"""The business's labels and saved replies: list, add, delete (the inbox uses them)."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from hablo.api import inbox_labels
from hablo.api.problems import ApiError, not_found
from hablo.api.routes import auth
from hablo.api.scope import TenantScope
from hablo.api.suspension import refuse_writes_when_suspended
from hablo.console.api_calls import call_api
from hablo.console.guard import posted, redirect, text
from hablo.console.inbox_pages import abilities, require, scoped, staff_user
from hablo.console.render import render
from hablo.security.principal import Principal

routes = web.RouteTableDef()


async def _settings_page(
    request: web.Request, principal: Principal, error: ApiError | None = None
) -> web.StreamResponse:
    def work(scope: TenantScope) -> dict[str, Any]:
        return {
            "labels": inbox_labels.all_labels(scope),
            "saved_replies": inbox_labels.saved_replies(scope),
        }

    context = await scoped(request, principal, work)
    me = await call_api(request, auth.get_me, principal)
    context.update(
        {"user": me, "active": "inbox-settings", "can": abilities(principal), "error": error}
    )
    return render(request, "inbox_settings.html", context, status=error.status if error else 200)


@routes.get("/app/inbox/settings")
async def inbox_settings(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    return await _settings_page(request, principal)


@routes.post("/app/inbox/settings/{what:labels|replies}")
async def create_item(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    await refuse_writes_when_suspended(request, request.path, principal)
    form = await posted(request)
    what = request.match_info["what"]
    require(principal, "conversations:write" if what == "labels" else "settings:write")
    try:
        if what == "labels":
            await scoped(
                request,
                principal,
                lambda scope: inbox_labels.create_label(scope, text(form, "name")),
            )
        else:
            await scoped(
                request,
                principal,
                lambda scope: inbox_labels.create_saved_reply(
                    scope, text(form, "shortcut"), text(form, "text")
                ),
            )
    except ApiError as error:
        return await _settings_page(request, principal, error)
    return redirect("/app/inbox/settings")


@routes.post("/app/inbox/settings/{what:labels|replies}/{item_id}/delete")
async def delete_item(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    await refuse_writes_when_suspended(request, request.path, principal)
    await posted(request)
    what = request.match_info["what"]
    require(principal, "conversations:write" if what == "labels" else "settings:write")
    try:
        item_id = uuid.UUID(request.match_info["item_id"])
    except ValueError as exc:
        raise not_found() from exc
    if what == "labels":
        await scoped(request, principal, lambda scope: inbox_labels.delete_label(scope, item_id))
    else:
        await scoped(
            request, principal, lambda scope: inbox_labels.delete_saved_reply(scope, item_id)
        )
    return redirect("/app/inbox/settings")


@routes.post("/app/inbox/settings/labels/{item_id}/rename")
async def rename_label(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    await refuse_writes_when_suspended(request, request.path, principal)
    form = await posted(request)
    require(principal, "conversations:write")
    try:
        label_id = uuid.UUID(request.match_info["item_id"])
    except ValueError as exc:
        raise not_found("label") from exc
    try:
        await scoped(
            request,
            principal,
            lambda scope: inbox_labels.rename_label(scope, label_id, text(form, "name")),
        )
    except ApiError as error:
        return await _settings_page(request, principal, error)
    return redirect("/app/inbox/settings")
