"""MercadoPago Checkout Pro over the API against a fake MercadoPago on 127.0.0.1 (real
HTTP, hablo's own client): preferences, signed notifications whose state is read back
from the API, refunds, and the tenant's keys. The demo tenant has Stripe keys too (the
default provider); `method: "mercadopago"` picks MercadoPago."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from hablo.db.enums import BookingStatus, PaymentStatus, Role
from hablo.db.models import Invoice, Payment, Tenant
from hablo.db.models.payments_ledger import WebhookEvent
from tests.api.support import live_api
from tests.api.test_payments import Shop
from tests.fakes import CollectingSender
from tests.integration.helpers import DeliveredTurns
from tests.providers.fake_mercadopago import ACCESS_TOKEN, WEBHOOK_SECRET, FakeMercadoPago
from tests.providers.fake_stripe import WEBHOOK_SECRET as STRIPE_WEBHOOK_SECRET
from tests.providers.fake_stripe import FakeStripe


@dataclass
class MpShop(Shop):
    mp: FakeMercadoPago

    @property
    def mp_webhook_url(self) -> str:
        return f"{self.api.base_url}/api/webhooks/mercadopago/demo"

    def checkout(self, booking_id: uuid.UUID, owner: Any = None) -> dict[str, Any]:
        r = (owner or self.owner).post(
            "/api/payments/checkout-session",
            json={"booking_id": str(booking_id), "method": "mercadopago"},
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    def paid(self, booking_id: uuid.UUID) -> tuple[dict[str, Any], str]:
        """A checkout the customer paid, the approval notified; MercadoPago's payment id."""
        payment = self.checkout(booking_id)
        mp_id = self.mp.pay(self.payment(payment["id"]).provider_reference or "")
        r = self.mp.notify(self.mp_webhook_url, mp_id)
        assert r.status_code == 200, r.text
        return payment, mp_id


@pytest.fixture
def shop(db_url: str) -> Iterator[MpShop]:
    stripe = FakeStripe().start()
    mp = FakeMercadoPago().start()
    try:
        with live_api(
            db_url,
            stripe_api_base=stripe.base_url,
            stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
            mercadopago_api_base=mp.base_url,
        ) as api:
            sender = CollectingSender("console")
            turns = DeliveredTurns()
            api.runtime.engine.add_sender(sender)
            api.runtime.engine.add_turn_listener(turns)
            owner = api.as_role(Role.OWNER)
            r = owner.put(
                "/api/payments/stripe-keys",
                json={"secret_key": stripe.api_key, "webhook_secret": STRIPE_WEBHOOK_SECRET},
            )
            assert r.status_code == 204, r.text
            r = owner.put(
                "/api/payments/mercadopago-keys",
                json={"access_token": ACCESS_TOKEN, "webhook_secret": WEBHOOK_SECRET},
            )
            assert r.status_code == 204, r.text
            yield MpShop(api, stripe, sender, turns, owner, mp)
    finally:
        mp.stop()
        stripe.stop()


