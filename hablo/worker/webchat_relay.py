"""Web chat replies from the worker that ran the turn to the edge that holds the
visitor's socket.

The worker never waits for an edge (it would hold the outbox thread and every reply
behind it): in one Redis round trip it keeps the frame in the visitor's backlog
(`P webchat:held:<tenant>:<visitor>`, the last HELD_MAX frames for HELD_TTL_S) and
publishes it on `P webchat:frames`. Every edge pushes a published frame to its sockets
for that visitor and, when one took it, removes it from the backlog. A visitor who was
not connected anywhere gets the backlog when their page connects again (to any edge);
the page drops a frame it has shown already by its id. So a reply is "sent" once Redis
has it; a Redis failure is retried by the outbox like any provider outage.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from hablo.adapters.base import ChannelSender, SendReceipt, TransientSendError
from hablo.adapters.webchat import CHANNEL, PeerKey, WebChatHub, frame_of
from hablo.engine.messages import OutboundEnvelope

log = logging.getLogger(__name__)
# A visitor away longer than a day starts a new chat anyway; 50 replies are more than
# any one absence collects.
HELD_TTL_S = 24 * 3600
HELD_MAX = 50


def frames_channel(prefix: str) -> str:
    return f"{prefix}webchat:frames"


def held_key(prefix: str, tenant_id: uuid.UUID | str, visitor: str) -> str:
    return f"{prefix}webchat:held:{tenant_id}:{visitor}"


class WebChatRelaySender(ChannelSender):
    """The web chat sender of a process that may not hold the visitor's socket."""

    channel = CHANNEL

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        frame = frame_of(envelope)
        raw = json.dumps(frame, ensure_ascii=False)
        held = held_key(self._prefix, envelope.tenant_id, envelope.peer)
        note = {"tenant": str(envelope.tenant_id), "peer": envelope.peer, "frame": raw}
        pipe = self._redis.pipeline(transaction=False)
        pipe.rpush(held, raw)
        pipe.ltrim(held, -HELD_MAX, -1)
        pipe.expire(held, HELD_TTL_S)
        pipe.publish(frames_channel(self._prefix), json.dumps(note, ensure_ascii=False))
        try:
            pipe.execute()
        except RedisError as exc:
            raise TransientSendError(f"redis: {exc}") from exc
        return SendReceipt(provider_message_id=frame["id"])


class HeldReplies:
    """The edge's side of the backlog (WebChatHub.backlog): a connecting visitor's kept
    replies, taken atomically so two edges never both push them."""

    def __init__(self, redis: AsyncRedis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def __call__(self, key: PeerKey) -> list[dict[str, Any]]:
        held = held_key(self._prefix, key[0], key[1])
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.lrange(held, 0, -1)
            pipe.delete(held)
            raws, _ = await pipe.execute()
        except RedisError as exc:
            log.warning("web chat backlog not read (%s); the visitor sees new replies only", exc)
            return []
        frames = []
        for raw in raws:
            try:
                frames.append(dict(json.loads(raw)))
            except (ValueError, TypeError):
                log.error("unreadable kept web chat frame skipped")
        return frames


async def relay_to_hub(redis: AsyncRedis, prefix: str, hub: WebChatHub) -> None:
    """The edge's side: push relayed frames to this process's sockets, and drop a frame
    one of them took from the visitor's backlog. Runs until cancelled; reconnects after
    a Redis failure."""
    while True:
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(frames_channel(prefix))
                while True:  # polled with a timeout: cancelling never waits on a read
                    item = await pubsub.get_message(timeout=1.0)
                    if item is not None and item.get("type") == "message":
                        await _relay_one(redis, prefix, hub, item["data"])
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:
            log.warning("web chat relay lost Redis (%s); reconnecting", exc)
            await asyncio.sleep(1.0)


async def _relay_one(redis: AsyncRedis, prefix: str, hub: WebChatHub, data: bytes | str) -> None:
    try:
        note = json.loads(data)
        key = (uuid.UUID(note["tenant"]), str(note["peer"]))
        raw = str(note["frame"])
        frame = dict(json.loads(raw))
    except (ValueError, KeyError, TypeError):
        log.error("unreadable web chat relay note skipped")
        return
    if await hub.push(key, frame):
        await redis.lrem(held_key(prefix, key[0], key[1]), 1, raw)
