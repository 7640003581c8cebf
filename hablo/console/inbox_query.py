"""What the inbox shows, read in the caller's tenant scope: the filtered list (waiting
for a person first, then open, then closed), one conversation's messages as the customer
saw them (buttons, media, places), and a fingerprint that changes whenever something the
agent sees changes (the live stream compares it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, exists, func, or_, select

from hablo.api.inbox_labels import has_label, labels_by_conversation
from hablo.api.permissions import is_allowed
from hablo.api.scope import TenantScope, contains
from hablo.db.enums import ConversationStatus, DeliveryStatus, SenderKind, UserStatus
from hablo.db.models import (
    Contact,
    Conversation,
    ConversationLabel,
    ConversationNote,
    Message,
    OutboxMessage,
    StaffNotification,
    User,
)

LIST_LIMIT = 100
THREAD_LIMIT = 100
# Waiting for a person first, then the live ones, closed last.
_STATUS_RANK = case(
    (Conversation.status == ConversationStatus.WAITING_HUMAN, 0),
    (Conversation.status == ConversationStatus.CLOSED, 2),
    else_=1,
)


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""  # a ConversationStatus value, "live" (not closed) or "" (all)
    channel: str = ""
    assignee: str = ""  # a user id, "me", "none" or ""
    label: uuid.UUID | None = None
    q: str = ""

    @classmethod
    def from_query(cls, query: Any) -> InboxFilters:
        def get(name: str, limit: int = 100) -> str:
            return str(query.get(name, "")).strip()[:limit]

        status = get("status")
        if status not in {s.value for s in ConversationStatus} | {"live", ""}:
            status = ""
        label = _uuid_or_none(get("label")) if get("label") else None
        return cls(status, get("channel", 24), get("assignee", 40), label, get("q", 200))


def _uuid_or_none(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


@dataclass(frozen=True)
class InboxRow:
    id: uuid.UUID
    contact_name: str
    peer: str
    channel: str
    status: str
    assigned_agent_id: uuid.UUID | None
    last_message_at: datetime | None
    message_count: int
    preview: str
    labels: list[str] = field(default_factory=list)


def inbox_rows(scope: TenantScope, filters: InboxFilters, me: uuid.UUID) -> list[InboxRow]:
    query = scope.select(Conversation).join(Contact, Contact.id == Conversation.contact_id)
    if filters.status == "live":
        query = query.where(Conversation.status != ConversationStatus.CLOSED)
    elif filters.status:
        query = query.where(Conversation.status == filters.status)
    if filters.channel:
        query = query.where(Conversation.channel == filters.channel)
    if filters.assignee == "me":
        query = query.where(Conversation.assigned_agent_id == me)
    elif filters.assignee == "none":
        query = query.where(Conversation.assigned_agent_id.is_(None))
    elif filters.assignee:
        query = query.where(Conversation.assigned_agent_id == _uuid_or_none(filters.assignee))
    if filters.label is not None:
        query = query.where(has_label(filters.label))
    if filters.q:
        said = exists().where(
            Message.conversation_id == Conversation.id,
            Message.tenant_id == scope.tenant_id,
            contains(Message.body, filters.q),
        )
        query = query.where(
            or_(contains(Contact.name, filters.q), contains(Conversation.peer, filters.q), said)
        )
    rows = scope.session.execute(
        query.add_columns(Contact.name)
        .order_by(_STATUS_RANK, Conversation.last_message_at.desc().nulls_last(), Conversation.id)
        .limit(LIST_LIMIT)
    ).all()
    conversations = [(c, name) for c, name in rows]
    previews = _previews(scope, [c.id for c, _ in conversations])
    names = labels_by_conversation(scope, [c.id for c, _ in conversations])
    return [
        InboxRow(
            id=c.id,
            contact_name=name or c.peer,
            peer=c.peer,
            channel=c.channel,
            status=c.status.value,
            assigned_agent_id=c.assigned_agent_id,
            last_message_at=c.last_message_at,
            message_count=c.message_count,
            preview=previews.get(c.id, ""),
            labels=[n for _, n in names.get(c.id, [])],
        )
        for c, name in conversations
    ]


def _previews(scope: TenantScope, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    latest = (
        select(Message.conversation_id, func.max(Message.created_at).label("at"))
        .where(Message.tenant_id == scope.tenant_id, Message.conversation_id.in_(ids))
        .group_by(Message.conversation_id)
        .subquery()
    )
    rows = scope.session.execute(
        select(Message.conversation_id, Message.body)
        .join(
            latest,
            (latest.c.conversation_id == Message.conversation_id)
            & (latest.c.at == Message.created_at),
        )
        .where(Message.tenant_id == scope.tenant_id)
    ).all()
    return {cid: body[:120] for cid, body in rows}


# (media type, the file's extras) -> a fresh link to it, or None when they name no file.
Relink = Callable[[str, dict[str, Any]], str | None]


@dataclass(frozen=True)
class ThreadMessage:
    id: uuid.UUID
    sender_kind: str
    body: str
    status: str
    created_at: datetime
    error: str | None
    choices: list[str]
    media: list[dict[str, Any]]


def thread_messages(
    scope: TenantScope, conversation_id: uuid.UUID, relink: Relink | None = None
) -> list[ThreadMessage]:
    """The latest messages, oldest first, with the buttons and media the customer got
    (from the outbox row) or sent (the message's attachments: images, files, places).
    `relink` gives an uploaded file a fresh link from the message's extras (the one
    sent to the provider expires after a week; the file stays as long as the message)."""
    sequence = func.coalesce(OutboxMessage.id, 0)
    rows = scope.session.execute(
        select(Message, OutboxMessage.payload)
        .outerjoin(OutboxMessage, OutboxMessage.message_id == Message.id)
        .where(Message.tenant_id == scope.tenant_id, Message.conversation_id == conversation_id)
        .order_by(Message.created_at.desc(), sequence.desc(), Message.id.desc())
        .limit(THREAD_LIMIT)
    ).all()
    out = []
    for message, payload in reversed(rows):
        payload = payload or {}
        media = [dict(a) for a in message.attachments or [] if isinstance(a, dict)]
        sent_media = payload.get("media")
        if isinstance(sent_media, dict) and sent_media.get("url"):
            media.append(_sent_media(sent_media, payload.get("file"), relink))
        out.append(
            ThreadMessage(
                id=message.id,
                sender_kind=message.sender_kind.value,
                body=message.body,
                status=message.status.value,
                created_at=message.created_at,
                error=message.error,
                choices=[str(c) for c in payload.get("choices") or []],
                media=media,
            )
        )
    return out


def _sent_media(media: dict[str, Any], file: Any, relink: Relink | None) -> dict[str, Any]:
    """A file a reply carried. One of our own media links is shown by its path, so the
    console opens it on the server the agent is using (and its CSP allows the image)."""
    url = str(media["url"])
    if relink is not None and isinstance(file, dict) and file.get("id"):
        url = relink(str(media.get("type") or "image"), file) or url
    path = urlsplit(url).path
    shown = {"type": media.get("type", "image"), "url": path if path.startswith("/media/") else url}
    if isinstance(file, dict) and file.get("name"):
        shown["caption"] = str(file["name"])
    return shown


def last_customer_at(scope: TenantScope, conversation_id: uuid.UUID) -> datetime | None:
    return scope.session.scalar(
        select(func.max(Message.created_at)).where(
            Message.tenant_id == scope.tenant_id,
            Message.conversation_id == conversation_id,
            Message.sender_kind == SenderKind.CUSTOMER,
        )
    )


def staff(scope: TenantScope) -> list[tuple[uuid.UUID, str]]:
    """Who can be assigned: the assign operation's rule (active, may send messages)."""
    users = scope.session.scalars(
        select(User).where(User.tenant_id == scope.tenant_id).order_by(User.first_name)
    )
    return [
        (u.id, f"{u.first_name} {u.last_name}".strip())
        for u in users
        if is_allowed(u.role, "messages:send") and u.status == UserStatus.ACTIVE
    ]