def test_checkout_makes_a_preference_and_returns_its_link(shop: MpShop) -> None:
    booking_id = shop.booking("+5491100000301")
    payment = shop.checkout(booking_id)

    assert (payment["method"], payment["status"]) == ("mercadopago", "pending")
    assert payment["amount_minor"] == shop.price_of(booking_id)
    assert payment["checkout_expires_at"] is not None
    (preference,) = shop.mp.preferences.values()
    assert payment["checkout_url"] == preference["init_point"]
    assert shop.payment(payment["id"]).provider_reference == preference["id"]
    sent = shop.mp.requests[-1]
    assert sent["path"] == "/checkout/preferences"
    assert sent["idempotency_key"] == f"checkout:{payment['id']}"
    body = sent["body"]
    assert body["external_reference"] == payment["id"]
    assert body["metadata"]["payment_id"] == payment["id"]
    assert body["metadata"]["booking_id"] == str(booking_id)
    assert body["metadata"]["tenant_id"] == str(shop.api.tenant_id())
    (item,) = body["items"]
    # ARS has 2 decimals: MercadoPago gets major units, exactly.
    assert item["currency_id"] == "ARS"
    assert Decimal(str(item["unit_price"])) * 100 == payment["amount_minor"]
    assert item["quantity"] == 1
    assert body["notification_url"].endswith("/api/webhooks/mercadopago/demo")
    assert body["back_urls"]["success"].endswith("/payments/thanks")
    assert body["expires"] is True and body["expiration_date_to"]
    # While the link is open the same payment comes back; MercadoPago is not asked again.
    again = shop.checkout(booking_id)
    assert again["id"] == payment["id"]
    assert len(shop.mp.preferences) == 1
    # Without `method` the demo tenant's default (Stripe, whose keys are set) is used.
    r = shop.owner.post(
        "/api/payments/checkout-session", json={"booking_id": str(shop.booking("+5491100000302"))}
    )
    assert r.status_code == 201 and r.json()["method"] == "stripe"
    r = shop.owner.post(
        "/api/payments/checkout-session", json={"booking_id": str(booking_id), "method": "cash"}
    )
    assert r.status_code == 422


def test_approved_twice_completes_once_confirms_and_invoices(shop: MpShop) -> None:
    peer = "+5491100000311"
    booking_id = shop.booking(peer)
    payment = shop.checkout(booking_id)
    mp_id = shop.mp.pay(shop.payment(payment["id"]).provider_reference or "")

    first = shop.mp.notify(shop.mp_webhook_url, mp_id, action="payment.created")
    again = shop.mp.notify(shop.mp_webhook_url, mp_id, action="payment.updated")

    assert first.status_code == 200, first.text
    assert first.json() == {"received": True, "duplicate": False, "handled": True}
    assert again.status_code == 200 and again.json()["duplicate"] is True
    stored = shop.payment(payment["id"])
    assert stored.status == PaymentStatus.COMPLETED
    assert stored.details["mercadopago_payment_id"] == mp_id
    assert shop.booking_status(booking_id) == BookingStatus.CONFIRMED
    assert shop.count(Invoice) == 1
    tenant_id = shop.api.tenant_id()
    with shop.api.runtime.db.transaction() as session:
        (event,) = session.scalars(select(WebhookEvent)).all()
        assert (event.provider, event.event_type) == ("mercadopago", "payment.approved")
        assert event.tenant_id == tenant_id
        assert "payer" not in event.payload["payment"]  # the buyer's data is not kept
    messages = shop.confirmations_to(peer, 1)
    time.sleep(0.5)  # a second (wrong) message would be in the outbox by now
    assert len(shop.confirmations_to(peer, 1)) == len(messages) == 1


def test_bad_signatures_are_400_and_store_nothing(shop: MpShop) -> None:
    payment = shop.checkout(shop.booking("+5491100000321"))
    mp_id = shop.mp.pay(shop.payment(payment["id"]).provider_reference or "")
    url = shop.mp_webhook_url
    refused = [
        shop.mp.notify(url, mp_id, secret="not-the-secret-of-this-account"),
        shop.mp.notify(url, mp_id, signature=""),  # no header at all
        shop.mp.notify(url, mp_id, signature="ts=1,v1=" + "0" * 64),
        shop.mp.notify(url, mp_id, signature="garbage"),
        # Correctly signed, but a day ago: a captured notification replayed.
        shop.mp.notify(url, mp_id, signed_at=time.time() - 86400),
        # The signature covers another payment id than the one in the body.
        shop.mp.notify(url, mp_id, query_id="999"),
        shop.mp.notify(f"{shop.api.base_url}/api/webhooks/mercadopago/nobody", mp_id),
        # The other tenant has no MercadoPago secret: nothing verifies there.
        shop.mp.notify(f"{shop.api.base_url}/api/webhooks/mercadopago/other", mp_id),
    ]
    assert [r.status_code for r in refused] == [400] * len(refused)
    assert refused[0].json()["error"]["code"] == "bad_signature"
    assert shop.count(WebhookEvent) == 0
    assert shop.payment(payment["id"]).status == PaymentStatus.PENDING
    # Nothing was read from MercadoPago for a notification that did not verify.
    assert not [r for r in shop.mp.requests if r["method"] == "GET"]


