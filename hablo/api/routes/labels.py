"""Labels: the business's own tags for conversations ("urgente", "presupuesto"), and which
conversation carries which. The same operations the console's inbox uses (names cleaned,
unique per business, every change audited, another business's label is "not found")."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from hablo.api import inbox_labels
from hablo.api.endpoints import ApiRoutes, Call, RequestModel
from hablo.api.scope import TenantScope
from hablo.db.models import Label

routes = ApiRoutes("labels")


class LabelOut(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, label: Label) -> LabelOut:
        return cls(
            id=label.id, name=label.name, created_at=label.created_at, updated_at=label.updated_at
        )


class LabelList(BaseModel):
    items: list[LabelOut] = Field(description="Every label of the business, by name")


class LabelIn(RequestModel):
    # Emptiness (also after cleaning) is the service's check, with its own message.
    name: str = Field(max_length=inbox_labels.MAX_LABEL, description="Unique in the business")


@routes.get(
    "/api/labels",
    "conversations:read",
    response=LabelList,
    summary="The business's conversation labels, by name",
)
async def list_labels(call: Call[None, None]) -> LabelList:
    def work(scope: TenantScope) -> LabelList:
        return LabelList(items=[LabelOut.of(label) for label in inbox_labels.all_labels(scope)])

    return await call.db(work)


@routes.post(
    "/api/labels",
    "conversations:write",
    body=LabelIn,
    response=LabelOut,
    status=201,
    errors=(409,),
    summary="Add a label (409 when the business already has one of that name)",
)
async def create_label(call: Call[None, LabelIn]) -> LabelOut:
    return await call.db(
        lambda scope: LabelOut.of(inbox_labels.create_label(scope, call.body.name))
    )


@routes.patch(
    "/api/labels/{label_id}",
    "conversations:write",
    body=LabelIn,
    response=LabelOut,
    errors=(404, 409),
    summary="Rename a label (the conversations that carry it keep it)",
)
async def rename_label(call: Call[None, LabelIn]) -> LabelOut:
    return await call.db(
        lambda scope: LabelOut.of(
            inbox_labels.rename_label(scope, call.path["label_id"], call.body.name)
        )
    )


@routes.delete(
    "/api/labels/{label_id}",
    "conversations:write",
    errors=(404,),
    summary="Delete a label (it comes off every conversation)",
)
async def delete_label(call: Call[None, None]) -> None:
    await call.db(lambda scope: inbox_labels.delete_label(scope, call.path["label_id"]))


@routes.put(
    "/api/conversations/{conversation_id}/labels/{label_id}",
    "conversations:write",
    errors=(404,),
    summary="Put a label on a conversation (already on: nothing changes)",
)
async def label_conversation(call: Call[None, None]) -> None:
    await call.db(
        lambda scope: inbox_labels.set_label(
            scope, call.path["conversation_id"], call.path["label_id"], True
        )
    )


@routes.delete(
    "/api/conversations/{conversation_id}/labels/{label_id}",
    "conversations:write",
    errors=(404,),
    summary="Take a label off a conversation (not on: nothing changes)",
)
async def unlabel_conversation(call: Call[None, None]) -> None:
    await call.db(
        lambda scope: inbox_labels.set_label(
            scope, call.path["conversation_id"], call.path["label_id"], False
        )
    )
