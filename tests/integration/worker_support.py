"""What the worker tier tests share: a Redis namespace per test, a PostgreSQL runtime set
up for router = "redis", in-test workers, and a cluster of worker processes with a
burst driver that records the order replies came in."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import redis

from hablo.bootstrap import Runtime, bootstrap
from hablo.db.base import utcnow
from hablo.demo import seed_salon
from hablo.engine.runtime import Engine
from hablo.engine.store import LockedConversation, TurnRecord
from hablo.worker.bench_cluster import WorkerCluster
from hablo.worker.bench_node import CHANNEL as BENCH
from hablo.worker.worker import ShardWorker
from tests.conftest import _truncate_postgres, make_settings
from tests.integration.helpers import inbound

REDIS_URL = "redis://127.0.0.1:6379/0"
SHARDS = 16
WAIT_S = 60.0


# Fixtures registered under their short names; a test module imports the functions.
@pytest.fixture(name="prefix")
def prefix_fixture() -> Iterator[str]:
    """A Redis namespace of this test only, removed afterwards."""
    name = f"hablo-test-{uuid.uuid4().hex[:10]}:"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{name}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(name="pg_runtime")
def pg_runtime_fixture(postgres_url: str, prefix: str) -> Iterator[Runtime]:
    _truncate_postgres(postgres_url)
    settings = make_settings(
        postgres_url,
        router="redis",
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        shards=SHARDS,
        shard_lease_s=2.0,
    )
    rt = bootstrap(settings, upgrade_schema=False)
    yield rt
    rt.close()


def hello_turn(
    conversation: LockedConversation, conn: object, claimed: tuple[int, ...]
) -> TurnRecord:
    """A turn computer: "hola" answered "hola!" (for driving a store directly)."""
    return TurnRecord(
        inbox_ids=claimed,
        inbound=(("hola", utcnow()),),
        language="es",
        intent=None,
        confidence=0.0,
        skill=None,
        replies=("hola!",),
        new_state=None,
    )


def in_test_worker(rt: Runtime, name: str, engine: Engine | None = None) -> ShardWorker:
    """A worker in this process on its own engine (or `engine`), outbox running."""
    engine = engine or Engine(rt.settings, rt.db, rt.registry)
    worker = ShardWorker(
        engine,
        redis.Redis.from_url(REDIS_URL),
        prefix=rt.settings.redis_prefix,
        shards=SHARDS,
        lease_s=rt.settings.shard_lease_s,
        worker_id=name,
    )
    worker.install()
    engine.dispatcher.start()  # giving shards up cleanly waits for the outbox
    return worker


@dataclass
class Bursts:
    """Customers of one tenant writing several messages without waiting, on the bench
    channel of a cluster of worker processes; `answered` is the order turns came back."""

    cluster: WorkerCluster
    submit: Callable[[str, str], int]
    peers: list[str]
    sent: dict[str, list[int]] = field(default_factory=dict)
    answered: list[int] = field(default_factory=list)
    done: threading.Condition = field(default_factory=threading.Condition)

    def on_turn(self, inbox_ids: tuple[int, ...]) -> None:
        with self.done:
            self.answered.extend(inbox_ids)
            self.done.notify_all()

    def burst(self, texts: tuple[str, ...]) -> None:
        for peer in self.peers:
            for text in texts:
                self.sent.setdefault(peer, []).append(self.submit(peer, text))

    def wait_answered(self, count: int | None = None) -> None:
        total = sum(len(ids) for ids in self.sent.values()) if count is None else count
        with self.done:
            assert self.done.wait_for(lambda: len(self.answered) >= total, WAIT_S), (
                f"{total - len(self.answered)} of {total} never answered"
            )

    def assert_in_order(self) -> None:
        position = {inbox_id: n for n, inbox_id in enumerate(self.answered)}
        for peer, ids in self.sent.items():
            assert sorted(ids, key=position.__getitem__) == ids, f"{peer} answered out of order"


def start_bursts(rt: Runtime, slug: str, workers: int, peer_prefix: str) -> Bursts:
    """A salon, its model trained before the workers load it, and `workers` worker
    processes (64 shards, 3 s leases) answering on the bench channel."""
    settings = rt.settings.model_copy(update={"shards": 64, "shard_lease_s": 3.0})
    engine = rt.engine
    with rt.db.transaction() as session:
        tenant_id = seed_salon(session, slug, f"Salón {slug}")
    engine.build_runtime(tenant_id)

    def submit(peer: str, text: str) -> int:
        return engine.submit(inbound(tenant_id, text, peer=peer, channel=BENCH)).inbox_id

    cluster = WorkerCluster(settings, engine, workers)
    bursts = Bursts(cluster, submit, [f"{peer_prefix}{n:05d}" for n in range(40)])
    cluster.add_turn_listener(bursts.on_turn)
    return bursts
