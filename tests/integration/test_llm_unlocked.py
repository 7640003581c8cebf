"""LLM mode waits for the model with nothing held: while the fake OpenAI server holds a
request, another connection can lock the conversation row (PostgreSQL) and no turn
transaction is open; the understanding call comes before the turn's transaction, the
phrasing call after its commit. A conversation that moved on meanwhile drops the model's
answer, and the turn deadline still ends in an answer for the customer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError

from hablo.db.enums import OutboxStatus, SenderKind
from hablo.db.models import Conversation, LlmUsage, Message, OutboxMessage
from tests.integration.test_llm_mode import (  # noqa: F401 (the fixtures are shared)
    PEER,
    Harness,
    _vocabularies,
    open_harness,
)
from tests.providers.fake_openai import FakeOpenAI, tool_call
from tests.providers.fake_openai import text as say_text
from tests.providers.fake_smtp import fake_smtp

WAIT_S = 60.0


@contextmanager
def _llm_mode(db_url: str, tmp_path: Any, deadline_s: float, timeout_s: float) -> Iterator[Harness]:
    fake = FakeOpenAI().start()
    try:
        with (
            fake_smtp() as smtp,
            open_harness(db_url, tmp_path, fake, smtp, deadline_s, timeout_s) as harness,
        ):
            yield harness
    finally:
        fake.stop()


@pytest.fixture
def patient(db_url: str, tmp_path: Any) -> Iterator[Harness]:
    """LLM mode with a deadline long enough for the test to look around while it waits."""
    with _llm_mode(db_url, tmp_path, 90.0, 90.0) as harness:
        yield harness


@pytest.fixture
def hasty(db_url: str, tmp_path: Any) -> Iterator[Harness]:
    """LLM mode with a short turn deadline (and longer request timeouts than it)."""
    with _llm_mode(db_url, tmp_path, 1.5, 30.0) as harness:
        yield harness


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


def _in_background(h: Harness, message: str) -> tuple[threading.Thread, list[str]]:
    replies: list[str] = []
    worker = threading.Thread(target=lambda: replies.extend(h.say(message)), daemon=True)
    worker.start()
    return worker, replies


def _look(h: Harness, message: str) -> dict[str, object]:
    """From another connection: is `message` committed, and can the row be locked now?"""
    seen: dict[str, object] = {}
    with h.rt.db.engine.connect() as other:
        seen["message_committed"] = bool(
            other.scalar(
                select(Message.id).where(
                    Message.sender_kind == SenderKind.CUSTOMER, Message.body == message
                )
            )
        )
        if h.rt.db.dialect == "postgresql":
            other.execute(text("SET lock_timeout = '200ms'"))
            try:
                with other.begin_nested():
                    locked = other.execute(
                        select(Conversation.id).where(Conversation.peer == PEER).with_for_update()
                    ).first()
                seen["row_lock_free"] = locked is not None
            except OperationalError:  # lock timeout: a turn transaction holds the row
                seen["row_lock_free"] = False
            # No other session of this database sits in an open transaction.
            seen["open_transactions"] = other.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                )
            )
        other.rollback()
    return seen


def _usage(h: Harness) -> list[LlmUsage]:
    with h.rt.db.transaction() as session:
        return list(session.scalars(select(LlmUsage).order_by(LlmUsage.id)))


def test_the_model_is_waited_for_with_the_conversation_unlocked(patient: Harness) -> None:
    h = patient
    h.say("hola")  # the conversation exists (and the tenant's classifier is warm)
    before = len(h.fake.requests)
    understood, phrased = threading.Event(), threading.Event()
    h.fake.queue(
        tool_call("pricing", hold=understood, intent="pricing", service="Arreglo de barba"),
        say_text("La barba sale $5.000 y lleva 20 minutos.", hold=phrased),
    )
    message = "y la barba cuánto?"
    worker, replies = _in_background(h, message)
    try:
        _wait_until(lambda: len(h.fake.requests) == before + 1, "the understanding call")
        while_understanding = _look(h, message)
    finally:
        understood.set()
    try:
        _wait_until(lambda: len(h.fake.requests) == before + 2, "the phrasing call")
        while_phrasing = _look(h, message)
    finally:
        phrased.set()
    worker.join(WAIT_S)
    assert replies == ["La barba sale $5.000 y lleva 20 minutos."]
    # Understanding: before the turn's transaction; phrasing: after its commit.
    assert while_understanding["message_committed"] is False
    assert while_phrasing["message_committed"] is True
    if h.rt.db.dialect == "postgresql":
        for seen in (while_understanding, while_phrasing):
            assert seen["row_lock_free"] is True
            assert seen["open_transactions"] == 0
    row = _usage(h)[-1]
    assert (row.calls, row.outcome, row.inbox_id) == (2, "assisted", h.last_inbox_id())


def test_a_conversation_that_moved_on_drops_the_models_answer(patient: Harness) -> None:
    h = patient
    h.say("hola")
    before = len(h.fake.requests)
    held = threading.Event()
    # The model would answer about the manicure; the customer asked about the haircut.
    h.fake.queue(tool_call("pricing", hold=held, intent="pricing", service="Manicura"))
    worker, replies = _in_background(h, "¿cuánto sale el corte?")
    try:
        _wait_until(lambda: len(h.fake.requests) == before + 1, "the understanding call")
        with h.rt.db.engine.begin() as other:  # as an agent's reply would, meanwhile
            other.execute(
                update(Conversation)
                .where(Conversation.peer == PEER)
                .values(message_count=Conversation.message_count + 1)
            )
    finally:
        held.set()
    worker.join(WAIT_S)
    assert replies == ["Corte de pelo: $8.000 (30 min)."]  # the local NLU, not the model
    assert len(h.fake.requests) == before + 1  # and no phrasing call for a dropped turn
    row = _usage(h)[-1]
    assert (row.calls, row.outcome) == (1, "stale")


def test_the_deadline_still_ends_in_an_answer_with_nothing_locked(hasty: Harness) -> None:
    h = hasty
    h.say("hola")
    before = len(h.fake.requests)
    held = threading.Event()
    h.fake.queue(tool_call("pricing", hold=held, intent="pricing", service="Manicura"))
    message = "¿cuánto sale el corte?"
    began = time.monotonic()
    worker, replies = _in_background(h, message)
    try:
        _wait_until(lambda: len(h.fake.requests) == before + 1, "the understanding call")
        seen = _look(h, message)
        worker.join(WAIT_S)  # the model never answers in time
        elapsed = time.monotonic() - began
    finally:
        held.set()
    assert replies == ["Corte de pelo: $8.000 (30 min)."]
    assert elapsed < 1.5 + 5.0, f"customer waited {elapsed:.2f}s"
    if h.rt.db.dialect == "postgresql":
        assert seen["row_lock_free"] is True
    assert _usage(h)[-1].outcome == "deadline"


def test_a_phrasing_past_the_deadline_sends_the_skills_words(hasty: Harness) -> None:
    h = hasty
    h.say("hola")
    held = threading.Event()
    h.fake.queue(
        tool_call("pricing", intent="pricing", service="Corte de pelo"),
        say_text("¡El corte sale $8.000!", hold=held),
    )
    try:
        replies = h.say("¿cuánto sale el corte?")
    finally:
        held.set()
    assert replies == ["Corte de pelo: $8.000 (30 min)."]
    row = _usage(h)[-1]
    assert (row.calls, row.outcome) == (2, "phrase_deadline")


def _bot_replies(h: Harness) -> list[tuple[str, OutboxStatus, str]]:
    """Every bot reply written so far: (message body, outbox status, outbox text)."""
    with h.rt.db.transaction() as session:
        rows = session.execute(
            select(Message.body, OutboxMessage.status, OutboxMessage.payload)
            .join(OutboxMessage, OutboxMessage.message_id == Message.id)
            .order_by(OutboxMessage.id)
        ).all()
    return [(body, status, str(payload["text"])) for body, status, payload in rows]


def test_the_skills_reply_is_written_with_the_turn_and_reworded_before_sending(
    patient: Harness,
) -> None:
    """While the model words the reply, the turn (with the skill's own reply, pending)
    is committed already: a crash or a database error from there on still answers the
    customer. Once worded, that same row says the model's words and is sent once."""
    h = patient
    h.say("hola")
    before = len(_bot_replies(h))
    phrased = threading.Event()
    h.fake.queue(
        tool_call("pricing", intent="pricing", service="Arreglo de barba"),
        say_text("La barba sale $5.000 y lleva 20 minutos.", hold=phrased),
    )
    worker, replies = _in_background(h, "y la barba cuánto?")
    try:
        _wait_until(lambda: len(_bot_replies(h)) > before, "the turn's reply row")
        written = _bot_replies(h)[before:]
    finally:
        phrased.set()
    worker.join(WAIT_S)
    [(body, status, text)] = written  # the skill's words, not sent yet
    assert status == OutboxStatus.PENDING and "$5.000" in body and text == body
    assert body != "La barba sale $5.000 y lleva 20 minutos."
    assert replies == ["La barba sale $5.000 y lleva 20 minutos."]
    _wait_until(lambda: _bot_replies(h)[-1][1] == OutboxStatus.SENT, "the sent mark")
    assert _bot_replies(h)[before:] == [
        ("La barba sale $5.000 y lleva 20 minutos.", OutboxStatus.SENT, replies[0])
    ]
