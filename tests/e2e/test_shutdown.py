"""SIGTERM under load (issue 17, item 5): `hablo serve` on PostgreSQL, a stream of WhatsApp
webhooks from many customers, SIGTERM in the middle of it, a restart, and the provider's
retries of what was refused meanwhile. Every message the server accepted (answered 2xx)
and every retried one gets exactly one reply at the fake Graph API: 0 lost, 0 duplicated;
/readyz said 503 while draining, and the process exited on its own within the grace
period (the watchdog's forced exit has another code). The same for a `hablo worker` of
the Redis worker tier stopped while the edge keeps accepting."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import requests
from aiohttp import web

from hablo.adapters.accounts import seal_secrets
from hablo.bootstrap import Runtime, bootstrap
from hablo.db.enums import InboxStatus, OutboxStatus
from hablo.db.models import ChannelAccount, InboxEvent, OutboxMessage
from hablo.demo import seed_demo
from hablo.engine.grace import EXIT_GRACE_EXPIRED
from hablo.worker.leases import ShardLeases
from tests.conftest import TEST_STATE_DIR, _truncate_postgres, make_settings
from tests.e2e.served_process import clean_environ, free_port, wait_until_healthy
from tests.e2e.server import wait_until
from tests.e2e.test_cli import HABLO, hablo
from tests.integration.helpers import count
from tests.integration.worker_support import REDIS_URL, prefix_fixture  # noqa: F401 (fixture)
from tests.providers.fake_whatsapp_cloud import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    FakeWhatsAppCloud,
    post_webhook,
    text_message,
)

SHARDS = 8
WAIT_S = 90.0
GRACE_S = 30.0
SENDERS = 4
BEFORE_SIGTERM = 24  # messages accepted before the signal
QUESTION = "¿cuánto sale el corte?"


class StallingGraph(FakeWhatsAppCloud):
    """While `stalled` is set, a send is held open unanswered (a provider that hangs) and
    then refused: a held send is never recorded as delivered."""

    def __init__(self) -> None:
        super().__init__()
        self.stalled = threading.Event()
        self.held = 0

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        if not self.stalled.is_set():
            return await super()._messages(request)
        self.held += 1
        while self.stalled.is_set():
            await asyncio.sleep(0.05)
        return web.json_response({"error": {"message": "held", "code": 2}}, status=503)


@pytest.fixture
def fake() -> Iterator[StallingGraph]:
    server = StallingGraph().start()
    yield server
    server.stop()


@pytest.fixture
def seeded(postgres_url: str, fake: FakeWhatsAppCloud) -> Iterator[Runtime]:
    """The demo salon with its WhatsApp number connected, its model trained and stored."""
    _truncate_postgres(postgres_url)
    settings = make_settings(
        postgres_url, channels=["console", "whatsapp_cloud"], whatsapp_cloud_api_base=fake.api_base
    )
    rt = bootstrap(settings, upgrade_schema=False)
    with rt.db.transaction() as session:
        tenant_id = seed_demo(session)
        account = ChannelAccount(
            tenant_id=tenant_id,
            channel="whatsapp_cloud",
            address=PHONE_NUMBER_ID,
            display_name="Salón (WhatsApp)",
            enabled=True,
            config={"verify_token": VERIFY_TOKEN},
            secrets={},
        )
        session.add(account)
        session.flush()
        seal_secrets(
            account, rt.accounts.box(), {"access_token": ACCESS_TOKEN, "app_secret": APP_SECRET}
        )
    rt.engine.build_runtime(tenant_id)  # trains and stores the model the server loads
    yield rt
    rt.close()


def hablo_env(rt: Runtime, fake: FakeWhatsAppCloud, **env: str) -> dict[str, str]:
    """A clean HABLO_* environment for a subprocess on the test's database and fake."""
    clean = clean_environ(
        HABLO_DATABASE_URL=rt.settings.database_url,
        HABLO_CHANNELS='["console", "whatsapp_cloud"]',
        HABLO_WHATSAPP_CLOUD_API_BASE=fake.api_base,
        HABLO_ALLOW_PRIVATE_URLS="true",
        HABLO_STATE_DIR=str(TEST_STATE_DIR),
        HABLO_NLU_TRAIN_IN_BACKGROUND="false",
        HABLO_OUTBOX_BACKOFF_BASE_S="0.05",
        HABLO_OUTBOX_BACKOFF_MAX_S="0.2",
        HABLO_SHUTDOWN_GRACE_S=str(GRACE_S),
    )
    clean.update(env)
    return clean


