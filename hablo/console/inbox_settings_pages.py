"""The business's labels and saved replies: list, add, rename, delete (the inbox uses
them), through the API's operations (/api/labels, /api/saved-replies)."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from hablo.api import inbox_labels
from hablo.api.problems import ApiError, not_found
from hablo.api.routes import auth, labels, saved_replies
from hablo.api.scope import TenantScope
from hablo.console.api_calls import call_api
from hablo.console.guard import posted, redirect, text
from hablo.console.inbox_pages import abilities, scoped, staff_user
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
    form = await posted(request)
    try:
        if request.match_info["what"] == "labels":
            body = {"name": text(form, "name")}
            await call_api(request, labels.create_label, principal, body=body)
        else:
            body = {"shortcut": text(form, "shortcut"), "text": text(form, "text")}
            await call_api(request, saved_replies.create_saved_reply, principal, body=body)
    except ApiError as error:
        return await _settings_page(request, principal, error)
    return redirect("/app/inbox/settings")


@routes.post("/app/inbox/settings/{what:labels|replies}/{item_id}/delete")
async def delete_item(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    await posted(request)
    try:
        item_id = uuid.UUID(request.match_info["item_id"])
    except ValueError as exc:
        raise not_found() from exc
    if request.match_info["what"] == "labels":
        await call_api(request, labels.delete_label, principal, path={"label_id": item_id})
    else:
        path = {"reply_id": item_id}
        await call_api(request, saved_replies.delete_saved_reply, principal, path=path)
    return redirect("/app/inbox/settings")


@routes.post("/app/inbox/settings/labels/{item_id}/rename")
async def rename_label(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    form = await posted(request)
    try:
        label_id = uuid.UUID(request.match_info["item_id"])
    except ValueError as exc:
        raise not_found("label") from exc
    try:
        await call_api(
            request,
            labels.rename_label,
            principal,
            body={"name": text(form, "name")},
            path={"label_id": label_id},
        )
    except ApiError as error:
        return await _settings_page(request, principal, error)
    return redirect("/app/inbox/settings")
