"""Wiring of the worker tier onto a runtime: the edge's side (`hablo serve` with
router = "redis") and a worker process's (`hablo worker`)."""

from __future__ import annotations

import asyncio
import logging

from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from hablo.adapters.base import ChannelSender
from hablo.adapters.twilio import CHANNELS as TWILIO_CHANNELS
from hablo.adapters.twilio import TwilioSender
from hablo.adapters.webchat import WebChatHub
from hablo.adapters.whatsapp_cloud import WhatsAppCloudSender, last_customer_message
from hablo.bootstrap import Runtime
from hablo.config import Settings
from hablo.worker.doorbell import DoorbellRing
from hablo.worker.webchat_relay import HeldReplies, WebChatRelaySender, relay_to_hub
from hablo.worker.worker import ShardWorker

log = logging.getLogger(__name__)

# Channels whose sending needs state that lives in one process (a linked browser, the
# SMTP receiver's mailboxes): they run with router = "inprocess" only.
SINGLE_PROCESS_CHANNELS = frozenset({"whatsapp_web", "email"})


class TierConfigError(ValueError):
    """The settings cannot run the worker tier (one line, names the setting)."""


def check_tier_settings(settings: Settings) -> str:
    """The Redis URL of a valid worker-tier configuration."""
    if not settings.redis_url:
        raise TierConfigError("router = 'redis' needs redis_url (HABLO_REDIS_URL)")
    if settings.dialect != "postgresql":
        raise TierConfigError(
            "router = 'redis' needs PostgreSQL (database_url); SQLite is one process"
        )
    single = sorted(SINGLE_PROCESS_CHANNELS & set(settings.channels))
    if single:
        raise TierConfigError(
            f"channels {', '.join(single)} run in one process only: use router = 'inprocess'"
        )
    return settings.redis_url


def sync_redis(url: str) -> Redis:
    return Redis.from_url(
        url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30
    )


def new_shard_worker(runtime: Runtime, redis: Redis) -> ShardWorker:
    settings = runtime.settings
    return ShardWorker(
        runtime.engine,
        redis,
        prefix=settings.redis_prefix,
        shards=settings.shards,
        lease_s=settings.shard_lease_s,
    )


def worker_senders(runtime: Runtime, redis: Redis) -> list[ChannelSender]:
    """A worker's senders: providers reached over HTTP, and the web chat by relay."""
    settings = runtime.settings
    senders: list[ChannelSender] = []
    if "webchat" in settings.channels:
        senders.append(WebChatRelaySender(redis, settings.redis_prefix))
    if "whatsapp_cloud" in settings.channels:
        senders.append(
            WhatsAppCloudSender(
                runtime.accounts,
                last_customer_message(runtime.engine),
                api_base=settings.whatsapp_cloud_api_base,
                allow_private_urls=settings.allow_private_urls,
            )
        )
    for channel in (c for c in settings.channels if c in TWILIO_CHANNELS):
        senders.append(
            TwilioSender(
                channel,
                runtime.accounts,
                settings.public_url,
                api_base=settings.twilio_api_base,
                allow_private_urls=settings.allow_private_urls,
            )
        )
    return senders


class EdgeTier:
    """What `hablo serve` adds with router = "redis": accepted events ring their shard's
    doorbell, web chat replies come back by relay, and (serve_worker) a worker runs here
    too, as one of the tier."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._url = check_tier_settings(runtime.settings)
        self.redis = sync_redis(self._url)
        self.worker: ShardWorker | None = None
        self._relay: asyncio.Task[None] | None = None
        self._async_redis: AsyncRedis | None = None

    def webchat_sender(self) -> ChannelSender:
        return WebChatRelaySender(self.redis, self.runtime.settings.redis_prefix)

    def before_engine_start(self) -> None:
        settings, engine = self.runtime.settings, self.runtime.engine
        engine.ring = DoorbellRing(self.redis, settings.redis_prefix, settings.shards)
        if settings.serve_worker:
            self.worker = new_shard_worker(self.runtime, self.redis)
            self.worker.install()
        else:  # a pure edge runs no turns, recovers nothing, runs no jobs
            engine.scope = lambda key: False
            engine.runs_jobs = lambda: False

    def after_engine_start(self) -> None:
        if self.worker is not None:
            self.worker.start()

    def start_relay(self, hub: WebChatHub) -> None:
        """On the event loop: relayed web chat frames go to this edge's sockets, and a
        visitor who connects gets the replies kept while they were away."""
        self._async_redis = AsyncRedis.from_url(self._url)
        hub.backlog = HeldReplies(self._async_redis, self.runtime.settings.redis_prefix)
        self._relay = asyncio.get_running_loop().create_task(
            relay_to_hub(self._async_redis, self.runtime.settings.redis_prefix, hub)
        )

    async def stop_relay(self) -> None:
        if self._relay is not None:
            self._relay.cancel()
            await asyncio.wait([self._relay], timeout=5.0)
        if self._async_redis is not None:
            await self._async_redis.aclose()

    def before_engine_stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def close(self) -> None:
        self.redis.close()
