"""PostgreSQL's hot path: the same operations as ConversationStore, in raw psycopg with
pipeline mode, inside SQLAlchemy's own connection and transaction.

Why: on a 2-core machine the GIL-bound Python CPU per turn, not PostgreSQL, caps
throughput. Pipelining sends a turn's statements in two round trips instead of seven, and
raw execution skips SQLAlchemy's per-statement processing. Everything else (activation,
recovery, failure bookkeeping) stays in the portable ConversationStore, and the whole test
suite runs against both implementations (SQLite uses the portable one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Json
from sqlalchemy.engine import Connection

from hablo.db.base import new_id, utcnow
from hablo.db.enums import (
    ConversationStatus,
    DeliveryStatus,
    InboxStatus,
    OutboxStatus,
    SenderKind,
)
from hablo.engine.messages import ConversationKey, InboundMessage, OutboundEnvelope, SubmitResult
from hablo.engine.store import (
    ConversationStore,
    LockedConversation,
    TurnComputer,
    TurnRecord,
    aligned_attachments,
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
_INSERT_MESSAGE = """
INSERT INTO messages (id, tenant_id, conversation_id, sender_kind, body, language, intent,
                      confidence, skill, tokens, status, error, created_at, attachments)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s)
"""
_INSERT_OUTBOX = """
INSERT INTO outbox (tenant_id, message_id, conversation_id, inbox_id, channel, peer, payload,
                    status, attempts, next_attempt_at, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s)
RETURNING id
"""
_UPDATE_CONVERSATION = """
UPDATE conversations
SET message_count = %s, last_message_at = %s, updated_at = %s, language = %s, state = %s,
    status = %s
WHERE id = %s
"""
_MARK_SENT = """
WITH batch AS (
    SELECT unnest(%(ids)s::bigint[]) AS id, unnest(%(pids)s::text[]) AS pid
), sent AS (
    UPDATE outbox SET status = %(sent)s, sent_at = %(now)s, attempts = outbox.attempts + 1,
           provider_message_id = COALESCE(batch.pid, outbox.provider_message_id)
    FROM batch WHERE outbox.id = batch.id
    RETURNING outbox.message_id
)
UPDATE messages SET status = %(delivered)s FROM sent WHERE messages.id = sent.message_id
"""


def _raw(conn: Connection) -> Any:
    """The psycopg connection under SQLAlchemy's, in the same transaction."""
    return conn.connection.driver_connection


class PostgresConversationStore(ConversationStore):
    def accept(self, msg: InboundMessage) -> SubmitResult:
        payload = Json({"text": msg.text, "sender_name": msg.sender_name, **dict(msg.extra)})
        with self.db.autocommit() as conn:
            raw = _raw(conn)
            row = raw.execute(
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
            ).fetchone()
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
        with self.db.begin() as conn:
            raw = _raw(conn)
            with raw.pipeline():  # BEGIN + lock + claim: one round trip
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
            row = locked.fetchone()
            claimed = tuple(sorted(r[0] for r in claim.fetchall()))
            if not claimed:
                return (), []
            if row is None:
                conversation = self.open_live(conn, key, sender_name)
            else:
                conversation = LockedConversation(
                    row[0], row[1], ConversationStatus(row[2]), dict(row[3] or {}), row[4], row[5]
                )
            record = compute(conversation, conn, claimed)
            return claimed, self._write_turn(raw, key, conversation, record)

    def _write_turn(
        self, raw: Any, key: ConversationKey, conversation: LockedConversation, turn: TurnRecord
    ) -> list[OutboundEnvelope]:
        now = utcnow()
        reply_ids = [new_id() for _ in turn.replies]
        messages: list[tuple[Any, ...]] = [
            (
                new_id(),
                key.tenant_id,
                conversation.id,
                SenderKind.CUSTOMER.value,
                text,
                turn.language,
                turn.intent,
                turn.confidence,
                turn.skill,
                DeliveryStatus.RECEIVED.value,
                turn.error,
                received_at,
                None if attachments is None else Json(attachments),
            )
            for (text, received_at), attachments in zip(
                turn.inbound,
                aligned_attachments(turn.inbound_attachments, len(turn.inbound)),
                strict=True,
            )
        ]
        messages.extend(
            (
                reply_id,
                key.tenant_id,
                conversation.id,
                SenderKind.BOT.value,
                text,
                turn.language,
                None,
                None,
                turn.skill,
                DeliveryStatus.PENDING.value,
                None,
                now,
                None,
            )
            for reply_id, text in zip(reply_ids, turn.replies, strict=True)
        )
        last = len(turn.replies) - 1
        plain_payloads = turn.reply_payloads()
        payloads = [Json(payload) for payload in plain_payloads]
        with raw.pipeline():  # every write of the turn: one more round trip
            raw.cursor().executemany(_INSERT_MESSAGE, messages)
            outbox = [
                raw.execute(
                    _INSERT_OUTBOX,
                    (
                        key.tenant_id,
                        reply_id,
                        conversation.id,
                        turn.inbox_ids[-1],
                        key.channel,
                        key.peer,
                        payload,
                        OutboxStatus.PENDING.value,
                        now,
                        now,
                    ),
                    prepare=True,
                )
                for reply_id, payload in zip(reply_ids, payloads, strict=True)
            ]
            raw.execute(
                _UPDATE_CONVERSATION,
                (
                    conversation.message_count + len(messages),
                    now,
                    now,
                    turn.language,
                    Json(conversation.state if turn.new_state is None else turn.new_state),
                    (turn.new_status or conversation.status).value,
                    conversation.id,
                ),
                prepare=True,
            )
            # COMMIT rides in the same round trip; SQLAlchemy's own commit that follows
            # finds the connection idle and sends nothing.
            raw.commit()
        return [
            OutboundEnvelope(
                outbox_id=cursor.fetchone()[0],
                tenant_id=key.tenant_id,
                channel=key.channel,
                peer=key.peer,
                text=text,
                conversation_id=conversation.id,
                inbox_ids=turn.inbox_ids if i == last else (),
                **OutboundEnvelope.extras_of(plain_payloads[i]),
            )
            for i, (cursor, text) in enumerate(zip(outbox, turn.replies, strict=True))
        ]

    def mark_sent(self, sent: Sequence[tuple[int, str | None]]) -> None:
        if not sent:
            return
        with self.db.autocommit() as conn:
            _raw(conn).execute(
                _MARK_SENT,
                {
                    "ids": [i for i, _ in sent],
                    "pids": [p for _, p in sent],
                    "now": utcnow(),
                    "sent": OutboxStatus.SENT.value,
                    "delivered": DeliveryStatus.SENT.value,
                },
                prepare=True,
            )


def make_store(db: Any) -> ConversationStore:
    return PostgresConversationStore(db) if db.dialect == "postgresql" else ConversationStore(db)
