"""The inbox: the tenant's conversations (filtered, live), one conversation with its
messages, contact, bookings and notes, and the agent's actions on it. Every change runs
the API's operation for it (permission table, row locks, audit and all), labels and
saved replies included."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import select

from hablo.adapters.whatsapp_cloud import CHANNEL as WHATSAPP_CLOUD
from hablo.adapters.whatsapp_cloud import SERVICE_WINDOW
from hablo.api import inbox_labels
from hablo.api.app_keys import RUNTIME
from hablo.api.media_store import media_store
from hablo.api.permissions import is_allowed
from hablo.api.problems import ApiError, forbidden, not_found
from hablo.api.routes import auth, bookings, contacts, conversations, labels, messages
from hablo.api.scope import TenantScope, run_scoped
from hablo.console.api_calls import call_api, may
from hablo.console.guard import posted, redirect, text, user_of
from hablo.console.inbox_query import (
    InboxFilters,
    inbox_rows,
    last_customer_at,
    staff,
    thread_messages,
)
from hablo.console.notification_box import notification_context
from hablo.console.render import render
from hablo.db.base import utcnow
from hablo.db.models import ChannelAccount
from hablo.security.principal import Principal

routes = web.RouteTableDef()
T = TypeVar("T")
# The channel whose sender falls back to an approved template outside its service window.
WHATSAPP_CHANNELS = frozenset({WHATSAPP_CLOUD})


async def scoped(request: web.Request, principal: Principal, work: Any) -> Any:
    if principal.tenant_id is None:
        raise forbidden("the inbox belongs to a business; your account has none")
    return await run_scoped(
        request.app, principal.tenant_id, principal.user_id, request.remote, work
    )


def require(principal: Principal, permission: str) -> None:
    if not is_allowed(principal.role, permission):
        raise forbidden()


async def staff_user(request: web.Request) -> Principal:
    principal = await user_of(request)
    require(principal, "conversations:read")
    if principal.tenant_id is None:
        raise forbidden("the inbox belongs to a business; your account has none")
    return principal


def abilities(principal: Principal) -> dict[str, bool]:
    """What the pages offer this role (the same table decides when it is posted)."""
    return {
        "write": may(principal, conversations.assign_conversation),
        "send": may(principal, messages.send_message),
        "contact": may(principal, contacts.get_contact),
        "bookings": may(principal, bookings.list_bookings),
        "manage": is_allowed(principal.role, "settings:write"),
    }


async def _list_context(request: web.Request, principal: Principal) -> dict[str, Any]:
    filters = InboxFilters.from_query(request.query)

    def work(scope: TenantScope) -> dict[str, Any]:
        return {
            "rows": inbox_rows(scope, filters, principal.user_id),
            "labels": inbox_labels.all_labels(scope),
            "staff": staff(scope),
            "channels": sorted(
                {
                    c
                    for c in scope.session.scalars(
                        select(ChannelAccount.channel).where(
                            ChannelAccount.tenant_id == scope.tenant_id
                        )
                    )
                }
                | {"webchat"}
            ),
        }

    context = await scoped(request, principal, work)
    context.update(
        {
            "filters": filters,
            "statuses": ["waiting_human", "open", "in_progress", "closed"],
            "me": principal.user_id,
            "can": abilities(principal),
            "names": dict(context["staff"]),
        }
    )
    return context


@routes.get("/app/inbox")
async def inbox(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    context = await _list_context(request, principal)
    me = await call_api(request, auth.get_me, principal)
    context.update({"user": me, "active": "inbox", "thread": None, "current": None})
    context.update(await notification_context(request, principal))
    return render(request, "inbox.html", context)


@routes.get("/app/inbox/list")
async def inbox_list(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    context = await _list_context(request, principal)
    context["current"] = request.query.get("current")
    return render(request, "_list.html", context)


def conversation_id_of(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["conversation_id"])
    except ValueError as exc:
        raise not_found("conversation") from exc


async def thread_context(
    request: web.Request, principal: Principal, conversation_id: uuid.UUID
) -> dict[str, Any]:
    path = {"conversation_id": conversation_id}
    detail = await call_api(
        request, conversations.get_conversation, principal, query={"messages": 0}, path=path
    )
    can = abilities(principal)
    store, now = media_store(request.app[RUNTIME].settings), utcnow()

    def work(scope: TenantScope) -> dict[str, Any]:
        def relink(kind: str, file: dict[str, Any]) -> str | None:
            return store.fresh_url(scope.tenant_id, kind, file, now)

        outside, template = _window(scope, detail.channel, conversation_id)
        linked = inbox_labels.labels_by_conversation(scope, [conversation_id])
        return {
            "messages": thread_messages(scope, conversation_id, relink),
            "labels": inbox_labels.all_labels(scope),
            "on_labels": {label_id for label_id, _ in linked.get(conversation_id, [])},
            "saved_replies": inbox_labels.saved_replies(scope),
            "staff": staff(scope),
            "window_closed": outside,
            "template": template,
        }

    context = await scoped(request, principal, work)
    context["names"] = dict(context["staff"])
    bookings_page = None
    if can["bookings"]:
        bookings_page = await call_api(
            request,
            bookings.list_bookings,
            principal,
            query={"contact_id": str(detail.contact_id), "per_page": 5, "sort": "-starts_at"},
        )
    context.update(
        {
            "c": detail,
            "bookings": bookings_page.items if bookings_page else [],
            "can": can,
            "me": principal.user_id,
        }
    )
    return context


def _window(
    scope: TenantScope, channel: str, conversation_id: uuid.UUID
) -> tuple[bool, dict[str, Any] | None]:
    """Whether WhatsApp's 24-hour window is closed, and the approved template the
    account would send instead (None: none set up, the message would fail)."""
    if channel not in WHATSAPP_CHANNELS:
        return False, None
    last = last_customer_at(scope, conversation_id)
    if last is None:
        return False, None
    if last.tzinfo is None:  # SQLite gives naive UTC
        last = last.replace(tzinfo=UTC)
    if datetime.now(UTC) - last <= SERVICE_WINDOW:
        return False, None
    account = scope.session.scalars(
        scope.select(ChannelAccount).where(
            ChannelAccount.channel == channel, ChannelAccount.enabled.is_(True)
        )
    ).first()
    config = (account.config or {}) if account else {}
    if not config.get("template_name"):
        return True, None
    return True, {
        "name": str(config["template_name"]),
        "with_text": bool(config.get("template_text_param")),
    }


@routes.get("/app/conversations/{conversation_id}")
async def conversation_page(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    conversation_id = conversation_id_of(request)
    context = await _list_context(request, principal)
    context.update(await thread_context(request, principal, conversation_id))
    me = await call_api(request, auth.get_me, principal)
    context.update({"user": me, "active": "inbox", "current": str(conversation_id), "thread": True})
    context.update(await notification_context(request, principal))
    return render(request, "inbox.html", context)


@routes.get("/app/conversations/{conversation_id}/thread")
async def thread_partial(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    context = await thread_context(request, principal, conversation_id_of(request))
    return render(request, "_thread.html", context)


async def after_action(
    request: web.Request, principal: Principal, conversation_id: uuid.UUID
) -> web.StreamResponse:
    if request.headers.get("HX-Request"):
        context = await thread_context(request, principal, conversation_id)
        return render(request, "_thread.html", context)
    return redirect(f"/app/conversations/{conversation_id}")


@routes.post("/app/conversations/{conversation_id}/{action:take|release|close}")
async def conversation_action(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    form = await posted(request)
    conversation_id = conversation_id_of(request)
    path = {"conversation_id": conversation_id}
    action = request.match_info["action"]
    if action == "close":
        await call_api(request, conversations.close_conversation, principal, path=path)
    elif action == "take":
        # One conditional write: of two agents taking it at once, the second is refused
        # (409) unless the page it clicked on showed the first one holding it.
        raw = text(form, "from_agent_id")
        await call_api(
            request,
            conversations.take_conversation,
            principal,
            body={"from_agent_id": raw or None},
            path=path,
        )
    else:  # release: the bot answers the next message; nobody holds it
        # The assignee goes first: if the second write fails, the conversation still waits
        # for a person instead of being the bot's while it names an agent.
        await call_api(
            request,
            conversations.assign_conversation,
            principal,
            body={"agent_id": None},
            path=path,
        )
        await call_api(
            request,
            conversations.update_conversation,
            principal,
            body={"status": "open"},
            path=path,
        )
    return await after_action(request, principal, conversation_id)


@routes.post("/app/conversations/{conversation_id}/assign")
async def assign(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    form = await posted(request)
    conversation_id = conversation_id_of(request)
    raw = text(form, "agent_id")
    try:
        agent_id = str(uuid.UUID(raw)) if raw else None
    except ValueError as exc:
        raise ApiError(422, "validation_error", "choose a person from the list") from exc
    body: dict[str, Any] = {"agent_id": agent_id}
    if "expected_agent_id" in form:  # who the page showed: someone else's change meanwhile wins
        body["expected_agent_id"] = text(form, "expected_agent_id") or None
    await call_api(
        request,
        conversations.assign_conversation,
        principal,
        body=body,
        path={"conversation_id": conversation_id},
    )
    return await after_action(request, principal, conversation_id)


@routes.post("/app/conversations/{conversation_id}/reply")
async def reply(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    form = await posted(request)
    conversation_id = conversation_id_of(request)
    body: dict[str, Any] = {"text": text(form, "text")}
    client_id = text(form, "client_message_id")
    if client_id:
        body["client_message_id"] = client_id
    await call_api(
        request,
        messages.send_message,
        principal,
        body=body,
        path={"conversation_id": conversation_id},
    )
    return await after_action(request, principal, conversation_id)


@routes.post("/app/conversations/{conversation_id}/notes")
async def add_note(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    form = await posted(request)
    conversation_id = conversation_id_of(request)
    await call_api(
        request,
        conversations.add_note,
        principal,
        body={"body": text(form, "body")},
        path={"conversation_id": conversation_id},
    )
    return await after_action(request, principal, conversation_id)


@routes.post("/app/conversations/{conversation_id}/labels")
async def toggle_label(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    form = await posted(request)
    conversation_id = conversation_id_of(request)
    try:
        label_id = uuid.UUID(text(form, "label_id"))
    except ValueError as exc:
        raise not_found("label") from exc
    on = text(form, "on") == "1"
    await call_api(
        request,
        labels.label_conversation if on else labels.unlabel_conversation,
        principal,
        path={"conversation_id": conversation_id, "label_id": label_id},
    )
    return await after_action(request, principal, conversation_id)
