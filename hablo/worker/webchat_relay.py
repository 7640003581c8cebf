"""Web chat replies from the worker that ran the turn to the edge that holds the
visitor's socket.

The worker publishes the frame on `P webchat:frames` (Redis pub/sub) with an answer key;
every edge pushes it to its sockets for that visitor and answers how many took it
(0 when the visitor is not connected there). PUBLISH says how many edges listen, so the
worker knows how many answers to wait for: delivered by one of them -> sent; all said 0
-> "visitor not connected", retried with backoff like the in-process sender does; an edge
that does not answer in time -> retried too (the frame id lets the page drop a resend).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from hablo.adapters.base import ChannelSender, SendReceipt, TransientSendError
from hablo.adapters.webchat import CHANNEL, WebChatHub, frame_of
from hablo.engine.messages import OutboundEnvelope

log = logging.getLogger(__name__)
ANSWER_TTL_S = 30


def frames_channel(prefix: str) -> str:
    return f"{prefix}webchat:frames"


class WebChatRelaySender(ChannelSender):
    """The web chat sender of a process that may not hold the visitor's socket."""

    channel = CHANNEL

    def __init__(self, redis: Redis, prefix: str, timeout_s: float = 10.0) -> None:
        self._redis = redis
        self._prefix = prefix
        self._timeout_s = timeout_s

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        frame = frame_of(envelope)
        answer = f"{self._prefix}webchat:answer:{uuid.uuid4().hex}"
        note = {
            "tenant": str(envelope.tenant_id),
            "peer": envelope.peer,
            "frame": frame,
            "answer": answer,
        }
        try:
            edges = int(self._redis.publish(frames_channel(self._prefix), json.dumps(note)))
            if edges == 0:
                raise TransientSendError("no edge serves the web chat", retry_after=2.0)
            delivered = self._await_answers(answer, edges)
        except RedisError as exc:
            raise TransientSendError(f"redis: {exc}") from exc
        if delivered == 0:
            raise TransientSendError("visitor not connected", retry_after=2.0)
        return SendReceipt(provider_message_id=frame["id"])

    def _await_answers(self, answer: str, edges: int) -> int:
        deadline = time.monotonic() + self._timeout_s
        delivered = answered = 0
        while answered < edges and not delivered:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            got: Any = self._redis.blpop([answer], timeout=remaining)
            if got is None:
                break
            answered += 1
            delivered += int(got[1])
        self._redis.delete(answer)
        return delivered


async def relay_to_hub(redis: AsyncRedis, prefix: str, hub: WebChatHub) -> None:
    """The edge's side: push relayed frames to this process's sockets and answer.
    Runs until cancelled; reconnects after a Redis failure."""
    while True:
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(frames_channel(prefix))
                while True:  # polled with a timeout: cancelling never waits on a read
                    item = await pubsub.get_message(timeout=1.0)
                    if item is not None and item.get("type") == "message":
                        await _relay_one(redis, hub, item["data"])
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:
            log.warning("web chat relay lost Redis (%s); reconnecting", exc)
            await asyncio.sleep(1.0)


async def _relay_one(redis: AsyncRedis, hub: WebChatHub, data: bytes | str) -> None:
    try:
        note = json.loads(data)
        key = (uuid.UUID(note["tenant"]), str(note["peer"]))
        frame, answer = dict(note["frame"]), str(note["answer"])
    except (ValueError, KeyError, TypeError):
        log.error("unreadable web chat relay note skipped")
        return
    delivered = await hub.push(key, frame)
    pipe = redis.pipeline()
    pipe.rpush(answer, delivered)
    pipe.expire(answer, ANSWER_TTL_S)
    await pipe.execute()
