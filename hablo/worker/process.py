"""A worker process: `hablo worker` (and the bench's worker nodes) run this."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable

from hablo.adapters.base import ChannelSender
from hablo.bootstrap import Runtime
from hablo.engine.grace import GraceWatchdog
from hablo.engine.heap import settle_heap
from hablo.engine.outbox import TurnListener
from hablo.worker.tier import check_tier_settings, new_shard_worker, sync_redis, worker_senders

log = logging.getLogger(__name__)


def run_worker(
    runtime: Runtime,
    *,
    senders: Iterable[ChannelSender] | None = None,
    listeners: Iterable[TurnListener] = (),
    ready: Callable[[str], None] = lambda worker_id: None,
) -> None:
    """Run until SIGTERM or SIGINT, then give the shards back after their queued work,
    within settings.shutdown_grace_s (then the watchdog exits: the work left is pending for
    the shards' next owners). `senders` replaces the configured channels' senders (the
    bench's collecting one)."""
    redis = sync_redis(check_tier_settings(runtime.settings))
    engine = runtime.engine
    for sender in worker_senders(runtime, redis) if senders is None else senders:
        engine.add_sender(sender)
    for listener in listeners:
        engine.add_turn_listener(listener)
    worker = new_shard_worker(runtime, redis)
    worker.install()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    settle_heap()
    engine.start()
    worker.start()
    log.info("worker %s running", worker.worker_id)
    ready(worker.worker_id)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        watchdog = GraceWatchdog(runtime.settings.shutdown_grace_s, "hablo worker").start()
        worker.stop()
        runtime.close()
        redis.close()
        watchdog.cancel()