class HabloProcess:
    """`hablo COMMAND` in a subprocess on the test's database, its output in a log file."""

    def __init__(
        self, command: str, rt: Runtime, fake: FakeWhatsAppCloud, cwd: Path, **env: str
    ) -> None:
        self.log_path = cwd / f"{command}-{uuid.uuid4().hex[:6]}.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [*HABLO, command],
            cwd=cwd,
            env=hablo_env(rt, fake, **env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self.log.close()


class Server(HabloProcess):
    """`hablo serve`, with the grace period and announcement under test."""

    def __init__(
        self,
        rt: Runtime,
        fake: FakeWhatsAppCloud,
        cwd: Path,
        *,
        grace_s: float = GRACE_S,
        announce_s: float = 1.0,
        tier: Mapping[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            "serve",
            rt,
            fake,
            cwd,
            **(tier or {}),
            HABLO_PORT=str(self.port),
            HABLO_SHUTDOWN_GRACE_S=str(grace_s),
            HABLO_SHUTDOWN_ANNOUNCE_S=str(announce_s),
        )
        wait_until_healthy(self.base_url + "/readyz", self.proc, "hablo serve", WAIT_S)


@dataclass
class Stream:
    """Customers each sending one message; what the server answered to each."""

    base_url: str
    accepted: list[str] = field(default_factory=list)  # peers whose webhook got a 2xx
    refused: list[str] = field(default_factory=list)  # peers the provider must retry
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def send(self, peer: str) -> bool:
        try:
            response = post_webhook(self.base_url, message_of(peer))
            ok = 200 <= response.status_code < 300 and response.json()["status"] == "ok"
        except requests.RequestException:  # listener closed, connection reset: Meta retries
            ok = False
        with self.lock:
            (self.accepted if ok else self.refused).append(peer)
        return ok

    def run(self, sender: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            if not self.send(f"54911{sender:02d}{n:06d}"):
                return  # this sender's next message goes to the restarted server


def message_of(peer: str) -> dict[str, object]:
    return text_message(peer, QUESTION, f"wamid.{peer}")  # the id is the provider's dedupe key


def _all_done(rt: Runtime) -> bool:
    pending_inbox = count(rt, InboxEvent, InboxEvent.status == InboxStatus.PENDING)
    unsent = count(rt, OutboxMessage, OutboxMessage.status != OutboxStatus.SENT)
    return pending_inbox == 0 and unsent == 0


@pytest.mark.timeout(600)
def test_sigterm_mid_stream_loses_and_duplicates_nothing(
    seeded: Runtime, fake: StallingGraph, tmp_path: Path
) -> None:
    # Announced long enough for this test's probe to see it on a busy machine.
    server = Server(seeded, fake, tmp_path, announce_s=5.0)
    try:
        stream = Stream(server.base_url)
        senders = [threading.Thread(target=stream.run, args=(i,)) for i in range(SENDERS)]
        for thread in senders:
            thread.start()
        wait_until(lambda: len(stream.accepted) >= BEFORE_SIGTERM, timeout=WAIT_S, what="load")
        server.proc.send_signal(signal.SIGTERM)
        # While draining, readiness says no (a balancer stops sending), the process lives.
        draining = wait_until(
            lambda: _readyz(server.base_url) == 503, timeout=WAIT_S, interval=0.05, what="503"
        )
        assert draining
        # The grace period bounds the drain; exit 0 = drained in time (forced exit: 75).
        assert server.proc.wait(GRACE_S + WAIT_S) == 0
        stream.stop.set()
        for thread in senders:
            thread.join(WAIT_S)
        assert stream.accepted and stream.refused  # the signal came in mid-stream
    finally:
        server.stop()

    restarted = Server(seeded, fake, tmp_path)
    try:
        # The provider retries what was refused, and (it may) what was accepted already.
        for peer in stream.refused + stream.accepted[:5]:
            assert Stream(restarted.base_url).send(peer), f"retry of {peer} refused"
        peers = stream.accepted + stream.refused
        wait_until(lambda: _all_done(seeded), timeout=WAIT_S, interval=0.2, what="all replies")
        wait_until(
            lambda: all(fake.sent_to(peer) for peer in peers),
            timeout=WAIT_S,
            what="a reply to every customer",
        )
    finally:
        restarted.stop()
    replies = {peer: len(fake.sent_to(peer)) for peer in peers}
    lost = [peer for peer, n in replies.items() if n == 0]
    duplicated = [peer for peer, n in replies.items() if n > 1]
    assert (lost, duplicated) == ([], []), replies
    assert all("$8.000" in fake.sent_to(peer)[0].text for peer in peers)
    # Exactly one inbox row per message: the retries were recognised as duplicates.
    assert count(seeded, InboxEvent) == len(peers)


@pytest.mark.timeout(600)
def test_a_drain_past_the_grace_period_exits_and_leaves_the_replies_pending(
    seeded: Runtime, fake: StallingGraph, tmp_path: Path
) -> None:
    """The provider hangs, so the outbox cannot flush: the watchdog ends the process at
    the grace period; the unsent replies are in the outbox, and the restarted server sends
    each exactly once."""
    fake.stalled.set()
    server = Server(seeded, fake, tmp_path, grace_s=4.0, announce_s=0.5)
    peers = [f"5491177{n:06d}" for n in range(6)]
    try:
        stream = Stream(server.base_url)
        for peer in peers:
            assert stream.send(peer)
        wait_until(lambda: fake.held >= 1, timeout=WAIT_S, what="a send to hang")
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(WAIT_S) == EXIT_GRACE_EXPIRED
    finally:
        server.stop()
    assert "after the 4 s grace period" in server.log_path.read_text()
    assert count(seeded, OutboxMessage, OutboxMessage.status == OutboxStatus.SENT) == 0
    assert not fake.sent

    fake.stalled.clear()
    restarted = Server(seeded, fake, tmp_path)
    try:
        wait_until(lambda: _all_done(seeded), timeout=WAIT_S, interval=0.2, what="all replies")
    finally:
        restarted.stop()
    assert {peer: len(fake.sent_to(peer)) for peer in peers} == dict.fromkeys(peers, 1)


class Worker(HabloProcess):
    """`hablo worker`; ready once the tier's shards all have a holder."""

    def __init__(self, rt: Runtime, fake: FakeWhatsAppCloud, cwd: Path, **env: str) -> None:
        super().__init__("worker", rt, fake, cwd, **env)
        client = redis.Redis.from_url(REDIS_URL)
        leases = ShardLeases(client, env["HABLO_REDIS_PREFIX"], "test", SHARDS, 1.0)
        try:
            wait_until(self._running, timeout=WAIT_S, interval=0.2, what="hablo worker")
            wait_until(
                lambda: all(leases.holders().values()), timeout=WAIT_S, what="the shards' holders"
            )
        finally:
            client.close()

    def _running(self) -> bool:
        assert self.proc.poll() is None, f"hablo worker exited with {self.proc.returncode}"
        return "running" in self.log_path.read_text()


@pytest.mark.timeout(600)
def test_sigterm_to_a_worker_mid_stream_loses_and_duplicates_nothing(
    seeded: Runtime, fake: StallingGraph, tmp_path: Path, prefix: str
) -> None:
    tier = {
        "HABLO_ROUTER": "redis",
        "HABLO_REDIS_URL": REDIS_URL,
        "HABLO_REDIS_PREFIX": prefix,
        "HABLO_SHARDS": str(SHARDS),
    }
    processes: list[HabloProcess] = [Worker(seeded, fake, tmp_path, **tier)]
    try:
        edge = Server(seeded, fake, tmp_path, tier={**tier, "HABLO_SERVE_WORKER": "false"})
        processes.append(edge)
        stream = Stream(edge.base_url)
        senders = [threading.Thread(target=stream.run, args=(i,)) for i in range(SENDERS)]
        for thread in senders:
            thread.start()
        wait_until(lambda: len(stream.accepted) >= BEFORE_SIGTERM, timeout=WAIT_S, what="load")
        processes[0].proc.send_signal(signal.SIGTERM)
        # Its shards are given back after their queued turns, within the grace period.
        assert processes[0].proc.wait(GRACE_S + WAIT_S) == 0
        # Meanwhile the edge goes on accepting; the worker that takes over answers them.
        more = len(stream.accepted) + BEFORE_SIGTERM
        processes.append(Worker(seeded, fake, tmp_path, **tier))
        wait_until(lambda: len(stream.accepted) >= more, timeout=WAIT_S, what="more load")
        stream.stop.set()
        for thread in senders:
            thread.join(WAIT_S)
        assert not stream.refused
        wait_until(lambda: _all_done(seeded), timeout=WAIT_S, interval=0.2, what="all replies")
    finally:
        for process in processes:
            process.stop()
    replies = {peer: len(fake.sent_to(peer)) for peer in stream.accepted}
    assert replies == dict.fromkeys(stream.accepted, 1), {
        peer: n for peer, n in replies.items() if n != 1
    }


def _readyz(base_url: str) -> int:
    try:
        return requests.get(base_url + "/readyz", timeout=5).status_code
    except requests.ConnectionError:
        return 0


def test_serve_on_a_taken_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = hablo("serve", cwd=tmp_path, env={"HABLO_PORT": str(port)})
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]  # after the log lines of the start-up
    assert last.startswith(f"hablo: cannot listen on 127.0.0.1:{port}: "), result.stderr
    assert "Traceback" not in result.stderr
