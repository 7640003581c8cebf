"""LLM mode end to end against a fake OpenAI-compatible server on 127.0.0.1, on SQLite
and PostgreSQL: the model books through the booking skill, the guard stops invented
prices, every provider fault ends in a local-NLU answer within the turn deadline, the
breaker and the monthly budget stop calls (the tenant's managers get one mail), and usage
is recorded per message."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.header import decode_header, make_header
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holiday_calendars
import pytest
from babel.dates import format_date
from sqlalchemy import select

from hablo.bootstrap import Runtime, bootstrap
from hablo.config import Settings
from hablo.db.enums import Role, UserStatus
from hablo.db.models import AuditLog, Booking, LlmMonthlyUsage, LlmUsage, Tenant, User
from hablo.demo import seed_demo
from hablo.llm import mode as llm_mode
from hablo.llm.budget import month_resets_at
from hablo.llm.config import key_context, updated_settings
from hablo.llm.tokens import TokenCounter
from tests.conftest import make_settings
from tests.fakes import CollectingSender
from tests.integration.helpers import DeliveredTurns, inbound
from tests.providers.fake_openai import (
    DEFAULT_KEY,
    FakeOpenAI,
    delay,
    malformed,
    status,
    text,
    tool_call,
)
from tests.providers.fake_smtp import Inbox, fake_smtp

DEADLINE_S = 1.5
REQUEST_TIMEOUT_S = 0.6
# Local NLU, skill, commit and hand-off to the sender after the LLM part gave up.
LOCAL_SLACK_S = 1.0
ZONE = ZoneInfo("America/Argentina/Buenos_Aires")
PEER = "+5491155557777"


@dataclass
class Harness:
    rt: Runtime
    tenant_id: uuid.UUID
    fake: FakeOpenAI
    settings: Settings
    mail: Inbox
    say: Callable[[str], list[str]]
    last_inbox_id: Callable[[], int]

    def set_llm(self, **changes: Any) -> None:
        """Change the tenant's LLM config and reload its runtime, as the API would."""
        with self.rt.db.transaction() as session:
            tenant = session.get(Tenant, self.tenant_id)
            assert tenant is not None
            box = llm_mode.current().box()
            tenant.settings = updated_settings(tenant.settings, self.tenant_id, box, changes)
        self.rt.engine.reload_tenant(self.tenant_id)

    def usage_rows(self) -> list[LlmUsage]:
        with self.rt.db.transaction() as session:
            return list(session.scalars(select(LlmUsage).order_by(LlmUsage.id)))


@pytest.fixture(scope="session", autouse=True)
def _vocabularies() -> None:
    """Load the token vocabulary once per session (as a server does once per process)."""
    from hablo.llm.tokens import encoding

    encoding("o200k_base")


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with fake_smtp() as server:
        yield server


@pytest.fixture
def llm(db_url: str, tmp_path: Any, fake: FakeOpenAI, smtp: tuple[Inbox, int]) -> Iterator[Harness]:
    with open_harness(db_url, tmp_path, fake, smtp, DEADLINE_S, REQUEST_TIMEOUT_S) as harness:
        yield harness


@contextmanager
def open_harness(
    db_url: str,
    tmp_path: Any,
    fake: FakeOpenAI,
    smtp: tuple[Inbox, int],
    deadline_s: float,
    request_timeout_s: float,
) -> Iterator[Harness]:
    """A running engine whose demo tenant is in LLM mode against `fake`."""
    inbox, smtp_port = smtp
    settings = make_settings(
        db_url,
        state_dir=tmp_path / "state",
        llm_turn_deadline_s=deadline_s,
        llm_timeout_s=request_timeout_s,
        llm_breaker_failures=2,
        llm_breaker_cooldown_s=30.0,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
    )
    layer = llm_mode.install(settings)
    rt = bootstrap(settings, upgrade_schema=False)
    with rt.db.transaction() as session:
        tenant_id = seed_demo(session)
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.settings = updated_settings(
            tenant.settings or {},
            tenant_id,
            layer.box(),
            {"base_url": fake.base_url, "model": "gpt-4o-mini"},
            api_key=DEFAULT_KEY,
        )
    sender = CollectingSender("console")
    turns = DeliveredTurns()
    rt.engine.add_sender(sender)
    rt.engine.add_turn_listener(turns)
    rt.start()
    inbox_ids: list[int] = []

    def say(message: str) -> list[str]:
        before = len(sender.texts_for(PEER))
        result = rt.engine.submit(inbound(tenant_id, message, peer=PEER))
        inbox_ids.append(result.inbox_id)
        # Generous: the tenant's first turn trains its classifier, slow on a busy machine.
        turns.wait_for([result.inbox_id], timeout=90)
        return sender.texts_for(PEER)[before:]

    try:
        yield Harness(rt, tenant_id, fake, settings, inbox, say, lambda: inbox_ids[-1])
    finally:
        rt.close()
        llm_mode.uninstall()


