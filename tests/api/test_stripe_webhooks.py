"""Stripe webhooks: signed with Stripe's real scheme, posted over real HTTP to the live
server. Each event is processed once, a bad signature stores nothing, and late events
never move a payment backwards."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
import requests
from sqlalchemy import select

from hablo.db.enums import BookingStatus, PaymentStatus
from hablo.db.models import Invoice, Payment, Tenant
from hablo.db.models.payments_ledger import WebhookEvent
from hablo.payments.stripe_gateway import StripeGateway
from tests.api import test_payments
from tests.api.test_payments import Shop, checkout, paid
from tests.providers.fake_stripe import WEBHOOK_SECRET, sign

shop = test_payments.shop  # the same live server + fake Stripe fixture


def session_of(shop: Shop, payment_id: str) -> str:
    return shop.payment(payment_id).provider_reference or ""


def test_completed_twice_confirms_once_and_tells_the_customer_once(shop: Shop) -> None:
    peer = "+5491100000201"
    booking_id = shop.booking(peer)
    payment = checkout(shop, booking_id)
    event = shop.stripe.complete(session_of(shop, payment["id"]))

    first = shop.stripe.post_event(shop.webhook_url, event)
    again = shop.stripe.post_event(shop.webhook_url, event)

    assert first.status_code == 200, first.text
    assert first.json() == {"received": True, "duplicate": False, "handled": True}
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    stored = shop.payment(payment["id"])
    assert stored.status == PaymentStatus.COMPLETED
    assert stored.details["payment_intent"].startswith("pi_")
    assert shop.booking_status(booking_id) == BookingStatus.CONFIRMED
    assert shop.count(WebhookEvent) == 1
    assert shop.count(Invoice) == 1
    messages = shop.confirmations_to(peer, 1)
    time.sleep(0.5)  # a second (wrong) message would be in the outbox by now
    assert shop.confirmations_to(peer, 1) == messages
    assert len(messages) == 1
    assert "confirmada" in messages[0]


def test_platform_endpoint_finds_the_tenant_from_the_metadata(shop: Shop) -> None:
    booking_id = shop.booking("+5491100000202")
    payment = checkout(shop, booking_id)
    event = shop.stripe.complete(session_of(shop, payment["id"]))
    r = shop.stripe.post_event(f"{shop.api.base_url}/api/webhooks/stripe", event)
    assert r.status_code == 200, r.text
    assert shop.payment(payment["id"]).status == PaymentStatus.COMPLETED
    assert shop.booking_status(booking_id) == BookingStatus.CONFIRMED


def test_expired_session_fails_the_payment_and_the_next_request_gets_a_new_link(
    shop: Shop,
) -> None:
    booking_id = shop.booking("+5491100000203")
    payment = checkout(shop, booking_id)
    event = shop.stripe.expire(session_of(shop, payment["id"]))
    assert shop.stripe.post_event(shop.webhook_url, event).status_code == 200

    expired = shop.owner.get(f"/api/payments/{payment['id']}").json()
    assert (expired["status"], expired["failure_reason"]) == ("failed", "expired")
    assert shop.booking_status(booking_id) == BookingStatus.PENDING
    fresh = checkout(shop, booking_id)
    assert fresh["id"] != payment["id"]
    assert fresh["checkout_url"] != payment["checkout_url"]
    assert fresh["status"] == "pending"


def test_bad_signatures_are_400_and_store_nothing(shop: Shop) -> None:
    payment = checkout(shop, shop.booking("+5491100000204"))
    event = shop.stripe.complete(session_of(shop, payment["id"]))
    payload = json.dumps(event)
    url = shop.webhook_url
    attempts = {
        "no header": {},
        "wrong secret": {"Stripe-Signature": sign(payload, "whsec_someoneElsesSecret")},
        "stale": {"Stripe-Signature": sign(payload, WEBHOOK_SECRET, int(time.time()) - 3600)},
        "garbage": {"Stripe-Signature": "t=1,v1=deadbeef"},
    }
    for name, headers in attempts.items():
        r = requests.post(
            url,
            data=payload,
            headers={"Content-Type": "application/json", **headers},
            timeout=30,
        )
        assert r.status_code == 400, name
        assert r.json()["error"]["code"] == "bad_signature", name
    # Signed, then tampered with.
    tampered = payload.replace('"paid"', '"unpaid"')
    r = requests.post(
        url,
        data=tampered,
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload)},
        timeout=30,
    )
    assert r.status_code == 400
    # An unknown tenant looks the same as a bad signature.
    r = shop.stripe.post_event(f"{shop.api.base_url}/api/webhooks/stripe/nobody", event)
    assert r.status_code == 400
    assert shop.count(WebhookEvent) == 0
    assert shop.payment(payment["id"]).status == PaymentStatus.PENDING


def test_signed_bodies_that_are_not_events_are_400(shop: Shop) -> None:
    """A valid signature over `[]`, a scalar or deeply nested JSON: a 400, not a 500."""
    for payload in ("[]", "42", '"x"', "[" * 3000 + "]" * 3000, "{nope"):
        r = requests.post(
            shop.webhook_url,
            data=payload,
            headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload)},
            timeout=30,
        )
        assert r.status_code == 400, (payload[:10], r.text)
        assert r.json()["error"]["code"] == "bad_event", payload[:10]
    assert shop.count(WebhookEvent) == 0


def test_expired_after_completed_does_not_regress(shop: Shop) -> None:
    booking_id = shop.booking("+5491100000205")
    payment = checkout(shop, booking_id)
    reference = session_of(shop, payment["id"])
    expired = shop.stripe.expire(reference)
    completed = shop.stripe.complete(reference)
    failed = dict(expired, id="evt_failed_late", type="payment_intent.payment_failed")

    assert shop.stripe.post_event(shop.webhook_url, completed).status_code == 200
    assert shop.stripe.post_event(shop.webhook_url, expired).status_code == 200
    assert shop.stripe.post_event(shop.webhook_url, failed).status_code == 200

    assert shop.payment(payment["id"]).status == PaymentStatus.COMPLETED
    assert shop.booking_status(booking_id) == BookingStatus.CONFIRMED
    assert shop.count(WebhookEvent) == 3


def declined(payment_id: str, event_id: str = "evt_declined_1") -> dict[str, Any]:
    """The `payment_intent.payment_failed` Stripe sends when a card is declined on the
    (still open) Checkout page."""
    intent = {
        "id": "pi_declined",
        "object": "payment_intent",
        "metadata": {"payment_id": payment_id},
        "last_payment_error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
        },
    }
    return {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.payment_failed",
        "data": {"object": intent},
    }


def test_a_declined_card_keeps_the_payment_and_its_link(shop: Shop) -> None:
    """The Checkout page stays payable after a decline: a new link would let the customer
    pay twice, so the next request gets the same payment and link."""
    peer = "+5491100000206"
    booking_id = shop.booking(peer)
    payment = checkout(shop, booking_id)
    assert shop.stripe.post_event(shop.webhook_url, declined(payment["id"])).status_code == 200

    after = shop.owner.get(f"/api/payments/{payment['id']}").json()
    assert (after["status"], after["failure_reason"]) == ("pending", None)
    last_error = shop.payment(payment["id"]).details["last_error"]
    assert (last_error["reason"], last_error["code"]) == ("declined", "insufficient_funds")
    again = checkout(shop, booking_id)
    assert (again["id"], again["checkout_url"]) == (payment["id"], payment["checkout_url"])
    assert len(shop.stripe.sessions) == 1

    # The customer tries another card on the same page.
    event = shop.stripe.complete(session_of(shop, payment["id"]))
    assert shop.stripe.post_event(shop.webhook_url, event).status_code == 200
    assert shop.payment(payment["id"]).status == PaymentStatus.COMPLETED
    assert shop.booking_status(booking_id) == BookingStatus.CONFIRMED
    assert shop.count(Invoice) == 1
    assert len(shop.confirmations_to(peer, 1)) == 1


def test_a_second_payment_of_a_paid_booking_is_kept_as_a_duplicate_to_refund(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    """Stripe reports a late success of an expired session after the booking was paid
    through a new one: the money was taken, so the payment is completed, but the booking
    is not confirmed, invoiced, announced or counted again."""
    peer = "+5491100000207"
    booking_id = shop.booking(peer)
    first = checkout(shop, booking_id)
    expired = shop.stripe.expire(session_of(shop, first["id"]))
    assert shop.stripe.post_event(shop.webhook_url, expired).status_code == 200
    second = paid(shop, booking_id)
    amount = second["amount_minor"]
    assert len(shop.confirmations_to(peer, 1)) == 1

    late = shop.stripe.complete(session_of(shop, first["id"]))
    with caplog.at_level(logging.WARNING, logger="hablo.payments.service"):
        r = shop.stripe.post_event(shop.webhook_url, late)
    assert r.status_code == 200, r.text

    duplicate = shop.payment(first["id"])
    assert duplicate.status == PaymentStatus.COMPLETED
    assert duplicate.details["duplicate_of"] == second["id"]
    assert shop.payment(second["id"]).status == PaymentStatus.COMPLETED
    assert "duplicate_of" not in shop.payment(second["id"]).details
    assert any(first["id"] in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert shop.count(Invoice) == 1
    assert shop.contact_total(booking_id) == amount
    time.sleep(0.5)  # a second (wrong) message would be in the outbox by now
    assert len(shop.confirmations_to(peer, 1)) == 1

    # Staff refund the duplicate: the contact's total is still the one real payment.
    r = shop.owner.post(f"/api/payments/{first['id']}/refund", json={})
    assert r.status_code == 202, r.text
    refunded = shop.stripe.charge_refunded(duplicate.details["payment_intent"])
    assert shop.stripe.post_event(shop.webhook_url, refunded).status_code == 200
    assert shop.payment(first["id"]).status == PaymentStatus.REFUNDED
    assert shop.contact_total(booking_id) == amount


@pytest.mark.parametrize("with_metadata", [True, False], ids=["metadata", "no-metadata"])
@pytest.mark.parametrize("refund_first", [True, False], ids=["refund-first", "completed-first"])
def test_a_refund_ends_the_same_whichever_event_comes_first(
    shop: Shop, refund_first: bool, with_metadata: bool
) -> None:
    """`charge.refunded` may overtake `checkout.session.completed`. The charge carries the
    payment intent's metadata (Stripe copies it) or, at worst, only the intent id."""
    peer = "+5491100000208"
    booking_id = shop.booking(peer)
    payment = checkout(shop, booking_id)
    amount = payment["amount_minor"]
    part = amount // 4
    completed = shop.stripe.complete(session_of(shop, payment["id"]))
    intent = completed["data"]["object"]["payment_intent"]
    gateway = StripeGateway(shop.stripe.api_key, api_base=shop.stripe.base_url)
    gateway.refund(intent, part, idempotency_key="dashboard-refund-1")  # from the dashboard
    refunded = shop.stripe.charge_refunded(intent)
    if with_metadata:
        refunded["data"]["object"]["metadata"] = completed["data"]["object"]["metadata"]

    for event in [refunded, completed] if refund_first else [completed, refunded]:
        r = shop.stripe.post_event(shop.webhook_url, event)
        assert r.status_code == 200, r.text

    stored = shop.payment(payment["id"])
    assert (stored.status, stored.refunded_minor) == (PaymentStatus.PARTIALLY_REFUNDED, part)
    assert shop.booking_status(booking_id) == BookingStatus.CONFIRMED
    assert shop.count(Invoice) == 1
    assert shop.contact_total(booking_id) == amount - part
    assert len(shop.confirmations_to(peer, 1)) == 1


