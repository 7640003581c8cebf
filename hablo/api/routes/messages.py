"""Messages: read a conversation's messages, write as an agent, search them all.

An agent's message goes out like a bot reply (outbox, retries, per-conversation order)
and mutes the bot for the conversation (see `hablo.engine.agent_reply`).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field
from sqlalchemy import Select, func, tuple_

from hablo.api import search
from hablo.api.app_keys import RUNTIME
from hablo.api.endpoints import ApiRoutes, Call, Page, PageQuery, RequestModel
from hablo.api.problems import ApiError, conflict
from hablo.api.scope import TenantScope
from hablo.db.base import utcnow
from hablo.db.enums import DeliveryStatus, SenderKind
from hablo.db.models import Contact, Conversation, Message, OutboxMessage
from hablo.engine.agent_reply import (
    ClientIdReusedError,
    ConversationClosedError,
    hand_to_dispatcher,
    record_agent_reply,
)
from hablo.engine.messages import OutboundEnvelope
from hablo.engine.sanitize import clean_text

routes = ApiRoutes("messages")


# RFC 3339, as the OpenAPI "date-time" format says (no bare dates, no Unix numbers).
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("expected a date-time like 2026-11-28T09:00:00-03:00")
    return value


def _utc(value: datetime) -> datetime:
    """Times that cannot be expressed in UTC are refused (a 500 otherwise)."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError("time out of range") from exc


def _clean(value: str) -> str:
    """Text both databases can store: no NUL, valid UTF-8 (no lone surrogates); the other
    control characters (but tab and newline) are dropped, as for customers' messages."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode") from exc
    cleaned = clean_text(value, len(value))
    if value and not cleaned:
        raise ValueError("text must not be only control characters")
    return cleaned


UtcTime = Annotated[datetime, BeforeValidator(_rfc3339), AfterValidator(_utc)]
CleanText = Annotated[str, AfterValidator(_clean)]


class MessageOut(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    sender_kind: SenderKind
    body: str
    status: DeliveryStatus
    language: str | None
    intent: str | None
    confidence: float | None
    skill: str | None
    author_user_id: uuid.UUID | None = Field(description="The agent who wrote it")
    error: str | None
    created_at: datetime

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            id=m.id,
            conversation_id=m.conversation_id,
            sender_kind=m.sender_kind,
            body=m.body,
            status=m.status,
            language=m.language,
            intent=m.intent,
            confidence=m.confidence,
            skill=m.skill,
            author_user_id=m.author_user_id,
            error=m.error,
            created_at=m.created_at,
        )


class MessageQuery(PageQuery):
    before: uuid.UUID | None = Field(
        default=None,
        description="A message id: the `per_page` messages just before it (then `page` "
        "is ignored); still oldest first",
    )


class AgentMessageIn(RequestModel):
    text: CleanText = Field(min_length=1, max_length=4096)
    client_message_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Your id for this message: a retried POST with it sends nothing twice",
    )


class SearchQuery(PageQuery):
    q: CleanText = Field(
        min_length=1, max_length=200, description="Words to find (all of them, any accents)"
    )
    conversation_id: uuid.UUID | None = None
    sender_kind: SenderKind | None = None
    created_from: UtcTime | None = None
    created_to: UtcTime | None = None


class SearchHit(BaseModel):
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    contact_id: uuid.UUID
    contact_name: str
    channel: str
    sender_kind: SenderKind
    snippet: str = Field(description="Plain text around the first match")
    created_at: datetime


# Replies of one turn share a timestamp: their outbox ids keep the order they were sent.
_SEQUENCE = func.coalesce(OutboxMessage.id, 0)


def _ordered(scope: TenantScope, conversation_id: uuid.UUID) -> Select[Any]:
    return (
        scope.select(Message)
        .outerjoin(OutboxMessage, OutboxMessage.message_id == Message.id)
        .where(Message.conversation_id == conversation_id)
    )


def _order_key() -> tuple[Any, ...]:
    return (Message.created_at, _SEQUENCE, Message.id)


def latest_messages(scope: TenantScope, conversation_id: uuid.UUID, limit: int) -> list[MessageOut]:
    """The conversation's last `limit` messages, oldest first."""
    if limit <= 0:
        return []
    rows = scope.session.scalars(
        _ordered(scope, conversation_id)
        .order_by(*(column.desc() for column in _order_key()))
        .limit(limit)
    ).all()
    return [MessageOut.of(m) for m in reversed(rows)]


