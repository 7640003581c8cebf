"""PostgreSQL's hot path: the same operations as ConversationStore, in raw psycopg with
pipeline mode, inside SQLAlchemy's own connection and transaction.

Why: on a 2-core machine the GIL-bound Python CPU per turn, not PostgreSQL, caps
throughput. Pipelining sends a turn's statements in two round trips instead of seven, and
raw execution skips SQLAlchemy's per-statement processing. Everything else (activation,
recovery, failure bookkeeping) stays in the portable ConversationStore, and the whole test
suite runs against both implementations (SQLite uses the portable one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from psycopg.types.json import Json
from sqlalchemy.engine import Connection

from hablo.db.base import new_id, utcnow
from hablo.db.enums import (
    ContactKind,
    ConversationStatus,
    DeliveryStatus,
    InboxStatus,
    OutboxStatus,
    Topic,
)
from hablo.engine.messages import ConversationKey, InboundMessage, OutboundEnvelope, SubmitResult
from hablo.engine.store import ConversationStore, TurnComputer, contact_phone, identity_of
from hablo.engine.turn_rows import (
    MESSAGE_COLUMNS,
    OUTBOX_COLUMNS,
    LockedConversation,
    TurnRecord,
    envelopes_of,
    turn_rows,
)

_INSERT_INBOX = """
INSERT INTO inbox (tenant_id, channel, provider_message_id, peer, payload, status, received_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (tenant_id, channel, provider_message_id) DO NOTHING
RETURNING id
"""
_FIND_INBOX = """
SELECT id FROM inbox WHERE tenant_id = %s AND channel = %s AND provider_message_id = %s
"""
_LOCK_LIVE = """
SELECT id, contact_id, status, state, language, message_count FROM conversations
WHERE tenant_id = %s AND channel = %s AND peer = %s AND status <> 'closed'
FOR UPDATE
"""
_CLAIM = """
UPDATE inbox SET status = %s, processed_at = %s
WHERE id = ANY(%s) AND status = %s
RETURNING id
"""
# The columns and their order come from the one turn writer (turn_rows).
_INSERT_MESSAGE = (
    f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(MESSAGE_COLUMNS))})"
)
_INSERT_OUTBOX = (
    f"INSERT INTO outbox ({', '.join(OUTBOX_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(OUTBOX_COLUMNS))}) RETURNING id"
)
_JSON_COLUMNS = frozenset({"payload", "attachments", "state"})
_UPDATE_CONVERSATION = """
UPDATE conversations
SET message_count = %s, last_message_at = %s, updated_at = %s, language = %s, state = %s,
    status = %s
WHERE id = %s
"""
# A new conversation and, when the address is new, its contact: one round trip instead of
# five. Rows inserted by a CTE are invisible to the other parts of the statement, so a new
# contact starts at one conversation and only a found one is counted up.
_OPEN_LIVE = """
WITH found AS (
    SELECT contact_id FROM contact_identities
    WHERE tenant_id = %(tenant_id)s AND kind = %(kind)s AND value = %(value)s
), new_contact AS (
    INSERT INTO contacts (id, tenant_id, name, phone, email, kind, total_conversations,
                          total_spent_minor, created_at, updated_at)
    SELECT %(new_contact_id)s, %(tenant_id)s, %(name)s, %(phone)s, %(email)s, %(contact_kind)s,
           1, 0, %(now)s, %(now)s
    WHERE NOT EXISTS (SELECT 1 FROM found)
    RETURNING id
), new_identity AS (
    INSERT INTO contact_identities (id, tenant_id, contact_id, kind, value, created_at)
    SELECT %(identity_id)s, %(tenant_id)s, id, %(kind)s, %(value)s, %(now)s FROM new_contact
), counted AS (
    UPDATE contacts SET total_conversations = total_conversations + 1, updated_at = %(now)s
    WHERE id IN (SELECT contact_id FROM found)
    RETURNING id
), contact AS (
    SELECT id FROM counted UNION ALL SELECT id FROM new_contact
)
INSERT INTO conversations (id, tenant_id, contact_id, channel, peer, status, topic,
                           message_count, purchase_made, state, created_at, updated_at)
SELECT %(conversation_id)s, %(tenant_id)s, contact.id, %(channel)s, %(peer)s, %(status)s,
       %(topic)s, 0, false, %(state)s, %(now)s, %(now)s
FROM contact
RETURNING contact_id
"""
# Only rows still pending (see ConversationStore.mark_sent); returns the ids marked.
_MARK_SENT = """
WITH batch AS (
    SELECT unnest(%(ids)s::bigint[]) AS id, unnest(%(pids)s::text[]) AS pid
), sent AS (
    UPDATE outbox SET status = %(sent)s, sent_at = %(now)s, attempts = outbox.attempts + 1,
           provider_message_id = COALESCE(batch.pid, outbox.provider_message_id)
    FROM batch WHERE outbox.id = batch.id AND outbox.status = %(pending)s
    RETURNING outbox.id, outbox.message_id
), delivered AS (
    UPDATE messages SET status = %(delivered)s FROM sent WHERE messages.id = sent.message_id
)
SELECT id FROM sent
"""


def _no_guard() -> None:
    return None


def _raw(conn: Connection) -> Any:
    """The psycopg connection under SQLAlchemy's, in the same transaction."""
    return conn.connection.driver_connection


@contextmanager
def _pooled_autocommit(db: Any) -> Iterator[Any]:
    """A pooled psycopg connection where each statement commits on its own: for the hot
    path's one-statement writes (one round trip, no BEGIN/COMMIT). Cheaper than
    `Database.autocommit()`: no SQLAlchemy Connection is built and no isolation level is
    set and reset through SQLAlchemy per use (psycopg's flag is client-side only)."""
    fairy = db.engine.raw_connection()
    raw = fairy.driver_connection
    try:
        raw.autocommit = True
        yield raw
    finally:
        try:
            raw.autocommit = False  # as the pool hands it out (fails if the link broke)
        finally:
            fairy.close()


class PostgresConversationStore(ConversationStore):
    def accept(self, msg: InboundMessage) -> SubmitResult:
        payload = Json({"text": msg.text, "sender_name": msg.sender_name, **dict(msg.extra)})
        with _pooled_autocommit(self.db) as raw:
            inserted = raw.execute(
                _INSERT_INBOX,
                (
                    msg.tenant_id,
                    msg.channel,
                    msg.provider_message_id,
                    msg.peer,
                    payload,
                    InboxStatus.PENDING.value,
                    msg.received_at,
                ),
                prepare=True,
            )
            row = inserted.fetchone()
            if row is not None:
                return SubmitResult(inbox_id=row[0], duplicate=False)
            existing = raw.execute(
                _FIND_INBOX, (msg.tenant_id, msg.channel, msg.provider_message_id)
            ).fetchone()
        return SubmitResult(inbox_id=existing[0], duplicate=True)

    def process_turn(
        self,
        key: ConversationKey,
        inbox_ids: Sequence[int],
        compute: TurnComputer,
        sender_name: str = "",
    ) -> tuple[tuple[int, ...], list[OutboundEnvelope]]:
        with self.turn_slots, self.db.begin() as conn:
            raw = _raw(conn)
            with raw.pipeline():  # BEGIN + lock + claim (+ guard): one round trip
                locked = raw.execute(
                    _LOCK_LIVE, (key.tenant_id, key.channel, key.peer), prepare=True
                )
                claim = raw.execute(
                    _CLAIM,
                    (
                        InboxStatus.PROCESSED.value,
                        utcnow(),
                        list(inbox_ids),
                        InboxStatus.PENDING.value,
                    ),
                    prepare=True,
                )
                guard = self._turn_guard(raw, key)
            row = locked.fetchone()
            claimed = tuple(sorted(r[0] for r in claim.fetchall()))
            if not claimed:
                return (), []
            guard()
            if row is None:
                conversation = self.open_live(conn, key, sender_name)
            else:
                conversation = LockedConversation(
                    row[0], row[1], ConversationStatus(row[2]), dict(row[3] or {}), row[4], row[5]
                )
            record = compute(conversation, conn, claimed)
            return claimed, self._write_turn(raw, key, conversation, record)

    def _turn_guard(self, raw: Any, key: ConversationKey) -> Callable[[], None]:
        """Statements a subclass adds to a turn's first round trip (after the lock and the
        claim), and the check of their results once it is back: it raises to give the turn
        up before anything is written. None here."""
        return _no_guard

    def open_live(
        self, conn: Connection, key: ConversationKey, sender_name: str
    ) -> LockedConversation:
        """As ConversationStore.open_live, in one statement (first contacts are common)."""
        kind, value = identity_of(key.channel, key.peer)
        conversation_id, now = new_id(), utcnow()
        contact_id = (
            _raw(conn)
            .execute(
                _OPEN_LIVE,
                {
                    "tenant_id": key.tenant_id,
                    "kind": kind,
                    "value": value,
                    "new_contact_id": new_id(),
                    "identity_id": new_id(),
                    "name": sender_name,
                    "phone": contact_phone(kind, value),
                    "email": value if kind == "email" else None,
                    "contact_kind": ContactKind.PROSPECT.value,
                    "conversation_id": conversation_id,
                    "channel": key.channel,
                    "peer": key.peer,
                    "status": ConversationStatus.OPEN.value,
                    "topic": Topic.INQUIRY.value,
                    "state": Json({}),
                    "now": now,
                },
                prepare=True,
            )
            .fetchone()[0]
        )
        return LockedConversation(conversation_id, contact_id, ConversationStatus.OPEN, {}, None, 0)

    def _write_turn(
        self, raw: Any, key: ConversationKey, conversation: LockedConversation, turn: TurnRecord
    ) -> list[OutboundEnvelope]:
        rows = turn_rows(key, conversation, turn, utcnow())
        c = rows.conversation
        with raw.pipeline():  # every write of the turn: one more round trip
            if rows.messages:
                raw.cursor().executemany(
                    _INSERT_MESSAGE, [_message_params(row) for row in rows.messages]
                )
            outbox = [
                raw.execute(_INSERT_OUTBOX, _outbox_params(row), prepare=True)
                for row in rows.outbox
            ]
            raw.execute(
                _UPDATE_CONVERSATION,
                (
                    c["message_count"],
                    c["now"],
                    c["now"],
                    c["language"],
                    Json(c["state"]),
                    c["status"].value,
                    c["conversation_id"],
                ),
                prepare=True,
            )
            # COMMIT rides in the same round trip; SQLAlchemy's own commit that follows
            # finds the connection idle and sends nothing.
            raw.commit()
        return envelopes_of(key, rows, [cursor.fetchone()[0] for cursor in outbox])

    def mark_sent(self, sent: Sequence[tuple[int, str | None]]) -> set[int]:
        if not sent:
            return set()
        with _pooled_autocommit(self.db) as raw:
            marked = raw.execute(
                _MARK_SENT,
                {
                    "ids": [i for i, _ in sent],
                    "pids": [p for _, p in sent],
                    "now": utcnow(),
                    "sent": OutboxStatus.SENT.value,
                    "pending": OutboxStatus.PENDING.value,
                    "delivered": DeliveryStatus.SENT.value,
                },
                prepare=True,
            ).fetchall()
        return {row[0] for row in marked}


def _params(row: dict[str, Any], columns: tuple[str, ...]) -> tuple[Any, ...]:
    """A row of the turn writer as psycopg parameters: enums as their values, JSON wrapped."""
    return tuple(_adapt(name, row[name]) for name in columns)


def _adapt(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _JSON_COLUMNS:
        return Json(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


def _message_params(row: dict[str, Any]) -> tuple[Any, ...]:
    return _params(row, MESSAGE_COLUMNS)


def _outbox_params(row: dict[str, Any]) -> tuple[Any, ...]:
    return _params(row, OUTBOX_COLUMNS)


def make_store(db: Any) -> ConversationStore:
    return PostgresConversationStore(db) if db.dialect == "postgresql" else ConversationStore(db)
