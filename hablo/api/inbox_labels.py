"""Labels on conversations and saved replies: the business's own, in its tenant scope.

Names are cleaned like any text at the edge and unique per business (the database's
unique constraint decides a race); a conversation or label of another tenant is "not
found" because every lookup goes through the scope."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError

from hablo.api.problems import ApiError, conflict
from hablo.api.scope import TenantScope
from hablo.db.models import Conversation, ConversationLabel, Label, SavedReply
from hablo.engine.sanitize import clean_text

MAX_LABEL = 40
MAX_REPLY = 4096
_SHORTCUT = re.compile(r"^[a-z0-9_-]{1,32}$")


def _clean(raw: str, limit: int, field: str) -> str:
    value = clean_text(raw, limit).strip()
    if not value:
        raise ApiError(422, "validation_error", f"the {field} must not be empty", {"field": field})
    return value


def _flush_unique(scope: TenantScope, message: str, field: str) -> None:
    """Write now: a name taken (also by a concurrent request) is a 409, not a 500."""
    try:
        with scope.session.begin_nested():
            scope.session.flush()
    except IntegrityError as exc:
        raise conflict(message, {"field": field}) from exc


def has_label(label_id: uuid.UUID) -> Any:
    return exists().where(
        ConversationLabel.conversation_id == Conversation.id,
        ConversationLabel.label_id == label_id,
    )


def all_labels(scope: TenantScope) -> list[Label]:
    return list(scope.session.scalars(scope.select(Label).order_by(Label.name)))


def labels_by_conversation(
    scope: TenantScope, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    if not ids:
        return {}
    rows = scope.session.execute(
        select(ConversationLabel.conversation_id, Label.id, Label.name)
        .join(Label, Label.id == ConversationLabel.label_id)
        .where(
            ConversationLabel.tenant_id == scope.tenant_id,
            ConversationLabel.conversation_id.in_(ids),
        )
        .order_by(Label.name)
    ).all()
    out: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for conversation_id, label_id, name in rows:
        out.setdefault(conversation_id, []).append((label_id, name))
    return out


def create_label(scope: TenantScope, raw_name: str) -> Label:
    name = _clean(raw_name, MAX_LABEL, "name")
    label = scope.add(Label(name=name))
    _flush_unique(scope, f"there is already a label {name!r}", "name")
    scope.audit("create", "label", label.id, {"name": name})
    return label


def rename_label(scope: TenantScope, label_id: uuid.UUID, raw_name: str) -> Label:
    label = scope.get(Label, label_id, what="label", for_update=True)
    name = _clean(raw_name, MAX_LABEL, "name")
    before, label.name = label.name, name
    _flush_unique(scope, f"there is already a label {name!r}", "name")
    scope.audit("update", "label", label.id, {"name": name, "was": before})
    return label


def delete_label(scope: TenantScope, label_id: uuid.UUID) -> None:
    label = scope.get(Label, label_id, what="label")
    scope.session.delete(label)
    scope.audit("delete", "label", label_id, {"name": label.name})


def set_label(
    scope: TenantScope, conversation_id: uuid.UUID, label_id: uuid.UUID, on: bool
) -> None:
    conversation = scope.get(Conversation, conversation_id, what="conversation", for_update=True)
    label = scope.get(Label, label_id, what="label")
    linked = scope.session.get(ConversationLabel, (conversation.id, label.id))
    if on and linked is None:
        scope.add(ConversationLabel(conversation_id=conversation.id, label_id=label.id))
        scope.audit("label", "conversation", conversation.id, {"label": label.name})
    elif not on and linked is not None:
        scope.session.execute(
            delete(ConversationLabel).where(
                ConversationLabel.tenant_id == scope.tenant_id,
                ConversationLabel.conversation_id == conversation.id,
                ConversationLabel.label_id == label.id,
            )
        )
        scope.audit("unlabel", "conversation", conversation.id, {"label": label.name})


def saved_replies(scope: TenantScope) -> list[SavedReply]:
    return list(scope.session.scalars(scope.select(SavedReply).order_by(SavedReply.shortcut)))


def _shortcut(raw: str) -> str:
    shortcut = raw.strip().lstrip("/").lower()
    if not _SHORTCUT.match(shortcut):
        raise ApiError(
            422,
            "validation_error",
            "a shortcut is 1-32 lowercase letters, digits, '-' or '_'",
            {"field": "shortcut"},
        )
    return shortcut


def create_saved_reply(scope: TenantScope, raw_shortcut: str, raw_text: str) -> SavedReply:
    shortcut = _shortcut(raw_shortcut)
    text = _clean(raw_text, MAX_REPLY, "text")
    reply = scope.add(SavedReply(shortcut=shortcut, text=text))
    _flush_unique(scope, f"the shortcut /{shortcut} is taken", "shortcut")
    scope.audit("create", "saved_reply", reply.id, {"shortcut": shortcut})
    return reply


def update_saved_reply(
    scope: TenantScope, reply_id: uuid.UUID, raw_shortcut: str | None, raw_text: str | None
) -> SavedReply:
    """Change the shortcut, the text or both (what is None stays)."""
    reply = scope.get(SavedReply, reply_id, what="saved reply", for_update=True)
    changes: dict[str, Any] = {}
    if raw_shortcut is not None:
        changes["shortcut"] = reply.shortcut = _shortcut(raw_shortcut)
    if raw_text is not None:
        reply.text = _clean(raw_text, MAX_REPLY, "text")
        changes["text"] = True  # the audit says it changed, not what it says
    _flush_unique(scope, f"the shortcut /{reply.shortcut} is taken", "shortcut")
    scope.audit("update", "saved_reply", reply.id, changes)
    return reply


def delete_saved_reply(scope: TenantScope, reply_id: uuid.UUID) -> None:
    reply = scope.get(SavedReply, reply_id, what="saved reply")
    scope.session.delete(reply)
    scope.audit("delete", "saved_reply", reply_id, {"shortcut": reply.shortcut})
