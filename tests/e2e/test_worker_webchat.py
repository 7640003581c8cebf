"""The worker tier end to end: `hablo serve` as a pure edge (router = "redis", no worker
in process) and a real `hablo worker` process; a visitor's web chat message is accepted
by the edge, its turn runs in the worker, and the reply comes back to the visitor's
socket on the edge through the Redis relay."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import redis
import requests
from sqlalchemy import select

from hablo.bootstrap import Runtime, bootstrap
from hablo.db.enums import OutboxStatus
from hablo.db.models import OutboxMessage, Tenant
from hablo.demo import seed_demo
from hablo.engine.messages import OutboundEnvelope
from hablo.worker.leases import ShardLeases
from hablo.worker.webchat_relay import WebChatRelaySender, frames_channel, held_key
from tests.conftest import TEST_STATE_DIR, _truncate_postgres, make_settings
from tests.e2e.server import serve, wait_until
from tests.e2e.test_cli import HABLO, hablo
from tests.e2e.test_webchat import say, ws_url

REDIS_URL = "redis://127.0.0.1:6379/0"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


WAIT_S = 60.0


@pytest.fixture
def edge(postgres_url: str) -> Iterator[Runtime]:
    _truncate_postgres(postgres_url)
    prefix = f"hablo-test-{uuid.uuid4().hex[:10]}:"
    settings = make_settings(
        postgres_url, router="redis", serve_worker=False, redis_url=REDIS_URL, redis_prefix=prefix
    )
    rt = bootstrap(settings, upgrade_schema=False)
    with rt.db.transaction() as session:
        tenant_id = seed_demo(session)
    rt.engine.build_runtime(tenant_id)  # trains and stores the model the worker loads
    yield rt
    rt.close()
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def _start_worker(rt: Runtime, cwd: Path, metrics_port: int | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("HABLO_")}
    if metrics_port is not None:
        env["HABLO_WORKER_METRICS_PORT"] = str(metrics_port)
    env.update(
        HABLO_DATABASE_URL=rt.settings.database_url,
        HABLO_ROUTER="redis",
        HABLO_REDIS_URL=REDIS_URL,
        HABLO_REDIS_PREFIX=rt.settings.redis_prefix,
        HABLO_STATE_DIR=str(TEST_STATE_DIR),
        HABLO_NLU_TRAIN_IN_BACKGROUND="false",
    )
    proc = subprocess.Popen([*HABLO, "worker"], cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "worker ... running" once it started
    assert "running" in line, f"worker did not start: {line!r}"
    client = redis.Redis.from_url(REDIS_URL)
    leases = ShardLeases(client, rt.settings.redis_prefix, "test", rt.settings.shards, 1.0)
    wait_until(lambda: all(leases.holders().values()), timeout=WAIT_S, what="the worker's shards")
    client.close()
    return proc


def test_web_chat_reply_comes_back_from_a_worker_process(edge: Runtime, tmp_path: Path) -> None:
    metrics_port = _free_port()
    worker = _start_worker(edge, tmp_path, metrics_port)

    def all_sent() -> bool:
        with edge.db.transaction() as session:
            statuses = session.scalars(select(OutboxMessage.status)).all()
        return bool(statuses) and all(s == OutboxStatus.SENT for s in statuses)

    async def chat(url: str) -> str:
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            _, reply = await asyncio.wait_for(say(ws, "¿cuánto sale el corte?"), WAIT_S)
            # Connected until the row is marked sent (just after the frame went out; a
            # resend carries the same frame id, which the page drops).
            deadline = asyncio.get_running_loop().time() + WAIT_S
            while not await asyncio.to_thread(all_sent):
                assert asyncio.get_running_loop().time() < deadline, "reply never marked sent"
                await asyncio.sleep(0.1)
            await ws.close()
        return str(reply["text"])

    try:
        with serve(edge) as server:
            price = asyncio.run(chat(ws_url(server)))
        assert "$8.000" in price
        # The edge ran no turn: it has no actors; the worker did, and sent by relay.
        assert edge.engine.budget.peak == 0
        # The worker serves its own figures: the reply it sent by relay is counted there.
        figures = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=30).text
        sent = 'hablo_outbound_messages_total{channel="webchat",outcome="sent"} '
        (line,) = [x for x in figures.splitlines() if x.startswith(sent)]
        assert float(line.split()[-1]) >= 1
    finally:
        worker.terminate()
        assert worker.wait(WAIT_S) == 0


def test_serve_with_its_own_worker_is_one_command(postgres_url: str) -> None:
    """router = "redis" with the default serve_worker: the edge holds the shards itself."""
    _truncate_postgres(postgres_url)
    prefix = f"hablo-test-{uuid.uuid4().hex[:10]}:"
    settings = make_settings(
        postgres_url, router="redis", redis_url=REDIS_URL, redis_prefix=prefix, shards=8
    )
    rt = bootstrap(settings, upgrade_schema=False)
    try:
        with rt.db.transaction() as session:
            seed_demo(session)

        async def chat(url: str) -> str:
            async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
                _, reply = await asyncio.wait_for(say(ws, "hola"), WAIT_S)
                await ws.close()
            return str(reply["text"])

        with serve(rt) as server:
            greeting = asyncio.run(chat(ws_url(server)))
        assert "Peluquería Sol" in greeting
        assert rt.engine.budget.peak >= 1  # the turn ran in this process
    finally:
        rt.close()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("worker",), {}, "a worker needs router = 'redis'"),
        (("worker",), {"HABLO_ROUTER": "redis"}, "needs redis_url"),
        (
            ("worker",),
            {"HABLO_ROUTER": "redis", "HABLO_REDIS_URL": REDIS_URL},
            "needs PostgreSQL",
        ),
        (("bench", "--workers", "2"), {}, "needs redis_url"),
        (("bench", "--workers", "1", "--kill-one"), {}, "--kill-one needs --workers 2"),
    ],
)
def test_worker_tier_misconfiguration_is_one_line(
    args: tuple[str, ...], env: dict[str, str], message: str, tmp_path: Path
) -> None:
    result = hablo(*args, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def _demo_id(rt: Runtime) -> uuid.UUID:
    with rt.db.transaction() as session:
        return session.scalars(select(Tenant.id).where(Tenant.slug == "demo")).one()


async def _next_message(ws: aiohttp.ClientWebSocketResponse) -> dict[str, object]:
    while True:
        frame = await asyncio.wait_for(ws.receive_json(), WAIT_S)
        if frame.get("type") == "message":
            return dict(frame)


def test_the_relay_hands_a_reply_over_without_waiting_for_any_edge(edge: Runtime) -> None:
    """A worker's web chat send is one Redis round trip: with no edge listening (or an
    edge that never answers) it is still handed over, kept for the visitor, and pushed
    to their page when it connects; a reply taken live is not pushed again."""
    client = redis.Redis.from_url(REDIS_URL)
    relay = WebChatRelaySender(client, edge.settings.redis_prefix)
    visitor, tenant_id = "visitor-away-123", _demo_id(edge)

    def reply(outbox_id: int, text: str) -> OutboundEnvelope:
        return OutboundEnvelope(outbox_id, tenant_id, "webchat", visitor, text, None)

    silent = client.pubsub()  # an "edge" that listens and never answers
    silent.subscribe(frames_channel(edge.settings.redis_prefix))
    try:
        receipt = relay.send(reply(901, "¿Seguís ahí?"))
        assert receipt.provider_message_id == "out-901"

        async def visit(url: str) -> tuple[dict[str, object], dict[str, object]]:
            async with aiohttp.ClientSession() as http:
                async with http.ws_connect(url) as ws:
                    kept = await _next_message(ws)  # sent while the visitor was away
                    await asyncio.to_thread(relay.send, reply(902, "Te espero"))
                    live = await _next_message(ws)
                held = held_key(edge.settings.redis_prefix, tenant_id, visitor)
                await asyncio.to_thread(
                    wait_until, lambda: not client.exists(held), WAIT_S, 0.05, "live one dropped"
                )
                async with http.ws_connect(url) as ws:  # back again: nothing old is pushed
                    await asyncio.to_thread(relay.send, reply(903, "¡Hola!"))
                    again = await _next_message(ws)
                    assert again["id"] == "out-903", again
            return kept, live

        with serve(edge) as server:
            kept, live = asyncio.run(visit(ws_url(server, visitor=visitor)))
        assert (kept["id"], kept["text"]) == ("out-901", "¿Seguís ahí?")
        assert (live["id"], live["text"]) == ("out-902", "Te espero")
    finally:
        silent.close()
        client.close()
