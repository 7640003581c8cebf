"""Fencing tokens in PostgreSQL, and the store that checks them on every turn.

Taking a shard raises its fence (one row per shard, `shard_fences`). Each turn of a
fenced worker reads the shard's row FOR SHARE inside its own transaction (in the turn's
first round trip, beside the conversation's lock) and goes on only when the fence is still
the one it got. The two conflict: a new owner's raise waits for
the old owner's turns in flight and, once committed, every later turn of the old owner
fails the check and rolls back (its inbox rows stay pending for the new owner). Every other
write of a conversation through the store (a follow-up after a turn, a job's reminder or
handoff release, a quarantine) checks the fence the same way, in its own transaction.
The conversation row lock stays the last guard: two turns of one conversation never
interleave, whoever runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from hablo.db.database import Database
from hablo.engine.messages import ConversationKey, OutboundEnvelope
from hablo.engine.pg_store import PostgresConversationStore
from hablo.engine.store import StaleOwner, TurnComputer

_RAISE = """
INSERT INTO shard_fences (shard, fence, owner, updated_at) VALUES (%s, 1, %s, now())
ON CONFLICT (shard) DO UPDATE
SET fence = shard_fences.fence + 1, owner = EXCLUDED.owner, updated_at = EXCLUDED.updated_at
RETURNING fence
"""
_CHECK = "SELECT fence FROM shard_fences WHERE shard = %s FOR SHARE"


def _raw(conn: Connection) -> Any:
    """psycopg's connection under SQLAlchemy's, in the same transaction."""
    return conn.connection.driver_connection


class StaleShardOwner(StaleOwner):
    """This worker no longer holds the conversation's shard. A ConnectionError on
    purpose: the actor treats it as an outage (retries later, counts no attempt against
    the message) until the worker stops it; the new owner runs the message."""


def raise_fence(db: Database, shard: int, owner: str, lock_timeout_s: float) -> int:
    """Take the shard's next fence; waits (up to lock_timeout_s) for the previous owner's
    turns in flight to end."""
    with db.begin() as conn:
        raw = _raw(conn)
        raw.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
        row = raw.execute(_RAISE, (shard, owner[:100])).fetchone()
    return int(row[0])


class FencedStore(PostgresConversationStore):
    """The PostgreSQL store whose turns commit only under the fence this worker holds.
    `held` maps shard -> fence and is updated by the worker as it takes and gives up
    shards (single dict operations: safe to read from actor threads)."""

    def __init__(
        self, db: Database, shard_of: Callable[[ConversationKey], int], held: Mapping[int, int]
    ) -> None:
        super().__init__(db)
        self._shard_of = shard_of
        self._held = held

    def process_turn(
        self,
        key: ConversationKey,
        inbox_ids: Sequence[int],
        compute: TurnComputer,
        sender_name: str = "",
    ) -> tuple[tuple[int, ...], list[OutboundEnvelope]]:
        self._held_fence(key)  # fail before taking a connection
        return super().process_turn(key, inbox_ids, compute, sender_name)

    def _turn_guard(self, raw: Any, key: ConversationKey) -> Callable[[], None]:
        """A turn checks the fence in its first round trip, beside the conversation's
        lock and the inbox claim, and is given up before it computes or writes."""
        shard, fence = self._held_fence(key)
        found = raw.execute(_CHECK, (shard,), prepare=True)
        return lambda: _verify(shard, fence, found.fetchone())

    def check_write(self, conn: Connection, key: ConversationKey) -> None:
        """Every other write of the conversation (a follow-up, a job's reminder or
        handoff release, a quarantine) checks here: hold the shard's fence (FOR SHARE,
        until `conn` commits) if it is still ours, else raise StaleShardOwner."""
        shard, fence = self._held_fence(key)
        _verify(shard, fence, _raw(conn).execute(_CHECK, (shard,)).fetchone())

    def _held_fence(self, key: ConversationKey) -> tuple[int, int]:
        shard = self._shard_of(key)
        fence = self._held.get(shard)
        if fence is None:
            raise StaleShardOwner(f"shard {shard} is not held by this worker")
        return shard, fence


def _verify(shard: int, fence: int, row: Any) -> None:
    if row is None or row[0] != fence:
        raise StaleShardOwner(f"shard {shard} was taken over (fence {fence})")
