"""Saved replies: texts staff send often, picked by a shortcut ("/horarios") in the
console's composer. Every agent reads them; changing them is a settings change."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field, model_validator

from hablo.api import inbox_labels
from hablo.api.endpoints import ApiRoutes, Call, RequestModel
from hablo.api.scope import TenantScope
from hablo.db.models import SavedReply

routes = ApiRoutes("saved_replies")

_SHORTCUT_HELP = "1-32 lowercase letters, digits, '-' or '_' (a leading '/' is dropped)"


class SavedReplyOut(BaseModel):
    id: uuid.UUID
    shortcut: str
    text: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, reply: SavedReply) -> SavedReplyOut:
        return cls(
            id=reply.id,
            shortcut=reply.shortcut,
            text=reply.text,
            created_at=reply.created_at,
            updated_at=reply.updated_at,
        )


class SavedReplyList(BaseModel):
    items: list[SavedReplyOut] = Field(description="Every saved reply, by shortcut")


class SavedReplyIn(RequestModel):
    # Shapes and emptiness are the service's checks, with their own messages.
    shortcut: str = Field(max_length=33, description=_SHORTCUT_HELP)
    text: str = Field(max_length=inbox_labels.MAX_REPLY)


class SavedReplyPatch(RequestModel):
    """Only the fields sent change."""

    shortcut: str | None = Field(default=None, max_length=33)
    text: str | None = Field(default=None, max_length=inbox_labels.MAX_REPLY)

    @model_validator(mode="after")
    def _something(self) -> SavedReplyPatch:
        if self.shortcut is None and self.text is None:
            raise ValueError("send the shortcut, the text or both")
        return self


@routes.get(
    "/api/saved-replies",
    "conversations:read",
    response=SavedReplyList,
    summary="The business's saved replies, by shortcut",
)
async def list_saved_replies(call: Call[None, None]) -> SavedReplyList:
    def work(scope: TenantScope) -> SavedReplyList:
        replies = inbox_labels.saved_replies(scope)
        return SavedReplyList(items=[SavedReplyOut.of(reply) for reply in replies])

    return await call.db(work)


@routes.post(
    "/api/saved-replies",
    "settings:write",
    body=SavedReplyIn,
    response=SavedReplyOut,
    status=201,
    errors=(409,),
    summary="Add a saved reply (409 when the shortcut is taken)",
)
async def create_saved_reply(call: Call[None, SavedReplyIn]) -> SavedReplyOut:
    body = call.body
    return await call.db(
        lambda scope: SavedReplyOut.of(
            inbox_labels.create_saved_reply(scope, body.shortcut, body.text)
        )
    )


@routes.patch(
    "/api/saved-replies/{reply_id}",
    "settings:write",
    body=SavedReplyPatch,
    response=SavedReplyOut,
    errors=(404, 409),
    summary="Change a saved reply's shortcut or text (only the fields sent)",
)
async def update_saved_reply(call: Call[None, SavedReplyPatch]) -> SavedReplyOut:
    body = call.body
    return await call.db(
        lambda scope: SavedReplyOut.of(
            inbox_labels.update_saved_reply(scope, call.path["reply_id"], body.shortcut, body.text)
        )
    )


@routes.delete(
    "/api/saved-replies/{reply_id}",
    "settings:write",
    errors=(404,),
    summary="Delete a saved reply",
)
async def delete_saved_reply(call: Call[None, None]) -> None:
    await call.db(lambda scope: inbox_labels.delete_saved_reply(scope, call.path["reply_id"]))