def _open_weekday() -> date:
    """A weekday at least two days ahead that is not an Argentine holiday."""
    today = datetime.now(ZONE).date()
    calendar = holiday_calendars.country_holidays("AR", years=(today.year, today.year + 1))
    day = today + timedelta(days=2)
    while day.weekday() >= 5 or day in calendar:
        day += timedelta(days=1)
    return day


def _timed(say: Callable[[str], list[str]], message: str) -> tuple[list[str], float]:
    """How long the customer waits for the reply to `message`."""
    began = time.monotonic()
    replies = say(message)
    return replies, time.monotonic() - began


# -- the model books through the skill ------------------------------------------------------


def test_the_model_books_through_the_booking_tool(llm: Harness) -> None:
    day = _open_weekday()
    llm.fake.queue(
        tool_call(
            "booking", intent="book", service="Corte de pelo", day=day.isoformat(), time="11:00"
        ),
        text("¡Genial! Te anoto un corte a las 11:00, sale $8.000. ¿Te lo confirmo?"),
    )
    replies = llm.say(f"hola! me querés anotar para un corte el {day:%d/%m}, tipo 11?")
    assert replies == ["¡Genial! Te anoto un corte a las 11:00, sale $8.000. ¿Te lo confirmo?"]

    first, second = llm.fake.requests[0], llm.fake.requests[1]
    assert first["authorization"] == f"Bearer {DEFAULT_KEY}"
    booking_tool = next(t for t in first["body"]["tools"] if t["function"]["name"] == "booking")
    params = booking_tool["function"]["parameters"]
    assert "Corte de pelo" in params["properties"]["service"]["enum"]
    assert set(params["properties"]) == {"intent", "service", "day", "time"}
    system = first["body"]["messages"][0]["content"]
    assert "Peluquería Sol" in system and "$8.000" in system
    # The tool result the model phrased is the booking skill's own proposal.
    tool_message = second["body"]["messages"][-1]
    assert tool_message["role"] == "tool" and "11:00" in tool_message["content"]
    with llm.rt.db.transaction() as session:
        assert session.scalars(select(Booking)).all() == []  # proposed, not booked yet

    llm.fake.queue(tool_call("booking", intent="affirm"), text("¡Listo! Te esperamos a las 11:00."))
    assert llm.say("dale, confirmame") == ["¡Listo! Te esperamos a las 11:00."]
    affirm_tool = next(
        t for t in llm.fake.requests[2]["body"]["tools"] if t["function"]["name"] == "booking"
    )
    assert "affirm" in affirm_tool["function"]["parameters"]["properties"]["intent"]["enum"]
    with llm.rt.db.transaction() as session:
        bookings = session.scalars(select(Booking)).all()
    assert len(bookings) == 1
    assert bookings[0].starts_at.astimezone(ZONE) == datetime.combine(
        day, datetime.min.time().replace(hour=11), ZONE
    )


