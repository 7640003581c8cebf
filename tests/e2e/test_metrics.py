"""/metrics: the numbers move with a conversation, and only allowed scrapers read them."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from hablo.bootstrap import Runtime, bootstrap
from hablo.db.models import Tenant
from hablo.demo import seed_demo
from hablo.engine.metrics import LLM_TOKENS
from hablo.llm.budget import TurnUsage, record
from tests.conftest import make_settings
from tests.e2e.server import ServerThread, serve, wait_until
from tests.e2e.test_webchat import say, ws_url

ROOT = Path(__file__).resolve().parents[2]


def scrape(
    server: ServerThread, **headers: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = requests.get(server.url("/metrics"), headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(figures: dict, name: str, **labels: str) -> float:
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_conversation_moves_the_numbers(runtime: Runtime) -> None:
    async def chat(server: ServerThread) -> None:
        async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(server)) as ws:
            await say(ws, "hola, cuánto sale un corte?")

    with serve(runtime) as server:
        before = scrape(server)
        asyncio.run(chat(server))
        assert requests.get(server.url("/healthz"), timeout=30).status_code == 200

        def moved() -> dict | None:
            after = scrape(server)
            done = value(after, "hablo_turn_seconds_count") > value(
                before, "hablo_turn_seconds_count"
            )
            return after if done else None

        after = wait_until(moved, timeout=60, interval=0.2, what="the turn to be timed")
    for name, labels in [
        ("hablo_inbound_messages_total", {"channel": "webchat"}),
        ("hablo_outbound_messages_total", {"channel": "webchat", "outcome": "sent"}),
        ("hablo_api_requests_total", {"route": "/healthz", "method": "GET", "status": "200"}),
    ]:
        assert value(after, name, **labels) >= value(before, name, **labels) + 1, (name, labels)
    assert value(after, "hablo_live_conversation_actors") >= 1
    assert ("hablo_outbox_pending", ()) in after and ("hablo_outbox_dead_letters", ()) in after
    assert value(after, "hablo_api_requests_total", route="/metrics", method="GET", status="200")


def test_llm_tokens_are_counted_when_recorded(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        tenant_id = session.scalars(select(Tenant.id).where(Tenant.slug == "demo")).one()
    model = f"test-model-{uuid.uuid4().hex[:6]}"
    with runtime.db.engine.begin() as conn:
        record(conn, tenant_id, None, None, TurnUsage(model, 1, 120, 30, "ok"))
    assert LLM_TOKENS.labels(model, "prompt")._value.get() == 120
    assert LLM_TOKENS.labels(model, "completion")._value.get() == 30


@pytest.fixture
def guarded(db_url: str) -> Iterator[ServerThread]:
    """A server with a metrics token, behind a trusted proxy on 127.0.0.1."""
    rt = bootstrap(
        make_settings(db_url, metrics_token="m-s3cret", trusted_proxies=["127.0.0.1/32"]),
        upgrade_schema=False,
    )
    with rt.db.transaction() as session:
        seed_demo(session)
    try:
        with serve(rt) as server:
            yield server
    finally:
        rt.close()


def test_a_token_is_required_when_set(guarded: ServerThread) -> None:
    url = guarded.url("/metrics")
    assert requests.get(url, timeout=30).status_code == 401
    wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=30)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    assert scrape(guarded, Authorization="Bearer m-s3cret")


def test_without_a_token_only_private_addresses_may_scrape(runtime: Runtime) -> None:
    proxied = bootstrap(
        make_settings(runtime.settings.database_url, trusted_proxies=["127.0.0.1/32"]),
        upgrade_schema=False,
    )
    try:
        with serve(proxied) as server:
            url = server.url("/metrics")
            public = requests.get(url, headers={"X-Forwarded-For": "8.8.4.4"}, timeout=30)
            private = requests.get(url, headers={"X-Forwarded-For": "10.1.2.3"}, timeout=30)
    finally:
        proxied.close()
    assert public.status_code == 403 and public.json()["error"]["code"] == "forbidden"
    assert private.status_code == 200 and "hablo_inbound_messages_total" in private.text


def test_the_sample_dashboard_charts_only_metrics_hablo_serves(runtime: Runtime) -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text("utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    charted = {
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for expr in exprs
        for name in re.findall(r"\b(?:hablo|process)_[a-z_]+", expr)
    }
    with serve(runtime) as server:
        served = requests.get(server.url("/metrics"), timeout=30).text
    families = {
        re.sub(r"_total$", "", name) for name in re.findall(r"^# TYPE (\S+) ", served, re.M)
    }
    assert len(charted) >= 8 and charted <= families, charted - families