def test_bad_invoicing_settings_do_not_keep_a_paid_booking_unconfirmed(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    peer = "+5491100000209"
    booking_id = shop.booking(peer)
    payment = checkout(shop, booking_id)
    with shop.api.runtime.db.transaction() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == "demo")).one()
        tenant.settings = {**tenant.settings, "invoicing": {"tax_rate_percent": "lots"}}
    event = shop.stripe.complete(session_of(shop, payment["id"]))

    with caplog.at_level(logging.ERROR, logger="hablo.payments.service"):
        r = shop.stripe.post_event(shop.webhook_url, event)
    assert r.status_code == 200, r.text

    stored = shop.payment(payment["id"])
    assert stored.status == PaymentStatus.COMPLETED
    assert "tax_rate_percent" in stored.details["invoice_error"]
    assert shop.booking_status(booking_id) == BookingStatus.CONFIRMED
    assert shop.count(Invoice) == 0
    assert shop.contact_total(booking_id) == payment["amount_minor"]
    assert len(shop.confirmations_to(peer, 1)) == 1
    (logged,) = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert payment["id"] in logged and "tax_rate_percent" in logged
    assert shop.stripe.api_key not in logged and WEBHOOK_SECRET not in logged


def test_unknown_event_types_are_acknowledged_and_recorded(shop: Shop) -> None:
    event = {"id": "evt_other_1", "object": "event", "type": "customer.created", "data": {}}
    r = shop.stripe.post_event(shop.webhook_url, event)
    assert r.status_code == 200
    assert r.json() == {"received": True, "duplicate": False, "handled": False}
    tenant_id = shop.api.tenant_id()
    with shop.api.runtime.db.transaction() as session:
        row = session.scalars(select(WebhookEvent)).one()
        assert (row.event_id, row.event_type) == ("evt_other_1", "customer.created")
        assert row.tenant_id == tenant_id
    assert shop.count(Payment) == 0