def test_rejected_fails_and_a_later_approval_of_the_same_link_completes(shop: MpShop) -> None:
    booking_id = shop.booking("+5491100000331")
    payment = shop.checkout(booking_id)
    preference = shop.payment(payment["id"]).provider_reference or ""
    rejected = shop.mp.pay(preference, "rejected", "cc_rejected_insufficient_amount")

    r = shop.mp.notify(shop.mp_webhook_url, rejected)
    assert r.status_code == 200 and r.json()["handled"] is True
    failed = shop.owner.get(f"/api/payments/{payment['id']}").json()
    assert (failed["status"], failed["failure_reason"]) == (
        "failed",
        "cc_rejected_insufficient_amount",
    )
    assert shop.booking_status(booking_id) == BookingStatus.PENDING
    # MercadoPago lets the buyer try another card on the same link.
    approved = shop.mp.pay(preference)
    assert shop.mp.notify(shop.mp_webhook_url, approved).status_code == 200
    assert shop.payment(payment["id"]).status == PaymentStatus.COMPLETED
    # A late copy of the rejection changes nothing now.
    assert shop.mp.notify(shop.mp_webhook_url, rejected).json()["duplicate"] is True
    assert shop.payment(payment["id"]).status == PaymentStatus.COMPLETED
    assert shop.booking_status(booking_id) == BookingStatus.CONFIRMED


def test_a_short_payment_never_confirms_the_booking(shop: MpShop) -> None:
    booking_id = shop.booking("+5491100000332")
    payment = shop.checkout(booking_id)
    short = Decimal(payment["amount_minor"] - 1) / 100
    mp_id = shop.mp.pay(shop.payment(payment["id"]).provider_reference or "", amount=short)
    assert shop.mp.notify(shop.mp_webhook_url, mp_id).status_code == 200
    assert shop.payment(payment["id"]).status == PaymentStatus.PENDING
    assert shop.booking_status(booking_id) == BookingStatus.PENDING
    assert shop.count(Invoice) == 0


def test_full_refund_through_the_api_then_the_notification(shop: MpShop) -> None:
    payment, mp_id = shop.paid(shop.booking("+5491100000341"))
    amount = payment["amount_minor"]

    r = shop.owner.post(f"/api/payments/{payment['id']}/refund", json={})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "completed"  # the state follows the notification
    refund_call = shop.mp.requests[-1]
    assert refund_call["path"] == f"/v1/payments/{mp_id}/refunds"
    assert Decimal(str(refund_call["body"]["amount"])) * 100 == amount
    assert refund_call["idempotency_key"] == f"refund:{payment['id']}:0"

    assert shop.mp.notify(shop.mp_webhook_url, mp_id).status_code == 200
    after = shop.owner.get(f"/api/payments/{payment['id']}").json()
    assert (after["status"], after["refunded_minor"]) == ("refunded", amount)
    assert shop.owner.post(f"/api/payments/{payment['id']}/refund", json={}).status_code == 409


