"""The engine's persistence: inbox dedupe, contact/conversation activation, the turn
transaction, and outbox bookkeeping. SQLAlchemy Core on the hot path (the ORM's unit of
work costs more CPU per turn than the rest of the turn together)."""

from __future__ import annotations

import functools
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import phonenumbers
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from hablo.db.base import new_id, utcnow
from hablo.db.database import Database
from hablo.db.enums import (
    ContactKind,
    ConversationStatus,
    DeliveryStatus,
    InboxStatus,
    OutboxStatus,
    Topic,
)
from hablo.engine.messages import ConversationKey, InboundMessage, OutboundEnvelope, SubmitResult
from hablo.engine.sanitize import MAX_PROVIDER_ID, clean_identifier, clean_text
from hablo.engine.statements import (
    CONTACTS,
    CONVERSATIONS,
    IDENTITIES,
    INBOX,
    MESSAGES,
    OUTBOX,
    HotPathStatements,
)
from hablo.engine.turn_rows import (
    CLIENT_ID_KEY,
    LockedConversation,
    TurnRecord,
    TurnRows,
    envelope_from_row,
    envelopes_of,
    turn_rows,
)

# How each channel's peer address identifies a person (same person across channels).
IDENTITY_KIND = {
    "console": "phone",
    "whatsapp": "phone",
    "sms": "phone",
    "webchat": "webchat",
    # Twilio and WhatsApp Web peers are E.164, Cloud API peers the same digits without "+":
    # the same person over SMS and either WhatsApp is one contact.
    "twilio_sms": "phone",
    "twilio_whatsapp": "phone",
    "whatsapp_cloud": "phone",
    "whatsapp_web": "phone",
    "email": "email",
}


_E164_SHAPE = re.compile(r"\+?\d{3,15}")


def identity_of(channel: str, peer: str) -> tuple[str, str]:
    """(kind, value) under which a channel's peer is one person across channels."""
    kind = IDENTITY_KIND.get(channel, channel)
    if kind == "phone" and peer.isdigit():
        return kind, "+" + peer  # a WhatsApp id is the E.164 number without its "+"
    if kind == "email":
        return kind, peer.lower()
    return kind, peer


def contact_phone(kind: str, value: str) -> str | None:
    """The phone kept on a new contact: a peer that is no phone number (hostile input)
    identifies, but is not kept as the contact's phone (E.164: at most 16 characters)."""
    return value if kind == "phone" and _E164_SHAPE.fullmatch(value) else None


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """E.164 ("+5491155550000"); raises ValueError for something that is not a phone."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class StaleOwner(ConnectionError):
    """Raised by `check_write`: another process runs this conversation now (a worker
    whose shard was taken over); what is pending is that process's to send."""


# compute(conversation, connection, the inbox ids this transaction claimed) -> TurnRecord
TurnComputer = Callable[[LockedConversation, Connection, tuple[int, ...]], TurnRecord]
# apology(the conversation's language, if known) -> (language, the reply's text)
Apology = Callable[[str | None], tuple[str, str]]


class ConversationStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._sql = HotPathStatements(db.dialect)
        # Turns beyond this many wait here, not in the pool: the outbox dispatcher and the
        # edge's inbox inserts always find a connection.
        self.turn_slots = threading.BoundedSemaphore(db.turn_concurrency)

    # -- inbox ---------------------------------------------------------------------------

    def accept(self, msg: InboundMessage) -> SubmitResult:
        """Store an inbound message durably. A duplicate provider id is reported, not stored.

        One autocommitted INSERT ... ON CONFLICT DO NOTHING: no BEGIN/COMMIT round trips,
        and a provider retry never raises.
        """
        row = {
            "tenant_id": msg.tenant_id,
            "channel": msg.channel,
            "provider_message_id": msg.provider_message_id,
            "peer": msg.peer,
            "payload": {"text": msg.text, "sender_name": msg.sender_name, **dict(msg.extra)},
            "status": InboxStatus.PENDING,
            "received_at": msg.received_at,
        }
        with self.db.autocommit() as conn:
            inbox_id = conn.execute(self._sql.insert_inbox, row).scalar_one_or_none()
            if inbox_id is not None:
                return SubmitResult(inbox_id=inbox_id, duplicate=False)
            existing = conn.execute(
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
        with self.db.begin() as conn:
            rows = conn.execute(query).mappings().all()
        return [(row["id"], _inbound_from_row(row)) for row in rows]

    # -- activation ----------------------------------------------------------------------

    def _contact_for(self, conn: Connection, key: ConversationKey, name: str) -> uuid.UUID:
        kind, value = identity_of(key.channel, key.peer)
        found = conn.execute(
            select(IDENTITIES.c.contact_id).where(
                IDENTITIES.c.tenant_id == key.tenant_id,
                IDENTITIES.c.kind == kind,
                IDENTITIES.c.value == value,
            )
        ).scalar_one_or_none()
        if found is not None:
            return cast(uuid.UUID, found)
        contact_id, now = new_id(), utcnow()
        conn.execute(
            insert(CONTACTS).values(
                id=contact_id,
                tenant_id=key.tenant_id,
                name=name,
                phone=contact_phone(kind, value),
                email=value if kind == "email" else None,
                kind=ContactKind.PROSPECT,
                total_conversations=0,
                total_spent_minor=0,
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            insert(IDENTITIES).values(
                id=new_id(),
                tenant_id=key.tenant_id,
                contact_id=contact_id,
                kind=kind,
                value=value,
                created_at=now,
            )
        )
        return contact_id

    def open_live(
        self, conn: Connection, key: ConversationKey, sender_name: str
    ) -> LockedConversation:
        """A new conversation (and contact, when the address is new), inside the turn's
        transaction: the unique live-conversation index rejects a concurrent twin."""
        contact_id = self._contact_for(conn, key, sender_name)
        conversation_id, now = new_id(), utcnow()
        conn.execute(
            insert(CONVERSATIONS).values(
                id=conversation_id,
                tenant_id=key.tenant_id,
                contact_id=contact_id,
                channel=key.channel,
                peer=key.peer,
                status=ConversationStatus.OPEN,
                topic=Topic.INQUIRY,
                message_count=0,
                purchase_made=False,
                state={},
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            update(CONTACTS)
            .where(CONTACTS.c.id == contact_id)
            .values(total_conversations=CONTACTS.c.total_conversations + 1)
        )
        return LockedConversation(conversation_id, contact_id, ConversationStatus.OPEN, {}, None, 0)

    # -- the turn ------------------------------------------------------------------------

    def process_turn(
        self,
        key: ConversationKey,
        inbox_ids: Sequence[int],
        compute: TurnComputer,
        sender_name: str = "",
    ) -> tuple[tuple[int, ...], list[OutboundEnvelope]]:
        """The turn transaction: lock the customer's live conversation (creating it when
        there is none — a closed one is never reused), claim the inbox rows, let `compute`
        decide the turn (NLU, skill; it may write through `conn`), then write it all.

        Returns the inbox ids this transaction claimed and the replies to send; nothing
        claimed means another delivery already processed these rows.
        """
        with self.turn_slots, self.db.begin() as conn:
            conversation = self.lock_live(conn, key) or self.open_live(conn, key, sender_name)
            claimed = tuple(self.claim_inbox(conn, inbox_ids))
            if not claimed:
                return (), []
            record = compute(conversation, conn, claimed)
            return claimed, self.commit_turn(conn, key, conversation, record)

    def commit_followup(
        self,
        key: ConversationKey,
        skill: str,
        record: Callable[[Connection], Sequence[str]],
        reply_extras: tuple[dict[str, Any] | None, ...] = (),
        answers: tuple[int, ...] = (),
    ) -> list[OutboundEnvelope]:
        """A short transaction after a turn: `record` writes the result of slow work done
        outside any transaction and returns the replies about it, which are written like a
        turn's (no customer message, the state as it is). A conversation closed meanwhile
        gets nothing sent."""
        with self.turn_slots, self.db.begin() as conn:
            conversation = self.lock_live(conn, key)
            replies = tuple(record(conn))
            if conversation is None or not replies:
                return []
            turn = TurnRecord(
                inbox_ids=answers,  # the inbound messages the replies answer, if any
                inbound=(),
                language=conversation.language,
                intent=None,
                confidence=0.0,
                skill=skill,
                replies=replies,
                new_state=None,
                reply_extras=reply_extras,
            )
            return self.commit_turn(conn, key, conversation, turn)

    def check_write(self, conn: Connection, key: ConversationKey) -> None:
        """Raise StaleOwner when this process may no longer write the conversation (a
        worker's fence, see FencedStore); any process may, here."""

    def reword_replies(
        self,
        key: ConversationKey,
        replies: Sequence[OutboundEnvelope],
        texts: Sequence[str],
        record: Callable[[Connection], object],
    ) -> list[OutboundEnvelope]:
        """Before they are sent: one turn's committed, still pending replies say `texts`
        instead, one text per reply, or one for them all (kept on the last reply's row,
        which carries the inbox ids it answers, without choices or media; the others are
        deleted unsent). `record` writes alongside. Returns the replies to send now, []
        when they are no longer pending (not this process's to send any more)."""
        with self.turn_slots, self.db.begin() as conn:
            self.check_write(conn, key)
            self.lock_live(conn, key)
            record(conn)
            ids = [reply.outbox_id for reply in replies]
            rows = {
                row["id"]: row
                for row in conn.execute(
                    select(OUTBOX).where(
                        OUTBOX.c.id.in_(ids), OUTBOX.c.status == OutboxStatus.PENDING
                    )
                ).mappings()
            }
            if len(rows) != len(ids):
                return []
            if len(texts) == len(replies):
                kept = list(zip(replies, texts, strict=True))
                dropped: Sequence[OutboundEnvelope] = ()
            else:
                kept, dropped = [(replies[-1], "\n\n".join(texts))], replies[:-1]
            if dropped:
                gone = [rows[reply.outbox_id] for reply in dropped]
                conn.execute(delete(OUTBOX).where(OUTBOX.c.id.in_([r["id"] for r in gone])))
                conn.execute(
                    delete(MESSAGES).where(MESSAGES.c.id.in_([r["message_id"] for r in gone]))
                )
                conn.execute(
                    update(CONVERSATIONS)
                    .where(CONVERSATIONS.c.id == gone[0]["conversation_id"])
                    .values(message_count=CONVERSATIONS.c.message_count - len(gone))
                )
            reworded = []
            for reply, text in kept:
                row = rows[reply.outbox_id]
                payload = dict(row["payload"] or {})
                if dropped:  # merged: the choices and media of one reply fit no longer
                    payload = {k: v for k, v in payload.items() if k in _MERGED_KEEPS}
                payload["text"] = text
                if payload != row["payload"]:
                    conn.execute(
                        update(OUTBOX).where(OUTBOX.c.id == row["id"]).values(payload=payload)
                    )
                    conn.execute(
                        update(MESSAGES).where(MESSAGES.c.id == row["message_id"]).values(body=text)
                    )
                reworded.append(
                    envelope_from_row({**row, "payload": payload}, inbox_ids=reply.inbox_ids)
                )
            return reworded

    def lock_live(self, conn: Connection, key: ConversationKey) -> LockedConversation | None:
        """Lock the conversation row FIRST: inserting before locking deadlocks under load."""
        return self._live(conn, key, self._sql.lock_live)

    def read_live(self, conn: Connection, key: ConversationKey) -> LockedConversation | None:
        """The live conversation as it is now, without locking it (a read to act on later,
        after checking under the lock that it has not moved on)."""
        return self._live(conn, key, self._sql.read_live)

    def _live(
        self, conn: Connection, key: ConversationKey, statement: Any
    ) -> LockedConversation | None:
        row = conn.execute(
            statement, {"tenant_id": key.tenant_id, "channel": key.channel, "peer": key.peer}
        ).first()
        if row is None:
            return None
        return LockedConversation(
            row.id,
            row.contact_id,
            ConversationStatus(row.status),
            dict(row.state or {}),
            row.language,
            row.message_count,
        )

    def claim_inbox(self, conn: Connection, inbox_ids: Sequence[int]) -> list[int]:
        """Mark inbox rows processed; returns the ids this transaction claimed (dedupe)."""
        now = utcnow()
        return [
            inbox_id
            for inbox_id in inbox_ids
            if conn.execute(self._sql.claim_inbox, {"inbox_id": inbox_id, "now": now}).first()
        ]

    def commit_turn(
        self,
        conn: Connection,
        key: ConversationKey,
        conversation: LockedConversation,
        turn: TurnRecord,
    ) -> list[OutboundEnvelope]:
        """Write the inbound message, the replies, their outbox rows and the new state
        (when this process may still write the conversation: `check_write`)."""
        self.check_write(conn, key)
        rows = turn_rows(key, conversation, turn, utcnow())
        return envelopes_of(key, rows, write_rows(conn, self._sql, rows))

    # -- failed turns --------------------------------------------------------------------

    def record_turn_failure(self, inbox_ids: Sequence[int], error: str) -> int:
        """Count a failed turn on its still-pending inbox rows; returns the most attempts
        any of them has now (kept in the DB, so a restart does not reset the count)."""
        ids = list(inbox_ids)
        with self.db.begin() as conn:
            conn.execute(
                update(INBOX)
                .where(INBOX.c.id.in_(ids), INBOX.c.status == InboxStatus.PENDING)
                .values(attempts=INBOX.c.attempts + 1, last_error=clean_text(error, 500))
            )
            attempts = conn.execute(
                select(func.max(INBOX.c.attempts)).where(INBOX.c.id.in_(ids))
            ).scalar()
        return int(attempts or 0)

    def quarantine(
        self,
        key: ConversationKey,
        messages: Sequence[tuple[int, InboundMessage]],
        error: str,
        apology: Apology,
        keep_text: bool = True,
    ) -> list[OutboundEnvelope]:
        """Set messages whose turn keeps failing aside: their inbox rows become
        quarantined with the error, and the customer gets `apology` through the outbox,
        in one transaction. `keep_text=False` leaves the customer's text out of the
        transcript (for when writing it is what fails); the inbox row still has it."""
        note = clean_text(f"quarantined: {error}", 500)
        with self.db.begin() as conn:
            sender = messages[0][1].sender_name if messages else ""
            conversation = self.lock_live(conn, key) or self.open_live(conn, key, sender)
            now = utcnow()
            claimed = tuple(
                inbox_id
                for inbox_id, _ in messages
                if conn.execute(
                    update(INBOX)
                    .where(INBOX.c.id == inbox_id, INBOX.c.status == InboxStatus.PENDING)
                    .values(status=InboxStatus.QUARANTINED, processed_at=now, last_error=note)
                ).rowcount
            )
            if not claimed:
                return []
            language, reply = apology(conversation.language)
            record = TurnRecord(
                inbox_ids=claimed,
                inbound=tuple((m.text, m.received_at) for i, m in messages if i in claimed)
                if keep_text
                else (),
                language=language,
                intent=None,
                confidence=0.0,
                skill=None,
                replies=(reply,),
                new_state=None,
                error=note,
            )
            return self.commit_turn(conn, key, conversation, record)

    # -- outbox --------------------------------------------------------------------------

    def pending_outbox(self) -> list[OutboundEnvelope]:
        return [envelope for envelope, _ in self.pending_outbox_schedule()]

    def pending_outbox_schedule(self) -> list[tuple[OutboundEnvelope, datetime]]:
        """The unsent replies in id order, each with when it may be tried (its back-off)."""
        with self.db.begin() as conn:
            rows = (
                conn.execute(
                    select(OUTBOX)
                    .where(OUTBOX.c.status == OutboxStatus.PENDING)
                    .order_by(OUTBOX.c.id)
                )
                .mappings()
                .all()
            )
        return [(envelope_from_row(row), row["next_attempt_at"]) for row in rows]

    def mark_sent(self, sent: Sequence[tuple[int, str | None]]) -> set[int]:
        """Record successful sends, (outbox id, provider message id), outbox and messages
        in one transaction (PostgresConversationStore does it in one statement). Only
        rows still pending are marked; returns their ids."""
        if not sent:
            return set()
        now = utcnow()
        with self.db.begin() as conn:
            marked = [
                i
                for i, p in sent
                if conn.execute(
                    self._sql.mark_outbox_sent,
                    {"outbox_id": i, "provider_message_id": p, "now": now},
                ).rowcount
            ]
            if marked:
                conn.execute(self._sql.mark_messages_sent, {"outbox_ids": marked})
        return set(marked)

    def mark_failed_attempt(
        self, outbox_id: int, attempts: int, error: str, next_attempt_in: timedelta | None
    ) -> None:
        """A failed send: schedule the next attempt, or dead-letter it when there is none."""
        values: dict[str, Any] = {"attempts": attempts, "last_error": error[:500]}
        if next_attempt_in is None:
            values["status"] = OutboxStatus.DEAD
        else:
            values["next_attempt_at"] = utcnow() + next_attempt_in
        with self.db.begin() as conn:
            changed = conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == outbox_id, OUTBOX.c.status == OutboxStatus.PENDING)
                .values(**values)
            ).rowcount
            if next_attempt_in is None and changed:
                conn.execute(
                    update(MESSAGES)
                    .where(
                        MESSAGES.c.id
                        == select(OUTBOX.c.message_id)
                        .where(OUTBOX.c.id == outbox_id)
                        .scalar_subquery()
                    )
                    .values(status=DeliveryStatus.FAILED, error=error[:500])
                )

    def record_delivery(
        self,
        tenant_id: uuid.UUID,
        channel: str,
        provider_message_id: str,
        status: DeliveryStatus,
        error: str | None = None,
    ) -> bool:
        """A provider's status callback (delivered, read, failed) for a message we sent.
        Statuses only move forward (callbacks arrive out of order): a late `delivered`
        after `read` changes nothing. Returns whether the message changed."""
        allowed_from = _EARLIER_STATUSES.get(status)
        if not allowed_from:
            return False
        # Provider input: an id PostgreSQL cannot store cannot match one either.
        provider_message_id = clean_identifier(provider_message_id, MAX_PROVIDER_ID)
        error = None if error is None else clean_text(error, 500)
        message_id = (
            select(OUTBOX.c.message_id)
            .where(
                OUTBOX.c.tenant_id == tenant_id,
                OUTBOX.c.channel == channel,
                OUTBOX.c.provider_message_id == provider_message_id,
            )
            .limit(1)
            .scalar_subquery()
        )
        values: dict[str, Any] = {"status": status}
        if error is not None:
            values["error"] = error[:500]
        with self.db.begin() as conn:
            changed = conn.execute(
                update(MESSAGES)
                .where(
                    MESSAGES.c.tenant_id == tenant_id,
                    MESSAGES.c.id == message_id,
                    MESSAGES.c.status.in_(allowed_from),
                )
                .values(**values)
            )
        return bool(changed.rowcount)


def write_rows(conn: Connection, sql: HotPathStatements, rows: TurnRows) -> list[int]:
    """The portable executor: run one turn's rows in the caller's transaction; returns the
    outbox ids (PostgresConversationStore runs the same rows through psycopg)."""
    if rows.messages:
        conn.execute(sql.insert_messages, rows.messages)
    outbox_ids = [conn.execute(sql.insert_outbox, row).scalar_one() for row in rows.outbox]
    conn.execute(sql.update_conversation, rows.conversation)
    return outbox_ids


@functools.lru_cache(maxsize=4)
def statements_for(dialect: str) -> HotPathStatements:
    """Prebuilt statements for writers outside a store (the API's sessions)."""
    return HotPathStatements(dialect)


# What a reply's payload keeps when several replies are merged into it.
_MERGED_KEEPS = frozenset({"inbox_ids", CLIENT_ID_KEY})

# Which statuses a callback may move a message from (forward only).
_EARLIER_STATUSES: dict[DeliveryStatus, tuple[DeliveryStatus, ...]] = {
    DeliveryStatus.SENT: (DeliveryStatus.PENDING,),
    DeliveryStatus.DELIVERED: (DeliveryStatus.PENDING, DeliveryStatus.SENT),
    DeliveryStatus.READ: (DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.DELIVERED),
    DeliveryStatus.FAILED: (DeliveryStatus.PENDING, DeliveryStatus.SENT),
}


def inbound_attachments(extra: tuple[tuple[str, Any], ...]) -> list[dict[str, Any]] | None:
    """The attachments an adapter put in an inbound message's extra, if any."""
    found = dict(extra).get("attachments")
    if not isinstance(found, list | tuple) or not found:
        return None
    return [dict(item) for item in found if isinstance(item, dict)] or None


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
