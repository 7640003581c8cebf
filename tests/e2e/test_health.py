"""/healthz (alive, no I/O) and /readyz (database, schema, and with the worker tier Redis
and live workers), answered by the real app over real sockets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
import requests
from sqlalchemy import text

from hablo.bootstrap import Runtime, bootstrap
from hablo.db.migrate import head_from_files
from hablo.worker.leases import ShardLeases
from tests.conftest import _truncate_postgres, make_settings
from tests.e2e.server import serve

REDIS_URL = "redis://127.0.0.1:6379/0"


def _set_revision(runtime: Runtime, revision: str) -> None:
    with runtime.db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_ready_until_the_schema_is_behind_the_code(runtime: Runtime) -> None:
    head = head_from_files()
    assert head is not None
    with serve(runtime) as server:
        alive = requests.get(server.url("/healthz"), timeout=30)
        assert alive.status_code == 200 and alive.json()["status"] == "ok"
        ready = requests.get(server.url("/readyz"), timeout=30)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}
        _set_revision(runtime, "0001")  # as if the code was deployed before `hablo db upgrade`
        try:
            behind = requests.get(server.url("/readyz"), timeout=30)
            # Alive all the same: a restart would not help, the upgrade would.
            assert requests.get(server.url("/healthz"), timeout=30).status_code == 200
        finally:
            _set_revision(runtime, head)
    assert behind.status_code == 503
    body = behind.json()
    assert body["status"] == "not_ready" and body["failing"] == ["migrations"]
    assert body["checks"]["migrations"] == f"at 0001, code needs {head}"


@pytest.fixture
def pure_edge(postgres_url: str) -> Iterator[Runtime]:
    _truncate_postgres(postgres_url)
    prefix = f"hablo-test-{uuid.uuid4().hex[:10]}:"
    settings = make_settings(
        postgres_url, router="redis", serve_worker=False, redis_url=REDIS_URL, redis_prefix=prefix
    )
    rt = bootstrap(settings, upgrade_schema=False)
    yield rt
    rt.close()
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_an_edge_is_ready_only_while_a_worker_is_alive(pure_edge: Runtime) -> None:
    settings = pure_edge.settings
    client = redis.Redis.from_url(REDIS_URL)
    worker = ShardLeases(client, settings.redis_prefix, "w-test", settings.shards, lease_s=60)
    try:
        with serve(pure_edge) as server:
            lonely = requests.get(server.url("/readyz"), timeout=30)
            worker.heartbeat()
            staffed = requests.get(server.url("/readyz"), timeout=30)
            worker.leave()
            left = requests.get(server.url("/readyz"), timeout=30)
    finally:
        client.close()
    assert lonely.status_code == 503 and lonely.json()["failing"] == ["workers"]
    assert lonely.json()["checks"]["redis"] == "ok"
    assert staffed.status_code == 200, staffed.text
    assert staffed.json()["checks"]["live_workers"] == 1
    assert left.status_code == 503