def live_fingerprint(scope: TenantScope, conversation_id: uuid.UUID | None) -> tuple[Any, Any, Any]:
    """(inbox, conversation on screen, newest staff notification): each part changes when
    what that part of the page shows does. One query, each part an index lookup, so an
    open console that watches an idle business costs one cheap round trip per second.

    Every write to a conversation (a turn, an agent's reply, assign, status) moves its
    `updated_at`; delivery receipts move its messages' statuses (summed by rank, which
    only goes up), and notes and labels are counted."""
    tenant = scope.tenant_id
    parts: list[Any] = [
        select(func.max(Conversation.updated_at))
        .where(Conversation.tenant_id == tenant)
        .scalar_subquery(),
        select(func.max(StaffNotification.id))
        .where(StaffNotification.tenant_id == tenant)
        .scalar_subquery(),
    ]
    if conversation_id is not None:
        rank = case({s: i for i, s in enumerate(DeliveryStatus)}, value=Message.status)
        parts += [
            select(Conversation.updated_at)
            .where(Conversation.tenant_id == tenant, Conversation.id == conversation_id)
            .scalar_subquery(),
            select(func.count(Message.id))
            .where(Message.tenant_id == tenant, Message.conversation_id == conversation_id)
            .scalar_subquery(),
            select(func.sum(rank))
            .where(Message.tenant_id == tenant, Message.conversation_id == conversation_id)
            .scalar_subquery(),
            select(func.count(ConversationNote.id))
            .where(
                ConversationNote.tenant_id == tenant,
                ConversationNote.conversation_id == conversation_id,
            )
            .scalar_subquery(),
            select(func.count(ConversationLabel.label_id))
            .where(
                ConversationLabel.tenant_id == tenant,
                ConversationLabel.conversation_id == conversation_id,
            )
            .scalar_subquery(),
        ]
    row = scope.session.execute(select(*parts)).one()
    thread = tuple(str(v) for v in row[2:]) if conversation_id is not None else None
    return str(row[0]), thread, int(row[1] or 0)
