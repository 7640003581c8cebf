"""The engine's persistence: inbox dedupe, contact/conversation activation, the turn
transaction, and outbox bookkeeping. SQLAlchemy Core on the hot path (the ORM's unit of
work costs more CPU per turn than the rest of the turn together)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import phonenumbers
from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hablo.db.base import new_id, utcnow
from hablo.db.database import Database
from hablo.db.enums import (
    ConversationStatus,
    DeliveryStatus,
    InboxStatus,
    OutboxStatus,
    SenderKind,
)
from hablo.db.models import (
    Contact,
    ContactIdentity,
    Conversation,
    InboxEvent,
    Message,
    OutboxMessage,
)
from hablo.engine.messages import ConversationKey, InboundMessage, OutboundEnvelope, SubmitResult

INBOX = cast(Table, InboxEvent.__table__)
OUTBOX = cast(Table, OutboxMessage.__table__)
MESSAGES = cast(Table, Message.__table__)
CONVERSATIONS = cast(Table, Conversation.__table__)

# How each channel's peer address identifies a person (same person across channels).
IDENTITY_KIND = {"console": "phone", "whatsapp": "phone", "sms": "phone", "webchat": "webchat"}


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """E.164 ("+5491155550000"); raises ValueError for something that is not a phone."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class ActiveConversation:
    contact_id: uuid.UUID
    conversation_id: uuid.UUID


@dataclass(frozen=True)
class LockedConversation:
    id: uuid.UUID
    status: ConversationStatus
    state: dict[str, Any]
    language: str | None
    message_count: int


@dataclass
class TurnRecord:
    """Everything one turn writes, committed together by `ConversationStore.commit_turn`."""

    inbox_ids: tuple[int, ...]
    inbound_text: str
    language: str
    intent: str | None
    confidence: float
    skill: str | None
    replies: Sequence[str]
    new_state: dict[str, Any] | None
    new_status: ConversationStatus | None = None
    error: str | None = None
    received_at: datetime = field(default_factory=utcnow)


class ConversationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- inbox ---------------------------------------------------------------------------

    def accept(self, msg: InboundMessage) -> SubmitResult:
        """Store an inbound message durably. A duplicate provider id is reported, not stored."""
        row = {
            "tenant_id": msg.tenant_id,
            "channel": msg.channel,
            "provider_message_id": msg.provider_message_id,
            "peer": msg.peer,
            "payload": {"text": msg.text, "sender_name": msg.sender_name, **dict(msg.extra)},
            "status": InboxStatus.PENDING,
            "received_at": msg.received_at,
        }
        try:
            with self.db.transaction() as session:
                inbox_id = session.execute(insert(INBOX).returning(INBOX.c.id), row).scalar_one()
            return SubmitResult(inbox_id=inbox_id, duplicate=False)
        except IntegrityError:
            with self.db.transaction() as session:
                existing = session.execute(
                    select(INBOX.c.id).where(
                        INBOX.c.tenant_id == msg.tenant_id,
                        INBOX.c.channel == msg.channel,
                        INBOX.c.provider_message_id == msg.provider_message_id,
                    )
                ).scalar_one()
            return SubmitResult(inbox_id=existing, duplicate=True)

    def pending_inbox(
        self, older_than: datetime | None = None, key: ConversationKey | None = None
    ) -> list[tuple[int, InboundMessage]]:
        """Accepted but unprocessed inbound messages, in arrival order (crash recovery)."""
        query = select(INBOX).where(INBOX.c.status == InboxStatus.PENDING).order_by(INBOX.c.id)
        if older_than is not None:
            query = query.where(INBOX.c.received_at < older_than)
        if key is not None:
            query = query.where(
                INBOX.c.tenant_id == key.tenant_id,
                INBOX.c.channel == key.channel,
                INBOX.c.peer == key.peer,
            )
        with self.db.transaction() as session:
            rows = session.execute(query).mappings().all()
        return [(row["id"], _inbound_from_row(row)) for row in rows]

    # -- activation ----------------------------------------------------------------------

    def activate(self, key: ConversationKey, sender_name: str = "") -> ActiveConversation:
        """Find or create the contact and the live conversation for a key (races are safe)."""
        for _ in range(3):
            try:
                with self.db.transaction() as session:
                    contact_id = self._contact_for(session, key, sender_name)
                    conversation_id = self._live_conversation(session, key, contact_id)
                    return ActiveConversation(contact_id, conversation_id)
            except IntegrityError:
                continue  # another process created it first; read theirs
        raise RuntimeError(f"could not activate conversation for {key}")

    def _contact_for(self, session: Session, key: ConversationKey, name: str) -> uuid.UUID:
        kind = IDENTITY_KIND.get(key.channel, key.channel)
        found = session.execute(
            select(ContactIdentity.contact_id).where(
                ContactIdentity.tenant_id == key.tenant_id,
                ContactIdentity.kind == kind,
                ContactIdentity.value == key.peer,
            )
        ).scalar_one_or_none()
        if found is not None:
            return found
        contact = Contact(
            id=new_id(),
            tenant_id=key.tenant_id,
            name=name,
            phone=key.peer if kind == "phone" else None,
        )
        session.add(contact)
        session.flush()
        session.add(
            ContactIdentity(
                tenant_id=key.tenant_id, contact_id=contact.id, kind=kind, value=key.peer
            )
        )
        session.flush()
        return contact.id

    def _live_conversation(
        self, session: Session, key: ConversationKey, contact_id: uuid.UUID
    ) -> uuid.UUID:
        found = session.execute(
            select(Conversation.id).where(
                Conversation.tenant_id == key.tenant_id,
                Conversation.channel == key.channel,
                Conversation.peer == key.peer,
                Conversation.status != ConversationStatus.CLOSED,
            )
        ).scalar_one_or_none()
        if found is not None:
            return found
        conversation_id = new_id()
        session.execute(
            insert(CONVERSATIONS).values(
                id=conversation_id,
                tenant_id=key.tenant_id,
                contact_id=contact_id,
                channel=key.channel,
                peer=key.peer,
                status=ConversationStatus.OPEN,
                topic="inquiry",
                message_count=0,
                purchase_made=False,
                state={},
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        session.execute(
            update(Contact)
            .where(Contact.id == contact_id)
            .values(total_conversations=Contact.total_conversations + 1)
        )
        return conversation_id

    # -- the turn ------------------------------------------------------------------------

    def lock_conversation(self, session: Session, conversation_id: uuid.UUID) -> LockedConversation:
        """Lock the conversation row FIRST: inserting before locking deadlocks under load."""
        query = select(
            CONVERSATIONS.c.id,
            CONVERSATIONS.c.status,
            CONVERSATIONS.c.state,
            CONVERSATIONS.c.language,
            CONVERSATIONS.c.message_count,
        ).where(CONVERSATIONS.c.id == conversation_id)
        if self.db.supports_row_locks:
            query = query.with_for_update()
        row = session.execute(query).one()
        return LockedConversation(
            row.id,
            ConversationStatus(row.status),
            dict(row.state or {}),
            row.language,
            row.message_count,
        )

    def claim_inbox(self, session: Session, inbox_ids: Sequence[int]) -> list[int]:
        """Mark inbox rows processed; returns the ids this transaction claimed (dedupe)."""
        claimed = []
        now = utcnow()
        for inbox_id in inbox_ids:
            result = session.execute(
                update(INBOX)
                .where(INBOX.c.id == inbox_id, INBOX.c.status == InboxStatus.PENDING)
                .values(status=InboxStatus.PROCESSED, processed_at=now)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(inbox_id)
        return claimed

    def commit_turn(
        self,
        session: Session,
        key: ConversationKey,
        conversation: LockedConversation,
        turn: TurnRecord,
    ) -> list[OutboundEnvelope]:
        """Write the inbound message, the replies, their outbox rows and the new state."""
        now = utcnow()
        rows = [
            {
                "id": new_id(),
                "tenant_id": key.tenant_id,
                "conversation_id": conversation.id,
                "sender_kind": SenderKind.CUSTOMER,
                "body": turn.inbound_text,
                "language": turn.language,
                "intent": turn.intent,
                "confidence": turn.confidence,
                "skill": turn.skill,
                "tokens": 0,
                "status": DeliveryStatus.RECEIVED,
                "error": turn.error,
                "created_at": turn.received_at,
            }
        ]
        reply_ids = [new_id() for _ in turn.replies]
        rows.extend(
            {
                "id": reply_id,
                "tenant_id": key.tenant_id,
                "conversation_id": conversation.id,
                "sender_kind": SenderKind.BOT,
                "body": text,
                "language": turn.language,
                "intent": None,
                "confidence": None,
                "skill": turn.skill,
                "tokens": 0,
                "status": DeliveryStatus.PENDING,
                "error": None,
                "created_at": now,
            }
            for reply_id, text in zip(reply_ids, turn.replies, strict=True)
        )
        session.execute(insert(MESSAGES), rows)
        envelopes = []
        for index, (reply_id, text) in enumerate(zip(reply_ids, turn.replies, strict=True)):
            last = index == len(turn.replies) - 1
            outbox_id = session.execute(
                insert(OUTBOX).returning(OUTBOX.c.id),
                {
                    "tenant_id": key.tenant_id,
                    "message_id": reply_id,
                    "conversation_id": conversation.id,
                    "inbox_id": turn.inbox_ids[-1],
                    "channel": key.channel,
                    "peer": key.peer,
                    "payload": {"text": text, "inbox_ids": list(turn.inbox_ids) if last else []},
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                },
            ).scalar_one()
            envelopes.append(
                OutboundEnvelope(
                    outbox_id=outbox_id,
                    tenant_id=key.tenant_id,
                    channel=key.channel,
                    peer=key.peer,
                    text=text,
                    conversation_id=conversation.id,
                    inbox_ids=turn.inbox_ids if last else (),
                )
            )
        values: dict[str, Any] = {
            "message_count": conversation.message_count + len(rows),
            "last_message_at": now,
            "updated_at": now,
            "language": turn.language,
        }
        if turn.new_state is not None:
            values["state"] = turn.new_state
        if turn.new_status is not None:
            values["status"] = turn.new_status
        session.execute(
            update(CONVERSATIONS).where(CONVERSATIONS.c.id == conversation.id).values(**values)
        )
        return envelopes

    # -- outbox --------------------------------------------------------------------------

    def pending_outbox(self) -> list[OutboundEnvelope]:
        with self.db.transaction() as session:
            rows = (
                session.execute(
                    select(OUTBOX)
                    .where(OUTBOX.c.status == OutboxStatus.PENDING)
                    .order_by(OUTBOX.c.id)
                )
                .mappings()
                .all()
            )
        return [
            OutboundEnvelope(
                outbox_id=row["id"],
                tenant_id=row["tenant_id"],
                channel=row["channel"],
                peer=row["peer"],
                text=str(row["payload"].get("text", "")),
                conversation_id=row["conversation_id"],
                inbox_ids=tuple(row["payload"].get("inbox_ids", ())),
                attempts=row["attempts"],
            )
            for row in rows
        ]

    def mark_sent(self, sent: Sequence[tuple[int, str | None]]) -> None:
        """Record successful sends in one transaction: (outbox id, provider message id)."""
        if not sent:
            return
        now = utcnow()
        ids = [outbox_id for outbox_id, _ in sent]
        with self.db.transaction() as session:
            session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(ids))
                .values(status=OutboxStatus.SENT, sent_at=now, attempts=OUTBOX.c.attempts + 1)
            )
            session.execute(
                update(MESSAGES)
                .where(
                    MESSAGES.c.id.in_(
                        select(OUTBOX.c.message_id).where(OUTBOX.c.id.in_(ids)).scalar_subquery()
                    )
                )
                .values(status=DeliveryStatus.SENT)
            )
            with_provider_ids = [(i, p) for i, p in sent if p]
            for outbox_id, provider_id in with_provider_ids:
                session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id == outbox_id)
                    .values(provider_message_id=provider_id)
                )

    def mark_failed_attempt(
        self, outbox_id: int, attempts: int, error: str, next_attempt_in: timedelta | None
    ) -> None:
        """A failed send: schedule the next attempt, or dead-letter it when there is none."""
        values: dict[str, Any] = {"attempts": attempts, "last_error": error[:500]}
        if next_attempt_in is None:
            values["status"] = OutboxStatus.DEAD
        else:
            values["next_attempt_at"] = utcnow() + next_attempt_in
        with self.db.transaction() as session:
            session.execute(update(OUTBOX).where(OUTBOX.c.id == outbox_id).values(**values))
            if next_attempt_in is None:
                session.execute(
                    update(MESSAGES)
                    .where(
                        MESSAGES.c.id
                        == select(OUTBOX.c.message_id)
                        .where(OUTBOX.c.id == outbox_id)
                        .scalar_subquery()
                    )
                    .values(status=DeliveryStatus.FAILED, error=error[:500])
                )


def _inbound_from_row(row: Any) -> InboundMessage:
    payload = dict(row["payload"] or {})
    text = str(payload.pop("text", ""))
    sender_name = str(payload.pop("sender_name", ""))
    return InboundMessage(
        tenant_id=row["tenant_id"],
        channel=row["channel"],
        peer=row["peer"],
        text=text,
        provider_message_id=row["provider_message_id"],
        received_at=row["received_at"],
        sender_name=sender_name,
        extra=tuple(sorted(payload.items())),
    )
