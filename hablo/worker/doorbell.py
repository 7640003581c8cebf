"""Doorbells: after the inbox insert, the edge appends the event to its shard's Redis
stream; the worker holding the shard reads the stream in order and hands the events to
its actors.

The event travels whole (a copy of the inbox row) so the worker needs no read to start
the turn; the inbox row stays the truth: the turn claims it, and whatever a lost or
trimmed doorbell leaves pending is found by the new owner's scan or the recovery sweep.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from hablo.engine.messages import InboundMessage, InboxEvent
from hablo.worker.shards import shard_of

log = logging.getLogger(__name__)

# Per shard; older entries were read long ago (or are recovered from the inbox).
STREAM_MAXLEN = 10_000


def bell_key(prefix: str, shard: int) -> str:
    return f"{prefix}shard:{shard}:bell"


def encode(event: InboxEvent) -> str:
    m = event.message
    return json.dumps(
        [
            event.inbox_id,
            str(m.tenant_id),
            m.channel,
            m.peer,
            m.text,
            m.provider_message_id,
            m.received_at.isoformat(),
            m.sender_name,
            [list(pair) for pair in m.extra],
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode(data: str | bytes) -> InboxEvent:
    inbox_id, tenant, channel, peer, text, provider_id, received, name, extra = json.loads(data)
    message = InboundMessage(
        tenant_id=uuid.UUID(tenant),
        channel=channel,
        peer=peer,
        text=text,
        provider_message_id=provider_id,
        received_at=datetime.fromisoformat(received),
        sender_name=name,
        extra=tuple((str(k), v) for k, v in extra),
    )
    return InboxEvent(int(inbox_id), message)


class DoorbellRing:
    """The edge's `Engine.ring`: called under the engine's per-conversation stripe lock,
    so one edge rings a conversation's events in inbox id order."""

    def __init__(self, redis: Redis, prefix: str, shards: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._shards = shards

    def __call__(self, event: InboxEvent) -> None:
        key = bell_key(self._prefix, shard_of(event.key, self._shards))
        fields: dict[Any, Any] = {"e": encode(event)}
        try:
            self._redis.xadd(key, fields, maxlen=STREAM_MAXLEN, approximate=True)
        except RedisError as exc:
            # Stored already: the owner's recovery sweep picks it up from the inbox.
            log.warning(
                "doorbell for inbox %d not rung (%s); the sweep will find it", event.inbox_id, exc
            )
