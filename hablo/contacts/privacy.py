"""GDPR for one contact: everything we hold about them (export), and erasure.

Erasure anonymises rather than deletes: the business keeps its numbers (bookings,
amounts spent, how many messages) while nothing left identifies the person. Money
records stay (tax law), stripped of free-form details; invoices are legal documents
and keep the name printed on them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, update

from hablo.api.scope import TenantScope
from hablo.db.enums import ConversationStatus, InboxStatus, OutboxStatus
from hablo.db.models import (
    AuditLog,
    Booking,
    Contact,
    ContactIdentity,
    Conversation,
    ConversationNote,
    InboxEvent,
    Message,
    OutboxMessage,
    Payment,
)

ERASED_NAME = "Erased contact"
ERASED_TEXT = "[erased]"


def _row(obj: Any, *columns: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in columns:
        value = getattr(obj, column)
        out[column] = value.isoformat() if isinstance(value, datetime) else value
    return out


def export_contact(scope: TenantScope, contact: Contact) -> dict[str, Any]:
    session = scope.session
    conversations = list(
        session.scalars(
            scope.select(Conversation)
            .where(Conversation.contact_id == contact.id)
            .order_by(Conversation.created_at)
        )
    )
    ids = [c.id for c in conversations]
    messages: dict[Any, list[dict[str, Any]]] = {i: [] for i in ids}
    notes: list[dict[str, Any]] = []
    if ids:
        for m in session.scalars(
            scope.select(Message)
            .where(Message.conversation_id.in_(ids))
            .order_by(Message.created_at, Message.id)
        ):
            messages[m.conversation_id].append(
                _row(m, "sender_kind", "body", "attachments", "language", "status", "created_at")
            )
        for n in session.scalars(
            scope.select(ConversationNote)
            .where(ConversationNote.conversation_id.in_(ids))
            .order_by(ConversationNote.created_at)
        ):
            notes.append(_row(n, "conversation_id", "body", "created_at"))
    return {
        "profile": _row(
            contact,
            "id",
            "name",
            "phone",
            "email",
            "kind",
            "language",
            "total_conversations",
            "total_spent_minor",
            "last_purchase_at",
            "consent_at",
            "erased_at",
            "created_at",
            "updated_at",
        ),
        "identities": [
            _row(i, "kind", "value", "created_at")
            for i in session.scalars(
                scope.select(ContactIdentity).where(ContactIdentity.contact_id == contact.id)
            )
        ],
        "consent_history": [
            {"action": a.action, "source": a.changes.get("source"), "at": a.created_at.isoformat()}
            for a in session.scalars(
                scope.select(AuditLog)
                .where(
                    AuditLog.entity == "contact",
                    AuditLog.entity_id == str(contact.id),
                    AuditLog.action.in_(("consent_given", "consent_withdrawn")),
                )
                .order_by(AuditLog.created_at)
            )
        ],
        "conversations": [
            {
                **_row(c, "id", "channel", "peer", "status", "topic", "language", "created_at"),
                "messages": messages[c.id],
            }
            for c in conversations
        ],
        "notes": notes,
        "bookings": [
            _row(b, "id", "service_id", "starts_at", "ends_at", "status", "notes", "created_at")
            for b in session.scalars(
                scope.select(Booking)
                .where(Booking.contact_id == contact.id)
                .order_by(Booking.starts_at)
            )
        ],
        "payments": [
            _row(p, "id", "amount_minor", "refunded_minor", "currency", "method", "status")
            | {"created_at": p.created_at.isoformat()}
            for p in session.scalars(
                scope.select(Payment)
                .where(Payment.contact_id == contact.id)
                .order_by(Payment.created_at)
            )
        ],
    }


def conversation_peers(scope: TenantScope, contact: Contact) -> set[tuple[str, str]]:
    """The (channel, address) pairs the contact wrote from."""
    conversations = scope.session.scalars(
        scope.select(Conversation).where(Conversation.contact_id == contact.id)
    )
    return {(c.channel, c.peer) for c in conversations}


def forget_inbound_events(scope: TenantScope, peers: set[tuple[str, str]]) -> None:
    """Redact the raw inbound events of these addresses: they carry the text, the
    sender's name and the address. Rows stay (the provider message id dedupes a provider's
    retry); pending ones are left to be handled as any new message."""
    for channel, peer in peers:
        scope.session.execute(
            update(InboxEvent)
            .where(
                InboxEvent.tenant_id == scope.tenant_id,
                InboxEvent.channel == channel,
                InboxEvent.peer == peer,
                InboxEvent.status.in_((InboxStatus.PROCESSED, InboxStatus.QUARANTINED)),
            )
            .values(payload={"text": ERASED_TEXT}, peer=ERASED_TEXT)
        )


def erase_contact(scope: TenantScope, contact: Contact) -> dict[str, int]:
    """Anonymise the contact; returns what was erased (counts only). The caller checks
    `erased_at` first: erasing twice is a no-op."""
    session, tenant = scope.session, scope.tenant_id
    now = datetime.now(UTC)
    conversations = list(
        session.scalars(scope.select(Conversation).where(Conversation.contact_id == contact.id))
    )
    ids = [c.id for c in conversations]
    peers = {(c.channel, c.peer) for c in conversations}
    counts = {"conversations": len(ids), "messages": 0, "notes": 0, "identities": 0}
    if ids:
        counts["messages"] = _rowcount(
            session.execute(
                update(Message)
                .where(Message.tenant_id == tenant, Message.conversation_id.in_(ids))
                # Attachments hold captions, file names, media ids and URLs: personal too.
                .values(body=ERASED_TEXT, error=None, attachments=None)
            )
        )
        counts["notes"] = _rowcount(
            session.execute(
                delete(ConversationNote).where(
                    ConversationNote.tenant_id == tenant, ConversationNote.conversation_id.in_(ids)
                )
            )
        )
        # Replies not sent yet are dropped: an erased person is not written to again.
        outbox = update(OutboxMessage).where(
            OutboxMessage.tenant_id == tenant, OutboxMessage.conversation_id.in_(ids)
        )
        session.execute(
            outbox.where(OutboxMessage.status == OutboxStatus.PENDING).values(
                status=OutboxStatus.DEAD, last_error="contact erased"
            )
        )
        session.execute(outbox.values(payload={"text": ERASED_TEXT}, peer=ERASED_TEXT))
    forget_inbound_events(scope, peers)
    for conversation in conversations:
        # The address goes (a new message from it starts afresh, as a new contact); a
        # live conversation is closed so nothing more is added to the erased one.
        conversation.peer = f"erased:{conversation.id}"
        conversation.state = {}
        if conversation.status != ConversationStatus.CLOSED:
            conversation.status = ConversationStatus.CLOSED
            conversation.closed_at = now
    counts["identities"] = _rowcount(
        session.execute(
            delete(ContactIdentity).where(
                ContactIdentity.tenant_id == tenant, ContactIdentity.contact_id == contact.id
            )
        )
    )
    session.execute(
        update(Booking)
        .where(Booking.tenant_id == tenant, Booking.contact_id == contact.id)
        .values(notes="")
    )
    session.execute(
        update(Payment)
        .where(Payment.tenant_id == tenant, Payment.contact_id == contact.id)
        .values(details={})
    )
    contact.name = ERASED_NAME
    contact.phone = None
    contact.email = None
    contact.language = None
    contact.consent_at = None
    contact.erased_at = now
    session.flush()
    return counts


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
