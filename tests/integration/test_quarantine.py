"""A message whose turn fails for a reason that does not go away is quarantined after
`turn_max_attempts` tries: the customer gets an apology, the conversation goes on, the API
shows it. An outage is retried (with backoff) and never quarantines anything.

The failures are real database errors, raised by a trigger on the messages table of the
real SQLite or PostgreSQL database (no mock of our own database).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from hablo.bootstrap import Runtime
from hablo.db.enums import InboxStatus, Role
from hablo.db.models import InboxEvent, OutboxMessage, Tenant
from hablo.engine.failures import backoff, is_transient
from tests.api.support import Api, live_api
from tests.fakes import CollectingSender
from tests.integration.helpers import DeliveredTurns, inbound

POISON = "poison-pill"
TIMEOUT_S = 30.0

_SQLITE_TRIGGER = f"""
CREATE TRIGGER poison_pill BEFORE INSERT ON messages
WHEN NEW.body LIKE '%{POISON}%'
BEGIN SELECT RAISE(ABORT, 'poison pill refused'); END
"""
_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION poison_pill() RETURNS trigger AS $$
BEGIN
    IF NEW.body LIKE '%{POISON}%' THEN
        RAISE EXCEPTION 'poison pill refused' USING ERRCODE = 'data_exception';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql
"""
# An outage-like error (lock_not_available) while the flag row exists; a sequence counts
# the failures (nextval survives the rollback of the failed turn).
_PG_FLAKY = """
CREATE OR REPLACE FUNCTION flaky_lock() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM flaky_flag) THEN
        PERFORM nextval('flaky_hits');
        RAISE EXCEPTION 'lock timeout (test)' USING ERRCODE = 'lock_not_available';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql
"""


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def poisoned(db_url: str) -> Iterator[Api]:
    """A live server whose database refuses any message containing POISON."""
    with live_api(db_url, turn_max_attempts=3, turn_retry_delay_s=0.05) as api:
        db = api.runtime.db
        with db.begin() as conn:
            if db.dialect == "postgresql":
                conn.execute(text(_PG_FUNCTION))
                conn.execute(
                    text(
                        "CREATE TRIGGER poison_pill BEFORE INSERT ON messages "
                        "FOR EACH ROW EXECUTE FUNCTION poison_pill()"
                    )
                )
            else:
                conn.execute(text(_SQLITE_TRIGGER))
        try:
            yield api
        finally:
            # The PostgreSQL database outlives the test (SQLite's file does not).
            if db.dialect == "postgresql":
                with db.begin() as conn:
                    conn.execute(text("DROP TRIGGER IF EXISTS poison_pill ON messages"))


def _inbox(runtime: Runtime, inbox_id: int) -> InboxEvent:
    with runtime.db.transaction() as session:
        row = session.get(InboxEvent, inbox_id)
        assert row is not None
        return row


def _listen(api: Api) -> tuple[CollectingSender, DeliveredTurns]:
    sender = CollectingSender("console")
    turns = DeliveredTurns()
    api.runtime.engine.add_sender(sender)
    api.runtime.engine.add_turn_listener(turns)
    return sender, turns


def test_poison_message_is_quarantined_apologized_and_the_chat_goes_on(poisoned: Api) -> None:
    api, runtime = poisoned, poisoned.runtime
    sender, turns = _listen(api)
    tenant_id, peer = api.tenant_id(), f"+54911{uuid.uuid4().int % 10**8:08d}"

    bad = runtime.engine.submit(inbound(tenant_id, f"hola {POISON}", peer=peer))
    turns.wait_for([bad.inbox_id], timeout=120)  # the first turn may train the NLU
    row = _inbox(runtime, bad.inbox_id)
    assert row.status == InboxStatus.QUARANTINED
    assert row.attempts == 3  # bounded: not one more
    assert row.last_error and "poison pill refused" in row.last_error
    apology = sender.texts_for(peer)
    assert len(apology) == 1 and "no pude procesar tu último mensaje" in apology[0]

    good = runtime.engine.submit(inbound(tenant_id, "¿cuánto sale el corte?", peer=peer))
    turns.wait_for([good.inbox_id], timeout=TIMEOUT_S)
    assert "$8.000" in sender.texts_for(peer)[-1]
    assert _inbox(runtime, good.inbox_id).status == InboxStatus.PROCESSED

    # Visible in the API, on the conversation, with its error; the apology is in the
    # transcript (the customer's text could not be written: the trigger refuses it).
    with runtime.db.transaction() as session:
        conversation_id = session.scalars(
            select(OutboxMessage.conversation_id).where(OutboxMessage.inbox_id == bad.inbox_id)
        ).one()
    detail = api.as_role(Role.AGENT).get(f"/api/conversations/{conversation_id}")
    assert detail.status_code == 200, detail.text
    [quarantined] = detail.json()["quarantined"]
    assert quarantined["inbox_id"] == bad.inbox_id
    assert quarantined["text"] == f"hola {POISON}"
    assert quarantined["attempts"] == 3
    assert "poison pill refused" in quarantined["error"]
    bodies = [m["body"] for m in detail.json()["messages"]]
    assert apology[0] in bodies and f"hola {POISON}" not in bodies