@routes.get(
    "/api/conversations/{conversation_id}/messages",
    "conversations:read",
    query=MessageQuery,
    response=Page[MessageOut],
    summary="A conversation's messages, oldest first (pages, or `before` a message)",
)
async def list_messages(call: Call[MessageQuery, None]) -> Page[MessageOut]:
    q = call.query

    def work(scope: TenantScope) -> Page[MessageOut]:
        conversation = scope.get(Conversation, call.path["conversation_id"], what="conversation")
        query = _ordered(scope, conversation.id)
        if q.before is None:
            total = scope.count(query)
            rows = scope.session.scalars(
                query.order_by(*_order_key()).offset(q.offset).limit(q.per_page)
            ).all()
            return Page(
                items=[MessageOut.of(m) for m in rows],
                page=q.page,
                per_page=q.per_page,
                total=total,
            )
        cursor = scope.session.execute(
            query.with_only_columns(*_order_key()).where(Message.id == q.before)
        ).first()
        if cursor is None:
            raise ApiError(
                422,
                "unknown_cursor",
                "`before` is not a message of this conversation",
                {"loc": ["query", "before"]},
            )
        older = query.where(tuple_(*_order_key()) < tuple_(*cursor))
        total = scope.count(older)
        rows = scope.session.scalars(
            older.order_by(*(column.desc() for column in _order_key())).limit(q.per_page)
        ).all()
        return Page(
            items=[MessageOut.of(m) for m in reversed(rows)],
            page=1,
            per_page=q.per_page,
            total=total,
        )

    return await call.db(work)


@routes.post(
    "/api/conversations/{conversation_id}/messages",
    "messages:send",
    body=AgentMessageIn,
    response=MessageOut,
    status=201,
    errors=(409,),
    summary="Write to the customer as an agent (the bot goes silent)",
    description="Sent through the conversation's channel with the same retried delivery "
    "as bot replies. A retry with the same `client_message_id` returns the first message "
    "(header `Idempotent-Replay: true`) and sends nothing again.",
)
async def send_message(call: Call[None, AgentMessageIn]) -> MessageOut:
    return await send_as_agent(call, call.body.text, call.body.client_message_id, None)


async def send_as_agent(
    call: Call[Any, Any], text: str, client_message_id: str | None, extras: dict[str, Any] | None
) -> MessageOut:
    """The agent's message (text, or media with a caption): written with the handoff in
    one transaction, then handed to the outbox dispatcher."""

    def work(scope: TenantScope) -> tuple[MessageOut, OutboundEnvelope | None]:
        conversation = scope.get(
            Conversation, call.path["conversation_id"], what="conversation", for_update=True
        )
        try:
            reply = record_agent_reply(
                scope.session,
                conversation,
                call.user.user_id,
                text,
                client_message_id,
                utcnow(),
                extras=extras,
            )
        except ConversationClosedError as exc:
            raise conflict(
                "this conversation is closed; the customer's next message opens a new one",
                {"status": "closed"},
            ) from exc
        except ClientIdReusedError as exc:
            raise conflict(
                "this client_message_id was already used for a different text",
                {"field": "client_message_id"},
            ) from exc
        if not reply.replayed:
            scope.audit(
                "send",
                "message",
                reply.message.id,
                {"conversation_id": conversation.id, "client_message_id": client_message_id},
            )
        return MessageOut.of(reply.message), reply.envelope

    out, envelope = await call.db(work)
    if envelope is None:
        call.response_headers["Idempotent-Replay"] = "true"
    else:
        hand_to_dispatcher(_engine(call.request), [envelope])
    return out


@routes.get(
    "/api/messages/search",
    "messages:search",
    query=SearchQuery,
    response=Page[SearchHit],
    summary="Find messages by their words (newest first)",
)
async def search_messages(call: Call[SearchQuery, None]) -> Page[SearchHit]:
    q = call.query
    if not search.search_terms(q.q):
        raise ApiError(
            422,
            "empty_query",
            "the search has no words to look for",
            [{"loc": ["query", "q"], "msg": "no letters or digits", "type": "value_error"}],
        )

    def work(scope: TenantScope) -> Page[SearchHit]:
        dialect = scope.session.get_bind().dialect.name
        query = (
            scope.select(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(search.matches(dialect, q.q))
        )
        if q.conversation_id:
            query = query.where(Message.conversation_id == q.conversation_id)
        if q.sender_kind:
            query = query.where(Message.sender_kind == q.sender_kind)
        if q.created_from:
            query = query.where(Message.created_at >= q.created_from)
        if q.created_to:
            query = query.where(Message.created_at < q.created_to)
        total = scope.count(query)
        rows = scope.session.execute(
            query.add_columns(Conversation.contact_id, Contact.name, Conversation.channel)
            .order_by(Message.created_at.desc(), Message.id.desc())
            .offset(q.offset)
            .limit(q.per_page)
        )
        hits = [
            SearchHit(
                message_id=m.id,
                conversation_id=m.conversation_id,
                contact_id=contact_id,
                contact_name=name,
                channel=channel,
                sender_kind=m.sender_kind,
                snippet=search.snippet(m.body, q.q),
                created_at=m.created_at,
            )
            for m, contact_id, name, channel in rows
        ]
        return Page(items=hits, page=q.page, per_page=q.per_page, total=total)

    return await call.db(work)


def _engine(request: web.Request) -> Any:
    return request.app[RUNTIME].engine
