"""Conversations: the inbox of a business's chats. List and filter, read one with its
latest messages and notes, change status or topic, assign an agent, close, take notes.

Writes lock the conversation row first, like the engine's turn transaction, so an agent's
change and a customer's turn never interleave. A closed conversation is final: the
customer's next message opens a new one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Select

from hablo.api.endpoints import ApiRoutes, Call, Page, PageQuery, RequestModel
from hablo.api.permissions import is_allowed
from hablo.api.problems import ApiError, conflict
from hablo.api.quarantine import QuarantinedOut, quarantined_messages
from hablo.api.routes.messages import CleanText, MessageOut, UtcTime, latest_messages
from hablo.api.scope import TenantScope, check_if_match, etag_of, sort_order
from hablo.db.base import utcnow
from hablo.db.enums import ConversationStatus, Topic, UserStatus
from hablo.db.models import Contact, Conversation, ConversationNote, User
from hablo.engine.agent_reply import mute_bot, release_bot
from hablo.engine.dialogue import DialogueState

routes = ApiRoutes("conversations")


class ConversationOut(BaseModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    contact_name: str
    channel: str
    peer: str = Field(description="The customer's address on the channel (phone, chat id)")
    topic: Topic
    status: ConversationStatus
    bot_muted: bool = Field(description="A human has the conversation: the bot stays silent")
    handoff_at: datetime | None
    assigned_agent_id: uuid.UUID | None
    language: str | None
    message_count: int
    last_message_at: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, c: Conversation, contact_name: str) -> ConversationOut:
        state = DialogueState.load(c.state or {})
        return cls(
            id=c.id,
            contact_id=c.contact_id,
            contact_name=contact_name,
            channel=c.channel,
            peer=c.peer,
            topic=c.topic,
            status=c.status,
            bot_muted=c.status == ConversationStatus.WAITING_HUMAN,
            handoff_at=_parse_time(state.handoff_at),
            assigned_agent_id=c.assigned_agent_id,
            language=c.language,
            message_count=c.message_count,
            last_message_at=c.last_message_at,
            created_at=c.created_at,
            updated_at=c.updated_at,
            closed_at=c.closed_at,
        )


class NoteOut(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    author_user_id: uuid.UUID | None
    body: str
    created_at: datetime

    @classmethod
    def of(cls, n: ConversationNote) -> NoteOut:
        return cls(
            id=n.id,
            conversation_id=n.conversation_id,
            author_user_id=n.author_user_id,
            body=n.body,
            created_at=n.created_at,
        )


class ConversationDetail(ConversationOut):
    contact_phone: str | None
    contact_email: str | None
    messages: list[MessageOut] = Field(description="The latest messages, oldest first")
    notes: list[NoteOut] = Field(description="The latest notes, oldest first")
    quarantined: list[QuarantinedOut] = Field(
        description="Customer messages set aside because their turn kept failing"
    )


class ConversationQuery(PageQuery):
    status: list[ConversationStatus] = Field(default_factory=list, max_length=4)
    channel: CleanText | None = Field(default=None, min_length=1, max_length=24)
    assigned_agent_id: uuid.UUID | None = None
    unassigned: bool | None = Field(default=None, description="true: only unassigned ones")
    contact_id: uuid.UUID | None = None
    topic: Topic | None = None
    updated_from: UtcTime | None = None
    updated_to: UtcTime | None = None
    sort: Literal["last_message_at", "-last_message_at", "created_at", "-created_at"] = (
        "-last_message_at"
    )


class DetailQuery(RequestModel):
    messages: int = Field(default=20, ge=0, le=100, description="How many latest messages")


class ConversationPatch(RequestModel):
    status: ConversationStatus | None = Field(
        default=None,
        description="waiting_human mutes the bot; open or in_progress gives it back; closed closes",
    )
    topic: Topic | None = None


class AssignIn(RequestModel):
    agent_id: uuid.UUID | None = Field(description="A staff user of this tenant, or null")
    expected_agent_id: uuid.UUID | None = Field(
        default=None,
        description="Only if the conversation is still assigned to this user (null: to "
        "nobody) — what your screen showed; otherwise 409 `already_taken`",
    )


class TakeIn(RequestModel):
    from_agent_id: uuid.UUID | None = Field(
        default=None,
        description="Take it over from this agent (the one your screen showed holding it); "
        "held by anyone else, or by nobody you named, it is 409 `already_taken`",
    )


class NoteIn(RequestModel):
    body: CleanText = Field(min_length=1, max_length=4000)


_SORTS = {
    "last_message_at": Conversation.last_message_at,
    "created_at": Conversation.created_at,
}


def _parse_time(raw: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _with_contact(query: Select[Any]) -> Select[Any]:
    return query.add_columns(Contact.name).join(Contact, Contact.id == Conversation.contact_id)


@routes.get(
    "/api/conversations",
    "conversations:read",
    query=ConversationQuery,
    response=Page[ConversationOut],
    summary="List conversations",
)
async def list_conversations(call: Call[ConversationQuery, None]) -> Page[ConversationOut]:
    q = call.query

    def work(scope: TenantScope) -> Page[ConversationOut]:
        query = scope.select(Conversation)
        if q.status:
            query = query.where(Conversation.status.in_(q.status))
        if q.channel:
            query = query.where(Conversation.channel == q.channel)
        if q.assigned_agent_id:
            query = query.where(Conversation.assigned_agent_id == q.assigned_agent_id)
        if q.unassigned is not None:
            assigned = Conversation.assigned_agent_id
            query = query.where(assigned.is_(None) if q.unassigned else assigned.is_not(None))
        if q.contact_id:
            query = query.where(Conversation.contact_id == q.contact_id)
        if q.topic:
            query = query.where(Conversation.topic == q.topic)
        if q.updated_from:
            query = query.where(Conversation.updated_at >= q.updated_from)
        if q.updated_to:
            query = query.where(Conversation.updated_at < q.updated_to)
        total = scope.count(query)
        order = sort_order(q.sort, _SORTS).nulls_last()
        rows = scope.session.execute(
            _with_contact(query).order_by(order, Conversation.id).offset(q.offset).limit(q.per_page)
        )
        items = [ConversationOut.of(c, name) for c, name in rows]
        return Page(items=items, page=q.page, per_page=q.per_page, total=total)

    return await call.db(work)


@routes.get(
    "/api/conversations/{conversation_id}",
    "conversations:read",
    query=DetailQuery,
    response=ConversationDetail,
    summary="A conversation with its latest messages and notes",
)
async def get_conversation(call: Call[DetailQuery, None]) -> ConversationDetail:
    def work(scope: TenantScope) -> ConversationDetail:
        conversation = scope.get(Conversation, call.path["conversation_id"], what="conversation")
        contact = scope.get(Contact, conversation.contact_id, what="contact")
        notes = scope.session.scalars(
            scope.select(ConversationNote)
            .where(ConversationNote.conversation_id == conversation.id)
            .order_by(ConversationNote.created_at.desc(), ConversationNote.id.desc())
            .limit(50)
        ).all()
        base = ConversationOut.of(conversation, contact.name)
        call.response_headers["ETag"] = etag_of(conversation)
        return ConversationDetail(
            **base.model_dump(),
            contact_phone=contact.phone,
            contact_email=contact.email,
            messages=latest_messages(scope, conversation.id, call.query.messages),
            notes=[NoteOut.of(n) for n in reversed(notes)],
            quarantined=quarantined_messages(scope, conversation.id),
        )

    return await call.db(work)


@routes.put(
    "/api/conversations/{conversation_id}",
    "conversations:write",
    body=ConversationPatch,
    response=ConversationOut,
    errors=(409, 412),
    summary="Change a conversation's status or topic",
)
async def update_conversation(call: Call[None, ConversationPatch]) -> ConversationOut:
    changes = call.body.model_dump(exclude_unset=True, exclude_none=True)

    def work(scope: TenantScope) -> ConversationOut:
        conversation = _locked(scope, call.path["conversation_id"])
        check_if_match(call.if_match(), conversation)
        _refuse_closed(conversation)
        status = changes.get("status")
        if status == ConversationStatus.CLOSED:
            _close(conversation)
        elif status == ConversationStatus.WAITING_HUMAN:
            mute_bot(conversation, utcnow())
        elif status is not None:
            release_bot(conversation)
            conversation.status = status
        if "topic" in changes:
            conversation.topic = changes["topic"]
        return _saved(scope, call, conversation, "update", changes)

    return await call.db(work)


@routes.post(
    "/api/conversations/{conversation_id}/assign",
    "conversations:write",
    body=AssignIn,
    response=ConversationOut,
    errors=(409, 412),
    summary="Assign the conversation to a staff user (or null to unassign)",
    description="Send the conversation's ETag as `If-Match` so that two agents taking the "
    "same chat at once do not silently take it from each other (412 for the second).",
)
async def assign_conversation(call: Call[None, AssignIn]) -> ConversationOut:
    agent_id = call.body.agent_id

    def work(scope: TenantScope) -> ConversationOut:
        conversation = _locked(scope, call.path["conversation_id"])
        check_if_match(call.if_match(), conversation)
        _refuse_closed(conversation)
        if "expected_agent_id" in call.body.model_fields_set:
            _still_held_by(conversation, {call.body.expected_agent_id})
        if agent_id is not None:
            agent = scope.get(User, agent_id, what="user")
            if not is_allowed(agent.role, "messages:send") or agent.status != UserStatus.ACTIVE:
                raise ApiError(
                    422,
                    "not_an_agent",
                    "only an active owner, admin or agent can be assigned",
                    {"field": "agent_id", "role": agent.role.value, "status": agent.status.value},
                )
        conversation.assigned_agent_id = agent_id
        return _saved(scope, call, conversation, "assign", {"agent_id": agent_id})

    return await call.db(work)


@routes.post(
    "/api/conversations/{conversation_id}/take",
    "conversations:write",
    body=TakeIn,
    response=ConversationOut,
    errors=(409,),
    summary="Take the conversation: assign it to yourself and mute the bot, unless "
    "another agent got there first",
    description="Checked and written under the conversation's row lock, so of two agents "
    "taking the same chat at the same moment one gets it and the other a 409 "
    "`already_taken` naming who has it. Taking one you already hold changes nothing.",
)
async def take_conversation(call: Call[None, TakeIn]) -> ConversationOut:
    me = call.user.user_id

    def work(scope: TenantScope) -> ConversationOut:
        conversation = _locked(scope, call.path["conversation_id"])
        _refuse_closed(conversation)
        _still_held_by(conversation, {None, me, call.body.from_agent_id})
        if conversation.status != ConversationStatus.WAITING_HUMAN:
            mute_bot(conversation, utcnow())
        elif conversation.assigned_agent_id == me:
            return _saved(scope, call, conversation, None, {})
        conversation.assigned_agent_id = me
        return _saved(scope, call, conversation, "take", {"agent_id": me})

    return await call.db(work)


@routes.post(
    "/api/conversations/{conversation_id}/close",
    "conversations:write",
    response=ConversationOut,
    summary="Close a conversation (closing a closed one changes nothing)",
)
async def close_conversation(call: Call[None, None]) -> ConversationOut:
    def work(scope: TenantScope) -> ConversationOut:
        conversation = _locked(scope, call.path["conversation_id"])
        if conversation.status == ConversationStatus.CLOSED:
            return _saved(scope, call, conversation, None, {})
        _close(conversation)
        return _saved(scope, call, conversation, "close", {})

    return await call.db(work)


@routes.post(
    "/api/conversations/{conversation_id}/notes",
    "conversations:write",
    body=NoteIn,
    response=NoteOut,
    status=201,
    summary="Add an internal note (never sent to the customer)",
)
async def add_note(call: Call[None, NoteIn]) -> NoteOut:
    def work(scope: TenantScope) -> NoteOut:
        conversation = scope.get(Conversation, call.path["conversation_id"], what="conversation")
        note = scope.add(
            ConversationNote(
                conversation_id=conversation.id,
                author_user_id=call.user.user_id,
                body=call.body.body,
                created_at=utcnow(),
            )
        )
        scope.session.flush()
        scope.audit("create", "conversation_note", note.id, {"conversation_id": conversation.id})
        return NoteOut.of(note)

    return await call.db(work)


@routes.get(
    "/api/conversations/{conversation_id}/notes",
    "conversations:read",
    query=PageQuery,
    response=Page[NoteOut],
    summary="A conversation's notes, oldest first",
)
async def list_notes(call: Call[PageQuery, None]) -> Page[NoteOut]:
    q = call.query

    def work(scope: TenantScope) -> Page[NoteOut]:
        conversation = scope.get(Conversation, call.path["conversation_id"], what="conversation")
        query = scope.select(ConversationNote).where(
            ConversationNote.conversation_id == conversation.id
        )
        total = scope.count(query)
        rows = scope.session.scalars(
            query.order_by(ConversationNote.created_at, ConversationNote.id)
            .offset(q.offset)
            .limit(q.per_page)
        )
        return Page(
            items=[NoteOut.of(n) for n in rows], page=q.page, per_page=q.per_page, total=total
        )

    return await call.db(work)


def _locked(scope: TenantScope, conversation_id: uuid.UUID) -> Conversation:
    return scope.get(Conversation, conversation_id, what="conversation", for_update=True)


def _refuse_closed(conversation: Conversation) -> None:
    if conversation.status == ConversationStatus.CLOSED:
        raise conflict(
            "this conversation is closed; the customer's next message opens a new one",
            {"status": "closed"},
        )


def _still_held_by(conversation: Conversation, allowed: set[uuid.UUID | None]) -> None:
    """The compare of a compare-and-set: the row is locked, so nobody changes the
    assignee between this check and the caller's write."""
    holder = conversation.assigned_agent_id
    if holder not in allowed:
        raise ApiError(
            409,
            "already_taken",
            "another agent took this conversation a moment ago"
            if holder is not None
            else "this conversation was unassigned a moment ago",
            {"assigned_agent_id": str(holder) if holder else None},
        )


def _close(conversation: Conversation) -> None:
    release_bot(conversation)
    conversation.status = ConversationStatus.CLOSED
    conversation.closed_at = utcnow()


def _saved(
    scope: TenantScope,
    call: Call[Any, Any],
    conversation: Conversation,
    action: str | None,
    changes: dict[str, Any],
) -> ConversationOut:
    scope.session.flush()
    if action is not None:
        scope.audit(action, "conversation", conversation.id, changes)
    contact = scope.get(Contact, conversation.contact_id, what="contact")
    call.response_headers["ETag"] = etag_of(conversation)
    return ConversationOut.of(conversation, contact.name)
