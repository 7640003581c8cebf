"""Stripe webhooks: signed with Stripe's real scheme, posted over real HTTP to the live
server. Each event is processed once, a bad signature stores nothing, and late events
never move a payment backwards."""

from __future__ import annotations

import json
import time

import requests
from sqlalchemy import select

from hablo.db.enums import BookingStatus, PaymentStatus
from hablo.db.models import Invoice, Payment
from hablo.db.models.payments_ledger import WebhookEvent
from tests.api import test_payments
from tests.api.test_payments import Shop, checkout
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


def test_payment_failed_marks_a_pending_payment_failed(shop: Shop) -> None:
    payment = checkout(shop, shop.booking("+5491100000206"))
    intent = {
        "id": "pi_declined",
        "object": "payment_intent",
        "metadata": {"payment_id": payment["id"]},
    }
    event = {
        "id": "evt_declined_1",
        "object": "event",
        "type": "payment_intent.payment_failed",
        "data": {"object": intent},
    }
    assert shop.stripe.post_event(shop.webhook_url, event).status_code == 200
    after = shop.owner.get(f"/api/payments/{payment['id']}").json()
    assert (after["status"], after["failure_reason"]) == ("failed", "declined")


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
