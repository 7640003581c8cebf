"""A worker process for `hablo bench --workers N` (and the worker-tier tests): a real
worker whose only channel is the bench's, with replies reported to the bench through a
Redis list. Run as `python -m hablo.worker.bench_node REPLIES_KEY` with HABLO_* settings.

Each reply sent is one JSON array [outbox_id, peer, [inbox ids it answers]] (the ids ride
on a turn's last reply): the same outbox id twice is a resend, an inbox id answered by two
outbox rows a duplicated turn.
"""

from __future__ import annotations

import json
import sys

from redis import Redis

from hablo.adapters.base import ChannelSender, SendReceipt
from hablo.bootstrap import bootstrap
from hablo.config import load_settings
from hablo.engine.messages import OutboundEnvelope
from hablo.observability import configure_logging
from hablo.worker.process import run_worker

CHANNEL = "bench"


class RedisReplySink(ChannelSender):
    """The bench's "provider": each send is one RPUSH, done before send returns, so what
    the bench sees is what was delivered (a worker killed mid-send loses nothing here)."""

    channel = CHANNEL

    def __init__(self, redis: Redis, key: str) -> None:
        self._redis = redis
        self._key = key

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        self._redis.rpush(
            self._key, json.dumps([envelope.outbox_id, envelope.peer, list(envelope.inbox_ids)])
        )
        return SendReceipt(provider_message_id=None)


def main(argv: list[str]) -> int:
    settings = load_settings()
    configure_logging(settings)
    runtime = bootstrap(settings, upgrade_schema=False)
    redis = Redis.from_url(settings.redis_url or "")
    run_worker(
        runtime,
        senders=[RedisReplySink(redis, argv[0])],
        ready=lambda worker_id: print(f"ready {worker_id}", flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
