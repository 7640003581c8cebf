"""`hablo chat` on the database a server is using: it runs and sends only its own
conversation's work. It once ran the server's outbox recovery and dead-lettered its web
chat replies ("no sender for channel 'webchat'")."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import select

from hablo.bootstrap import bootstrap
from hablo.db.enums import InboxStatus, OutboxStatus
from hablo.db.models import InboxEvent, OutboxMessage, Tenant
from hablo.demo import seed_demo
from tests.conftest import TEST_STATE_DIR, make_settings
from tests.e2e.test_cli import hablo
from tests.fakes import CollectingSender, transient
from tests.integration.helpers import DeliveredTurns, inbound

WAIT_S = 60.0


def _wait(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_cli_chat_leaves_the_servers_webchat_work_alone(db_url: str, tmp_path: Path) -> None:
    # The "server": web chat sender whose visitor is offline (replies stay pending and
    # are retried), and one accepted web chat message it has not routed yet.
    settings = make_settings(db_url, outbox_max_attempts=100, outbox_backoff_max_s=0.5)
    server = bootstrap(settings, upgrade_schema=False)
    online = threading.Event()
    webchat = CollectingSender(
        "webchat", fail=lambda env, n: None if online.is_set() else transient("offline")
    )
    turns = DeliveredTurns()
    try:
        with server.db.transaction() as session:
            seed_demo(session)
            tenant_id = session.scalars(select(Tenant.id).where(Tenant.slug == "demo")).one()
        server.engine.add_sender(webchat)
        server.engine.add_turn_listener(turns)
        server.start()
        answered = server.engine.submit(inbound(tenant_id, "hola", "visitor-0001", "webchat"))
        unrouted = server.engine.store.accept(
            inbound(tenant_id, "precios", "visitor-0002", "webchat")
        )

        def retrying() -> bool:
            with server.db.transaction() as session:
                rows = session.scalars(select(OutboxMessage)).all()
                return any(r.attempts >= 1 and r.status == OutboxStatus.PENDING for r in rows)

        _wait(retrying, "the web chat reply to be retried")

        chat = hablo(
            "chat",
            "--tenant",
            "demo",
            cwd=tmp_path,
            db_url=db_url,
            env={"HABLO_STATE_DIR": str(TEST_STATE_DIR)},
            stdin="hola\n",
            timeout=120,
        )
        assert chat.returncode == 0, chat.stderr
        assert "bot>" in chat.stdout  # the tool's own conversation was answered

        with server.db.transaction() as session:
            outbox = session.scalars(select(OutboxMessage)).all()
            webchat_rows = [r for r in outbox if r.channel == "webchat"]
            assert webchat_rows and all(r.status == OutboxStatus.PENDING for r in webchat_rows)
            assert not [r for r in outbox if r.status == OutboxStatus.DEAD]
            # The server's unrouted message was not run by the tool.
            row = session.get(InboxEvent, unrouted.inbox_id)
            assert row is not None and row.status == InboxStatus.PENDING

        online.set()  # the visitor is back: the server itself delivers its reply
        turns.wait_for([answered.inbox_id], timeout=WAIT_S)
        assert webchat.texts_for("visitor-0001")
    finally:
        server.close()