def test_partial_refunds_add_up(shop: MpShop) -> None:
    payment, mp_id = shop.paid(shop.booking("+5491100000342"))
    amount = payment["amount_minor"]
    part = amount // 3

    r = shop.owner.post(f"/api/payments/{payment['id']}/refund", json={"amount_minor": part})
    assert r.status_code == 202, r.text
    assert shop.mp.notify(shop.mp_webhook_url, mp_id).status_code == 200
    after = shop.owner.get(f"/api/payments/{payment['id']}").json()
    assert (after["status"], after["refunded_minor"]) == ("partially_refunded", part)

    r = shop.owner.post(f"/api/payments/{payment['id']}/refund", json={})
    assert r.status_code == 202, r.text
    assert Decimal(str(shop.mp.refunds[-1]["amount"])) * 100 == amount - part
    assert shop.mp.notify(shop.mp_webhook_url, mp_id).status_code == 200
    after = shop.owner.get(f"/api/payments/{payment['id']}").json()
    assert (after["status"], after["refunded_minor"]) == ("refunded", amount)
    assert shop.count(Invoice) == 1


def test_mercadopago_down_is_502_and_nothing_is_kept(shop: MpShop) -> None:
    booking_id = shop.booking("+5491100000351")
    shop.mp.fail_with = (503, {"message": "service unavailable", "status": 503})
    r = shop.owner.post(
        "/api/payments/checkout-session",
        json={"booking_id": str(booking_id), "method": "mercadopago"},
    )
    assert r.status_code == 502
    assert r.json()["error"]["code"] == "payment_provider_error"
    assert ACCESS_TOKEN not in r.text
    assert shop.count(Payment) == 0
    shop.mp.fail_with = None
    payment = shop.checkout(booking_id)
    mp_id = shop.mp.pay(shop.payment(payment["id"]).provider_reference or "")
    # While MercadoPago cannot be read the notification is refused, so it is retried.
    shop.mp.fail_with = (500, {"message": "internal error", "status": 500})
    assert shop.mp.notify(shop.mp_webhook_url, mp_id).status_code == 502
    assert shop.count(WebhookEvent) == 0
    shop.mp.fail_with = None
    assert shop.mp.notify(shop.mp_webhook_url, mp_id).status_code == 200
    assert shop.payment(payment["id"]).status == PaymentStatus.COMPLETED


def test_keys_are_sealed_owner_only_and_a_mercadopago_only_tenant_uses_it(
    shop: MpShop,
) -> None:
    with shop.api.runtime.db.transaction() as session:
        stored = str(session.scalars(select(Tenant).where(Tenant.slug == "demo")).one().settings)
    assert ACCESS_TOKEN not in stored and WEBHOOK_SECRET not in stored
    assert "access_token_sealed" in stored
    keys = {"access_token": ACCESS_TOKEN, "webhook_secret": WEBHOOK_SECRET}
    r = shop.api.as_role(Role.ADMIN).put("/api/payments/mercadopago-keys", json=keys)
    assert r.status_code == 403
    r = shop.owner.put(
        "/api/payments/mercadopago-keys", json={"access_token": "sk_test_x", "webhook_secret": "x"}
    )
    assert r.status_code == 422

    # "other" has only MercadoPago keys: its checkout links are MercadoPago's by default.
    other = shop.api.as_role(Role.OWNER, tenant="other")
    assert other.put("/api/payments/mercadopago-keys", json=keys).status_code == 204
    booking_id = shop.booking("+5491100000361", tenant="other")
    r = other.post("/api/payments/checkout-session", json={"booking_id": str(booking_id)})
    assert r.status_code == 201, r.text
    assert r.json()["method"] == "mercadopago"
    assert shop.mp.requests[-1]["body"]["notification_url"].endswith(
        "/api/webhooks/mercadopago/other"
    )
    # Its notifications go to its own endpoint; the demo tenant's endpoint does not know
    # the payment (another tenant's payment id is never matched).
    mp_id = shop.mp.pay(shop.payment(r.json()["id"]).provider_reference or "")
    assert shop.mp.notify(shop.mp_webhook_url, mp_id).status_code == 200
    assert shop.payment(r.json()["id"]).status == PaymentStatus.PENDING
    other_url = f"{shop.api.base_url}/api/webhooks/mercadopago/other"
    assert shop.mp.notify(other_url, mp_id).status_code == 200
    assert shop.payment(r.json()["id"]).status == PaymentStatus.COMPLETED