def test_the_guard_replaces_an_invented_price(
    llm: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    llm.fake.queue(
        tool_call("pricing", intent="pricing", service="Corte de pelo"),
        text("El corte te sale $6.500, ¡una ganga!"),
    )
    with caplog.at_level(logging.WARNING):
        replies = llm.say("cuánto me cobran por cortarme?")
    assert replies == ["Corte de pelo: $8.000 (30 min)."]  # the skill's own words
    assert "6.500" in caplog.text
    assert llm.usage_rows()[-1].outcome == "guarded"


def test_the_guard_does_not_take_the_customers_amount_for_a_price(llm: Harness) -> None:
    llm.fake.queue(
        tool_call("pricing", intent="pricing", service="Corte de pelo"),
        text("¡Dale! Te lo dejo a $1000."),
    )
    assert llm.say("el corte me lo dejás a $1000?") == ["Corte de pelo: $8.000 (30 min)."]
    assert llm.usage_rows()[-1].outcome == "guarded"


def test_usage_is_recorded_per_message_and_per_month(llm: Harness) -> None:
    llm.fake.queue(
        tool_call("pricing", intent="pricing", service="Arreglo de barba"),
        text("La barba sale $5.000 y lleva 20 minutos."),
    )
    assert llm.say("y la barba?") == ["La barba sale $5.000 y lleva 20 minutos."]
    (row,) = llm.usage_rows()
    assert (row.calls, row.prompt_tokens, row.completion_tokens) == (2, 240, 36)
    assert row.model == "gpt-4o-mini" and row.outcome == "assisted"
    assert row.inbox_id == llm.last_inbox_id() and row.tenant_id == llm.tenant_id
    with llm.rt.db.transaction() as session:
        month = session.scalars(select(LlmMonthlyUsage)).one()
    assert month.prompt_tokens + month.completion_tokens == 276


# -- faults: retry once, then the local NLU, within the deadline ------------------------------


def test_a_timing_out_provider_still_gets_a_local_answer_in_time(llm: Harness) -> None:
    llm.say("hola")  # warm: the tenant's actor and classifier start cold, LLM or not
    before = len(llm.fake.requests)
    llm.fake.queue(delay(5), delay(5))
    replies, elapsed = _timed(llm.say, "¿cuánto sale el corte?")
    assert replies == ["Corte de pelo: $8.000 (30 min)."]  # local NLU and pricing skill
    assert len(llm.fake.requests) - before == 2  # first call and one retry
    assert elapsed < DEADLINE_S + LOCAL_SLACK_S, f"customer waited {elapsed:.2f}s"
    assert llm.usage_rows()[-1].outcome == "timeout"


def test_the_turn_deadline_caps_a_long_request_timeout(llm: Harness) -> None:
    llm.set_llm(timeout_s=30.0)  # the tenant allows long requests; the deadline still rules
    llm.say("hola")
    llm.fake.queue(delay(10), delay(10))
    replies, elapsed = _timed(llm.say, "¿cuánto sale el corte?")
    assert replies == ["Corte de pelo: $8.000 (30 min)."]
    assert DEADLINE_S - 0.2 < elapsed < DEADLINE_S + LOCAL_SLACK_S, f"took {elapsed:.2f}s"


def test_a_429_is_retried_once_after_retry_after(llm: Harness) -> None:
    llm.fake.queue(
        status(429, retry_after=0.2),
        tool_call("pricing", intent="pricing", service="Manicura"),
        text("La manicura está $9.000."),
    )
    assert llm.say("precio de las uñas?") == ["La manicura está $9.000."]
    assert len(llm.fake.requests) == 3


def test_two_server_errors_fall_back_to_the_local_nlu(llm: Harness) -> None:
    # Warm first: a cold tenant (actor, classifier) on a loaded machine can use up the
    # turn deadline before the first call, and then no call is made at all.
    llm.say("hola")
    before = len(llm.fake.requests)
    llm.fake.queue(status(500), status(503))
    assert llm.say("¿cuánto sale el corte?") == ["Corte de pelo: $8.000 (30 min)."]
    assert len(llm.fake.requests) - before == 2
    assert llm.usage_rows()[-1].outcome == "server_error"


def test_malformed_output_is_retried_then_falls_back(llm: Harness) -> None:
    llm.say("hola")  # warm, as above: a clean-clone CI run once made no call at all
    before = len(llm.fake.requests)
    llm.fake.queue(malformed(), tool_call("pricing", intent="no-such-intent"))
    assert llm.say("¿cuánto sale el corte?") == ["Corte de pelo: $8.000 (30 min)."]
    assert len(llm.fake.requests) - before == 2
    assert llm.usage_rows()[-1].outcome == "malformed"


def test_the_breaker_opens_and_skips_calls(llm: Harness) -> None:
    # Warm first: a cold first call (connection setup on a loaded machine) could use up the
    # turn deadline before the retry, leaving one failure and a closed breaker.
    llm.say("hola")
    llm.fake.queue(status(500), status(500))  # two failures in a row: open (breaker_failures=2)
    llm.say("¿cuánto sale el corte?")
    assert llm.fake.pending == 0, "the retry did not run within the turn deadline"
    assert llm_mode.current().breakers.get(llm.tenant_id, llm.fake.base_url).state == "open"
    calls = len(llm.fake.requests)
    # A call that went out anyway would hang on this until the turn deadline.
    llm.fake.queue(delay(5), delay(5))
    replies, elapsed = _timed(llm.say, "¿cuánto sale la barba?")
    assert replies == ["Arreglo de barba: $5.000 (20 min)."]
    assert len(llm.fake.requests) == calls  # not called while open
    assert elapsed < DEADLINE_S, f"customer waited {elapsed:.2f}s"


# -- budget, history, secrets ------------------------------------------------------------------


def _add_user(llm: Harness, email: str, role: Role, status: UserStatus) -> None:
    with llm.rt.db.transaction() as session:
        session.add(
            User(
                tenant_id=llm.tenant_id,
                email=email,
                first_name="X",
                password_hash="!",
                role=role,
                status=status,
            )
        )


def test_at_the_monthly_budget_the_tenant_falls_back_and_is_told_once(
    llm: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    _add_user(llm, "owner@sol.test", Role.OWNER, UserStatus.ACTIVE)
    _add_user(llm, "admin@sol.test", Role.ADMIN, UserStatus.ACTIVE)
    _add_user(llm, "gone@sol.test", Role.ADMIN, UserStatus.INACTIVE)
    _add_user(llm, "agent@sol.test", Role.AGENT, UserStatus.ACTIVE)
    llm.set_llm(monthly_token_budget=200)
    llm.fake.queue(
        tool_call("pricing", intent="pricing", service="Brushing"),
        text("El brushing sale $7.000."),
    )
    assert llm.say("cuánto el brushing?") == ["El brushing sale $7.000."]  # 276 tokens spent
    calls = len(llm.fake.requests)
    with caplog.at_level(logging.WARNING, logger="hablo.llm"):
        assert llm.say("¿cuánto sale el corte?") == ["Corte de pelo: $8.000 (30 min)."]
        assert llm.say("¿cuánto sale la barba?") == ["Arreglo de barba: $5.000 (20 min)."]
        assert llm.say("¿y la manicura?") == ["Manicura: $9.000 (45 min)."]
    assert len(llm.fake.requests) == calls
    warnings = [r for r in caplog.records if "token budget" in r.getMessage()]
    assert len(warnings) == 1
    # One mail per active owner and admin, in the tenant's language (es-AR).
    mail = llm.mail.wait_for("owner@sol.test")
    llm.mail.wait_for("admin@sol.test")
    time.sleep(0.3)  # a second mail, had a later turn sent one, would be here by now
    assert sorted(r for rcpts, _ in llm.mail.mails for r in rcpts) == [
        "admin@sol.test",
        "owner@sol.test",
    ]
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject == "Peluquería Sol: se agotó el presupuesto de IA de este mes"
    body = Inbox.body(mail)
    resets = format_date(month_resets_at(datetime.now(UTC)).date(), "long", locale="es")
    assert "276 de 200 tokens" in body  # the budget was reached,
    assert "sigue respondiendo" in body and "NLU local" in body  # the bot keeps answering,
    assert f"se renueva el {resets}" in body  # and when that ends
    with llm.rt.db.transaction() as session:
        told = session.scalars(
            select(AuditLog).where(AuditLog.action == "llm.budget_reached")
        ).all()
    assert len(told) == 1 and told[0].tenant_id == llm.tenant_id
    assert told[0].changes["budget_tokens"] == 200


def test_history_is_trimmed_to_the_token_budget(llm: Harness) -> None:
    llm.set_llm(history_tokens=80)
    for message in ("hola", "¿cuánto sale el corte?", "¿y la barba?", "¿dónde están?", "gracias"):
        llm.say(message)  # the fake answers in plain text: the local NLU handles these
    llm.say("¿abren el sábado?")
    messages = llm.fake.requests[-1]["body"]["messages"]
    history = messages[1:-1]
    assert messages[-1] == {"role": "user", "content": "¿abren el sábado?"}
    counter = TokenCounter("gpt-4o-mini")
    assert 0 < len(history) < 10  # 10 earlier messages exist; only the newest fit
    assert sum(counter.message(m) for m in history) <= 80
    assert history[-1]["role"] == "assistant"  # the newest ones are kept


def test_the_key_is_stored_sealed_and_never_logged(
    llm: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    llm.fake.queue(status(401), tool_call("pricing", intent="pricing"), text("Precios: $8.000"))
    with caplog.at_level(logging.DEBUG):
        llm.say("precios?")
        llm.fake.queue(delay(5), delay(5))
        llm.say("¿cuánto sale el corte?")
    assert DEFAULT_KEY not in caplog.text
    with llm.rt.db.transaction() as session:
        tenant = session.get(Tenant, llm.tenant_id)
        assert tenant is not None
        stored = tenant.settings["llm"]
    assert DEFAULT_KEY not in str(stored)
    assert stored["api_key_sealed"].startswith("v1.")
    box = llm_mode.current().box()
    assert box.open(stored["api_key_sealed"], context=key_context(llm.tenant_id)) == DEFAULT_KEY


# -- the CLI: `hablo llm set/show` and `hablo nlu eval` in LLM mode ---------------------------


def _hablo(
    *args: str, db_url: str, tmp_path: Any, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("HABLO_")}
    environ.update(
        {"HABLO_DATABASE_URL": db_url, "HABLO_STATE_DIR": str(tmp_path / "state")}, **(env or {})
    )
    return subprocess.run(
        [sys.executable, "-m", "hablo", *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


@pytest.mark.timeout(600)  # five `hablo` processes, each loading NLU and vocabularies
def test_cli_sets_and_shows_the_config_and_evaluates_in_llm_mode(
    runtime: Runtime, db_url: str, tmp_path: Any, fake: FakeOpenAI
) -> None:
    key_env = {"TEST_OPENAI_KEY": DEFAULT_KEY}
    missing = _hablo(
        "llm", "set", "--tenant", "demo", "--api-key-env", "NOPE", db_url=db_url, tmp_path=tmp_path
    )
    assert missing.returncode == 2 and "NOPE" in missing.stderr
    done = _hablo(
        "llm", "set", "--tenant", "demo", "--base-url", fake.base_url, "--model", "gpt-4o-mini",
        "--monthly-token-budget", "90000", "--api-key-env", "TEST_OPENAI_KEY",
        db_url=db_url, tmp_path=tmp_path, env=key_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = _hablo("llm", "show", "--tenant", "demo", db_url=db_url, tmp_path=tmp_path)
    assert shown.returncode == 0, shown.stderr
    config = json.loads(shown.stdout.splitlines()[0])["llm"]
    assert config["base_url"] == fake.base_url and config["api_key"] == "set (sealed)"
    assert config["month_token_budget"] == 90000
    for output in (done.stdout, done.stderr, shown.stdout, shown.stderr):
        assert DEFAULT_KEY not in output
    with runtime.db.transaction() as session:
        stored = session.scalars(select(Tenant).where(Tenant.slug == "demo")).one().settings
    assert stored["llm"]["api_key_sealed"].startswith("v1.") and DEFAULT_KEY not in str(stored)

    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        "\n".join(
            json.dumps(c, ensure_ascii=False)
            for c in (
                {"text": "che, qué me cobran x cortarme", "lang": "es", "intent": "pricing",
                 "service": "Corte de pelo"},
                {"text": "el jueves 11 a las 5 de la tarde hay lugar?", "lang": "es",
                 "intent": "book", "when": "2027-03-11T17:00"},
                {"text": "hola!", "lang": "es", "intent": "greeting"},
            )
        ),
        encoding="utf-8",
    )  # fmt: skip
    fake.queue(
        tool_call("pricing", intent="pricing", service="Corte de pelo"),
        tool_call("booking", intent="book", day="2027-03-11", time="17:00"),
        text("¡Hola! ¿En qué te ayudo?"),
    )
    common = ("nlu", "eval", str(cases), "--tenant", "demo", "--now", "2027-03-10T12:00")
    local = _hablo(*common, db_url=db_url, tmp_path=tmp_path)
    assisted = _hablo(
        *common, "--llm-base-url", fake.base_url, "--llm-model", "gpt-4o-mini",
        "--llm-api-key-env", "TEST_OPENAI_KEY", db_url=db_url, tmp_path=tmp_path, env=key_env,
    )  # fmt: skip
    assert local.returncode == 0 and assisted.returncode == 0, assisted.stderr
    local_summary = json.loads(local.stdout.splitlines()[-1])
    llm_summary = json.loads(assisted.stdout.splitlines()[-1])
    assert set(llm_summary) == set(local_summary)  # the same JSON line
    assert llm_summary == {
        "intent_accuracy": 1.0,
        "service_accuracy": 1.0,
        "when_accuracy": 1.0,
        "n": 3,
    }
    assert "LLM mode: model gpt-4o-mini" in assisted.stdout
    assert len(fake.requests) == 3
    assert all(r["authorization"] == f"Bearer {DEFAULT_KEY}" for r in fake.requests)
    assert DEFAULT_KEY not in assisted.stdout + assisted.stderr
