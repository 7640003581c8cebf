"""`hablo tenant import FILE` while a server runs: the server's tenant actor sees the new
settings (prices, services) without a restart, because the import moves the tenant's
version and the actor compares it before a message (at most every CONFIG_RECHECK_S)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from hablo.bootstrap import bootstrap
from hablo.db.database import Database
from hablo.db.models import Tenant
from hablo.tenancy.tenant_file import import_tenant, parse
from tests.conftest import make_settings
from tests.fakes import CollectingSender
from tests.integration.helpers import inbound

FILE = Path(__file__).resolve().parents[1] / "tenants" / "paws-and-suds.yaml"
TODAY = date(2027, 3, 10)
WAIT_S = 60.0


def _import(db_url: str, text: str) -> Tenant:
    """As the CLI does it: its own connection, its own transaction."""
    db = Database(db_url, pool_size=1)
    try:
        with db.transaction() as session:
            tenant = import_tenant(session, parse(text), TODAY)
            session.expunge(tenant)
            return tenant
    finally:
        db.dispose()


def test_an_import_reaches_a_running_server_without_a_restart(db_url: str) -> None:
    original = FILE.read_text(encoding="utf-8")
    tenant = _import(db_url, original)
    server = bootstrap(make_settings(db_url), upgrade_schema=False)
    sender = CollectingSender("console")
    server.engine.add_sender(sender)
    server.start()
    try:
        ask = "how much is a bath and brush?"
        server.engine.submit(inbound(tenant.id, ask, "+447700900001"))
        sender.wait_for(1, timeout=WAIT_S)
        assert "32.50" in sender.texts_for("+447700900001")[-1]

        # The same file, once more: nothing changed, the version stays.
        assert _import(db_url, original).updated_at == tenant.updated_at
        changed = original.replace("price: 32.5", "price: 39.5")
        assert changed != original
        assert _import(db_url, changed).updated_at != tenant.updated_at

        # Each question from a new customer; the answer changes without a restart.
        deadline = time.monotonic() + WAIT_S
        answers: list[str] = []
        while time.monotonic() < deadline:
            peer = f"+4477009{len(answers):05d}"
            sent = len(sender.sent)
            server.engine.submit(inbound(tenant.id, ask, peer))
            sender.wait_for(sent + 1, timeout=WAIT_S)
            answers.append(sender.texts_for(peer)[-1])
            if "39.50" in answers[-1]:
                break
            time.sleep(0.2)
        assert "39.50" in answers[-1], answers
        assert all("39.50" in a or "32.50" in a for a in answers)
    finally:
        server.close()
