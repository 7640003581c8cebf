"""MercadoPago pieces without a server: minor/major units, the webhook signature, and the
client's error mapping against the fake MercadoPago over real HTTP."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hablo.payments.gateway import CheckoutRequest, GatewayError, LineItem
from hablo.payments.mercadopago_gateway import (
    MercadoPagoGateway,
    json_number,
    to_major,
    to_minor,
)
from hablo.payments.mercadopago_webhooks import manifest, verify
from tests.providers.fake_mercadopago import ACCESS_TOKEN, FakeMercadoPago, sign

CURRENCIES = ("ARS", "BRL", "MXN", "CLP", "COP", "PEN", "UYU", "USD")


# --- money ------------------------------------------------------------------------------


def test_clp_has_no_decimals_and_ars_has_two() -> None:
    assert to_major(8000, "CLP") == Decimal("8000")
    assert json_number(to_major(8000, "CLP")) == 8000
    assert to_minor(8000, "CLP") == 8000
    assert to_major(1050, "ARS") == Decimal("10.50")
    assert json.dumps(json_number(to_major(1050, "ARS"))) == "10.5"
    assert json.dumps(json_number(to_major(123456789, "ars"))) == "1234567.89"
    assert to_minor(10.5, "ARS") == 1050
    assert to_minor("0.07", "ARS") == 7
    # Floats are read as written: 0.1 + 0.2 style errors never lose a cent.
    assert to_minor(1234567.89, "ARS") == 123456789
    assert to_minor(0, "USD") == 0


def test_an_amount_that_is_not_a_number_is_a_gateway_error() -> None:
    with pytest.raises(GatewayError):
        to_minor("abc", "ARS")


@given(
    amount=st.integers(min_value=0, max_value=2_000_000_000),
    currency=st.sampled_from(CURRENCIES),
)
def test_minor_to_major_to_minor_is_exact_over_json(amount: int, currency: str) -> None:
    """The wire round trip: our minor units -> MercadoPago's JSON number -> back."""
    wire = json.loads(json.dumps({"unit_price": json_number(to_major(amount, currency))}))
    assert to_minor(wire["unit_price"], currency) == amount


# --- the signature ----------------------------------------------------------------------


def test_manifest_is_mercadopagos_template() -> None:
    assert manifest("ABC123", "req-1", "1704908010") == "id:abc123;request-id:req-1;ts:1704908010;"
    # Not alphanumeric: kept as is; absent parts are left out.
    assert manifest("a_B-1", None, "1") == "id:a_B-1;ts:1;"


def test_verify_accepts_mercadopagos_signature_only() -> None:
    secret = "s3cret-webhook-signature"
    header = sign("12345", "req-9", "1704908010", secret)
    now = 1704908010 + 30
    assert verify(secret, header, "12345", "req-9", now=now)
    assert verify(secret, header.replace(",", ", "), "12345", "req-9", now=now)
    assert not verify(secret, header, "12346", "req-9", now=now)
    assert not verify(secret, header, "12345", "req-8", now=now)
    assert not verify("another-secret-entirely", header, "12345", "req-9", now=now)
    assert not verify(None, header, "12345", "req-9", now=now)
    assert not verify(secret, None, "12345", "req-9", now=now)
    assert not verify(secret, "v1=abc", "12345", "req-9", now=now)


def test_a_signature_older_than_five_minutes_is_a_replay() -> None:
    secret = "s3cret-webhook-signature"
    signed = 1704908010
    for ts in (str(signed), str(signed * 1000)):  # seconds (docs) and milliseconds (real)
        header = sign("12345", "req-9", ts, secret)
        assert verify(secret, header, "12345", "req-9", now=signed + 299)
        assert not verify(secret, header, "12345", "req-9", now=signed + 86400)  # a day old
        assert not verify(secret, header, "12345", "req-9", now=signed - 301)  # from the future
    assert not verify(secret, sign("1", None, "soon", secret), "1", None, now=signed)


# --- the client -------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeMercadoPago]:
    server = FakeMercadoPago().start()
    try:
        yield server
    finally:
        server.stop()


def _request(key: str) -> CheckoutRequest:
    return CheckoutRequest(
        tenant_id=uuid.uuid4(),
        payment_id=uuid.uuid4(),
        currency="CLP",
        items=(LineItem("Corte", 15000),),
        idempotency_key=key,
        success_url="https://shop.test/thanks",
        cancel_url="https://shop.test/cancelled",
    )


def test_the_same_idempotency_key_gives_the_same_preference(fake: FakeMercadoPago) -> None:
    gateway = MercadoPagoGateway(
        ACCESS_TOKEN, notification_url="https://hablo.test/n", api_base=fake.base_url
    )
    request = _request("checkout:1")
    first = gateway.create_checkout(request)
    again = gateway.create_checkout(request)
    assert first.provider_reference == again.provider_reference
    assert len(fake.preferences) == 1
    assert fake.requests[-1]["body"]["items"][0]["unit_price"] == 15000  # CLP: no decimals
    assert gateway.create_checkout(_request("checkout:2")).provider_reference != (
        first.provider_reference
    )


def test_errors_are_mapped_and_never_show_the_token(fake: FakeMercadoPago) -> None:
    wrong = MercadoPagoGateway(
        "TEST-wrong-token-0000000000000000", notification_url=None, api_base=fake.base_url
    )
    with pytest.raises(GatewayError) as refused:
        wrong.create_checkout(_request("k1"))
    assert refused.value.retryable is False
    assert "401" in str(refused.value)
    assert "wrong-token" not in str(refused.value)

    fake.fail_with = (429, {"message": "too many requests", "status": 429})
    quick = MercadoPagoGateway(
        ACCESS_TOKEN, notification_url=None, api_base=fake.base_url, retry_delays_s=(0.01,)
    )
    with pytest.raises(GatewayError) as limited:
        quick.get_payment("123")
    assert limited.value.retryable is True
    assert ACCESS_TOKEN not in str(limited.value)
    assert limited.value.__cause__ is None  # the request (with its header) is not chained

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        closed_port = free.getsockname()[1]
    down = MercadoPagoGateway(
        ACCESS_TOKEN,
        notification_url=None,
        api_base=f"http://127.0.0.1:{closed_port}",
        retry_delays_s=(),
    )
    with pytest.raises(GatewayError) as unreachable:
        down.get_payment("123")
    assert unreachable.value.retryable is True
    with pytest.raises(GatewayError):
        down.get_payment("../v1/users/me")  # ids never change the path