def test_apology_follows_the_conversation_language(poisoned: Api) -> None:
    api, runtime = poisoned, poisoned.runtime
    sender, turns = _listen(api)
    tenant_id, peer = api.tenant_id(), f"+54911{uuid.uuid4().int % 10**8:08d}"
    first = runtime.engine.submit(inbound(tenant_id, "hello, what time do you open?", peer=peer))
    turns.wait_for([first.inbox_id], timeout=120)
    bad = runtime.engine.submit(inbound(tenant_id, f"hello {POISON}", peer=peer))
    turns.wait_for([bad.inbox_id], timeout=TIMEOUT_S)
    assert "couldn't process your last message" in sender.texts_for(peer)[-1]


def test_only_the_bad_message_of_a_burst_is_quarantined(poisoned: Api) -> None:
    """With debounce on, a burst is one turn; when it fails, its messages are retried one
    by one, so the good ones are answered and only the bad one is set aside."""
    api, runtime = poisoned, poisoned.runtime
    sender, turns = _listen(api)
    tenant_id, peer = api.tenant_id(), f"+54911{uuid.uuid4().int % 10**8:08d}"
    with runtime.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.settings = {**(tenant.settings or {}), "debounce_ms": 300}
    runtime.engine.reload_tenant(tenant_id)
    good = runtime.engine.submit(inbound(tenant_id, "¿cuánto sale el corte?", peer=peer))
    bad = runtime.engine.submit(inbound(tenant_id, f"y esto {POISON}", peer=peer))
    turns.wait_for([good.inbox_id, bad.inbox_id], timeout=120)
    assert _inbox(runtime, good.inbox_id).status == InboxStatus.PROCESSED
    assert _inbox(runtime, bad.inbox_id).status == InboxStatus.QUARANTINED
    texts = sender.texts_for(peer)
    assert "$8.000" in texts[0] and "no pude procesar" in texts[-1]


def test_an_outage_is_retried_and_never_quarantines(db_url: str) -> None:
    """PostgreSQL raises lock_not_available (a transient error) for more turns than
    turn_max_attempts; once it clears, the message is answered normally."""
    if not db_url.startswith("postgresql"):
        pytest.skip("raising an outage-class error from a trigger needs PostgreSQL")
    with live_api(db_url, turn_max_attempts=2, turn_retry_delay_s=0.02) as api:
        runtime = api.runtime
        with runtime.db.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS flaky_flag (on_ int)"))
            conn.execute(text("DELETE FROM flaky_flag"))
            conn.execute(text("INSERT INTO flaky_flag VALUES (1)"))
            conn.execute(text("DROP SEQUENCE IF EXISTS flaky_hits"))
            conn.execute(text("CREATE SEQUENCE flaky_hits"))
            conn.execute(text(_PG_FLAKY))
            conn.execute(
                text(
                    "CREATE TRIGGER flaky_lock BEFORE INSERT ON messages "
                    "FOR EACH ROW EXECUTE FUNCTION flaky_lock()"
                )
            )
        try:
            sender, turns = _listen(api)
            peer = f"+54911{uuid.uuid4().int % 10**8:08d}"
            result = runtime.engine.submit(inbound(api.tenant_id(), "hola", peer=peer))

            def hits() -> int:
                with runtime.db.begin() as conn:
                    value = conn.execute(
                        text(
                            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM flaky_hits"
                        )
                    ).scalar()
                    return int(value or 0)

            wait_until(lambda: hits() >= 4, "four failed turns")
            row = _inbox(runtime, result.inbox_id)
            assert row.status == InboxStatus.PENDING and row.attempts == 0
            with runtime.db.begin() as conn:
                conn.execute(text("DELETE FROM flaky_flag"))
            turns.wait_for([result.inbox_id], timeout=TIMEOUT_S)
            assert _inbox(runtime, result.inbox_id).status == InboxStatus.PROCESSED
            assert "no pude procesar" not in sender.texts_for(peer)[0]
        finally:
            with runtime.db.begin() as conn:
                conn.execute(text("DROP TRIGGER IF EXISTS flaky_lock ON messages"))
                conn.execute(text("DROP TABLE IF EXISTS flaky_flag"))
                conn.execute(text("DROP SEQUENCE IF EXISTS flaky_hits"))


def test_sqlite_busy_database_is_an_outage(tmp_path: Path) -> None:
    """The classification of a real SQLite lock timeout and of a real data error."""
    path = f"{tmp_path}/busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER NOT NULL)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    try:
        with pytest.raises(OperationalError) as busy, engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        assert is_transient(busy.value)
        holder.execute("ROLLBACK")
        with pytest.raises(IntegrityError) as bad, engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (NULL)"))
        assert not is_transient(bad.value)
    finally:
        engine.dispose()
        holder.close()
    assert [backoff(1.0, 30.0, n) for n in (1, 2, 3, 6, 100)] == [1.0, 2.0, 4.0, 30.0, 30.0]
