"""Payments over the API against a fake Stripe on 127.0.0.1 (real HTTP, the official
`stripe` package as the client): checkout links, refunds, cash, keys, isolation. Bookings
belong to a real conversation started through the engine (console channel), so the
confirmation message can be checked where the customer would see it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from hablo.config import Settings
from hablo.db.enums import BookingStatus, Role
from hablo.db.models import Booking, Contact, Conversation, Payment, Service, Tenant
from hablo.db.models.payments_ledger import WebhookEvent
from hablo.payments.checkout import CheckoutConfig
from hablo.payments.gateway import CheckoutRequest, GatewayError, LineItem
from hablo.payments.stripe_gateway import StripeGateway
from tests.api.support import Api, Client, live_api
from tests.fakes import CollectingSender
from tests.integration.helpers import DeliveredTurns, add_pending_paid_booking, inbound
from tests.providers.fake_stripe import DEFAULT_KEY, WEBHOOK_SECRET, FakeStripe

CONFIRMATION_ES = "Pago recibido"


@dataclass
class Shop:
    """A live server wired to the fake Stripe, the demo tenant's keys set."""

    api: Api
    stripe: FakeStripe
    sender: CollectingSender
    turns: DeliveredTurns
    owner: Client

    @property
    def webhook_url(self) -> str:
        return f"{self.api.base_url}/api/webhooks/stripe/demo"

    def booking(self, peer: str, tenant: str = "demo", day: int = 3) -> uuid.UUID:
        """A pending booking in a conversation the customer started with "hola"."""
        tenant_id = self.api.tenant_id(tenant)
        result = self.api.runtime.engine.submit(inbound(tenant_id, "hola", peer=peer))
        self.turns.wait_for([result.inbox_id], timeout=120)
        starts = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(
            days=day, hours=int(peer[-2:]) % 8
        )
        with self.api.runtime.db.transaction() as session:
            conversation = session.scalars(
                select(Conversation).where(
                    Conversation.tenant_id == tenant_id, Conversation.peer == peer
                )
            ).one()
            return add_pending_paid_booking(
                session, tenant_id, conversation.contact_id, conversation.id, starts
            )

    def price_of(self, booking_id: uuid.UUID) -> int:
        with self.api.runtime.db.transaction() as session:
            booking = session.get(Booking, booking_id)
            assert booking is not None
            service = session.get(Service, booking.service_id)
            assert service is not None
            return service.price_minor

    def payment(self, payment_id: str) -> Payment:
        with self.api.runtime.db.transaction() as session:
            found = session.get(Payment, uuid.UUID(payment_id))
            assert found is not None
            session.expunge(found)
            return found

    def booking_status(self, booking_id: uuid.UUID) -> BookingStatus:
        with self.api.runtime.db.transaction() as session:
            booking = session.get(Booking, booking_id)
            assert booking is not None
            return booking.status

    def contact_total(self, booking_id: uuid.UUID) -> int:
        """What the booking's customer has spent, as counted on the contact."""
        with self.api.runtime.db.transaction() as session:
            booking = session.get_one(Booking, booking_id)
            return session.get_one(Contact, booking.contact_id).total_spent_minor or 0

    def count(self, model: Any) -> int:
        with self.api.runtime.db.transaction() as session:
            return len(session.scalars(select(model)).all())

    def confirmations_to(self, peer: str, expected: int, timeout: float = 15.0) -> list[str]:
        """The confirmation messages the customer got, once `expected` arrived (or all
        there are at the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [t for t in self.sender.texts_for(peer) if CONFIRMATION_ES in t]
            if len(found) >= expected or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def set_mode(self, mode: dict[str, Any]) -> None:
        with self.api.runtime.db.transaction() as session:
            tenant = session.scalars(select(Tenant).where(Tenant.slug == "demo")).one()
            settings = dict(tenant.settings or {})
            settings["payments"] = {**(settings.get("payments") or {}), **mode}
            tenant.settings = settings


@pytest.fixture
def shop(db_url: str) -> Iterator[Shop]:
    stripe = FakeStripe().start()
    try:
        with live_api(
            db_url, stripe_api_base=stripe.base_url, stripe_webhook_secret=WEBHOOK_SECRET
        ) as api:
            sender = CollectingSender("console")
            turns = DeliveredTurns()
            api.runtime.engine.add_sender(sender)
            api.runtime.engine.add_turn_listener(turns)
            owner = api.as_role(Role.OWNER)
            r = owner.put(
                "/api/payments/stripe-keys",
                json={"secret_key": stripe.api_key, "webhook_secret": WEBHOOK_SECRET},
            )
            assert r.status_code == 204, r.text
            yield Shop(api, stripe, sender, turns, owner)
    finally:
        stripe.stop()


def checkout(shop: Shop, booking_id: uuid.UUID) -> dict[str, Any]:
    r = shop.owner.post("/api/payments/checkout-session", json={"booking_id": str(booking_id)})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def paid(shop: Shop, booking_id: uuid.UUID) -> dict[str, Any]:
    """A checkout the customer paid (webhook delivered)."""
    payment = checkout(shop, booking_id)
    event = shop.stripe.complete(shop.payment(payment["id"]).provider_reference or "")
    assert shop.stripe.post_event(shop.webhook_url, event).status_code == 200
    return payment


# --- checkout -----------------------------------------------------------------------


def test_checkout_creates_a_pending_payment_with_the_stripe_link(shop: Shop) -> None:
    booking_id = shop.booking("+5491100000101")
    payment = checkout(shop, booking_id)

    assert payment["status"] == "pending"
    assert payment["method"] == "stripe"
    assert payment["amount_minor"] == shop.price_of(booking_id)
    assert payment["checkout_url"].startswith("https://checkout.stripe.test/c/pay/cs_test_")
    assert payment["checkout_expires_at"] is not None
    sent = shop.stripe.requests[-1]
    assert sent["idempotency_key"] == f"checkout:{payment['id']}"
    assert sent["params"]["metadata"]["payment_id"] == payment["id"]
    assert sent["params"]["metadata"]["booking_id"] == str(booking_id)
    assert sent["params"]["line_items"][0]["price_data"]["unit_amount"] == str(
        payment["amount_minor"]
    )
    # While the link is open the same payment and link come back; Stripe is not asked again.
    again = checkout(shop, booking_id)
    assert again["id"] == payment["id"]
    assert again["checkout_url"] == payment["checkout_url"]
    assert len(shop.stripe.sessions) == 1


def test_deposit_mode_charges_the_configured_share(shop: Shop) -> None:
    shop.set_mode({"mode": "deposit", "deposit_percent": 30})
    booking_id = shop.booking("+5491100000102")
    payment = checkout(shop, booking_id)
    price = shop.price_of(booking_id)
    assert payment["amount_minor"] == (price * 30 + 50) // 100


def test_checkout_refused_when_payments_are_off_or_stripe_is_not_set(shop: Shop) -> None:
    booking_id = shop.booking("+5491100000103")
    shop.set_mode({"mode": "none"})
    r = shop.owner.post("/api/payments/checkout-session", json={"booking_id": str(booking_id)})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict"
    assert shop.count(Payment) == 0


def test_checkout_for_an_unknown_booking_is_404(shop: Shop) -> None:
    r = shop.owner.post("/api/payments/checkout-session", json={"booking_id": str(uuid.uuid4())})
    assert r.status_code == 404
    r = shop.owner.post("/api/payments/checkout-session", json={"booking_id": "nope"})
    assert r.status_code == 422


def test_stripe_keys_are_stored_sealed_and_never_returned(shop: Shop) -> None:
    with shop.api.runtime.db.transaction() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == "demo")).one()
        stored = str(tenant.settings)
    assert shop.stripe.api_key not in stored
    assert WEBHOOK_SECRET not in stored
    assert "secret_key_sealed" in stored
    r = shop.api.as_role(Role.ADMIN).put(
        "/api/payments/stripe-keys",
        json={"secret_key": shop.stripe.api_key, "webhook_secret": WEBHOOK_SECRET},
    )
    assert r.status_code == 403
    r = shop.owner.put(
        "/api/payments/stripe-keys", json={"secret_key": "nope", "webhook_secret": "x"}
    )
    assert r.status_code == 422
    assert "nope" not in r.text or "pattern" in r.text


# --- refunds ------------------------------------------------------------------------


def test_full_refund_goes_through_stripe_and_follows_the_webhook(shop: Shop) -> None:
    booking_id = shop.booking("+5491100000111")
    payment = paid(shop, booking_id)
    amount = payment["amount_minor"]

    r = shop.owner.post(f"/api/payments/{payment['id']}/refund", json={})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "completed"  # the state follows the webhook
    assert shop.stripe.refunds[-1]["amount"] == amount

    intent = shop.payment(payment["id"]).details["payment_intent"]
    event = shop.stripe.charge_refunded(intent)
    assert shop.stripe.post_event(shop.webhook_url, event).status_code == 200
    after = shop.owner.get(f"/api/payments/{payment['id']}").json()
    assert after["status"] == "refunded"
    assert after["refunded_minor"] == amount
    # Nothing left to refund.
    r = shop.owner.post(f"/api/payments/{payment['id']}/refund", json={})
    assert r.status_code == 409


def test_partial_refunds_add_up_and_never_exceed_the_payment(shop: Shop) -> None:
    booking_id = shop.booking("+5491100000112")
    payment = paid(shop, booking_id)
    amount = payment["amount_minor"]
    part = amount // 3
    intent = shop.payment(payment["id"]).details["payment_intent"]

    r = shop.owner.post(f"/api/payments/{payment['id']}/refund", json={"amount_minor": part})
    assert r.status_code == 202, r.text
    first_event = shop.stripe.charge_refunded(intent)
    r = shop.owner.post(
        f"/api/payments/{payment['id']}/refund", json={"amount_minor": amount - part + 1}
    )
    assert r.status_code == 409
    assert r.json()["error"]["details"]["refundable_minor"] == amount - part

    r = shop.owner.post(f"/api/payments/{payment['id']}/refund", json={"amount_minor": part})
    assert r.status_code == 202
    second_event = shop.stripe.charge_refunded(intent)
    # Delivered out of order: the later (larger) total wins, the older one changes nothing.
    assert shop.stripe.post_event(shop.webhook_url, second_event).status_code == 200
    assert shop.stripe.post_event(shop.webhook_url, first_event).status_code == 200
    after = shop.owner.get(f"/api/payments/{payment['id']}").json()
    assert after["status"] == "partially_refunded"
    assert after["refunded_minor"] == 2 * part


def test_refund_of_a_pending_payment_is_409_and_admins_may_not_refund(shop: Shop) -> None:
    payment = checkout(shop, shop.booking("+5491100000113"))
    r = shop.owner.post(f"/api/payments/{payment['id']}/refund", json={})
    assert r.status_code == 409
    assert shop.stripe.refunds == []
    r = shop.api.as_role(Role.ADMIN).post(f"/api/payments/{payment['id']}/refund", json={})
    assert r.status_code == 403


# --- cash ---------------------------------------------------------------------------


def test_cash_payment_completes_and_confirms_the_booking(shop: Shop) -> None:
    peer = "+5491100000121"
    booking_id = shop.booking(peer)
    r = shop.owner.post(
        "/api/payments/cash", json={"booking_id": str(booking_id), "amount_minor": 1500}
    )
    assert r.status_code == 201, r.text
    payment = r.json()
    assert (payment["method"], payment["status"], payment["amount_minor"]) == (
        "cash",
        "completed",
        1500,
    )
    assert shop.booking_status(booking_id) == BookingStatus.CONFIRMED
    assert len(shop.confirmations_to(peer, 1)) == 1
    # Paid already: neither more cash nor a checkout link.
    r = shop.owner.post(
        "/api/payments/cash", json={"booking_id": str(booking_id), "amount_minor": 1500}
    )
    assert r.status_code == 409
    r = shop.owner.post("/api/payments/checkout-session", json={"booking_id": str(booking_id)})
    assert r.status_code == 409
    r = shop.owner.post(
        "/api/payments/cash", json={"booking_id": str(booking_id), "amount_minor": 0}
    )
    assert r.status_code == 422


# --- reading and isolation ----------------------------------------------------------


def test_list_filters_and_detail(shop: Shop) -> None:
    cash_booking = shop.booking("+5491100000131")
    stripe_booking = shop.booking("+5491100000132")
    shop.owner.post(
        "/api/payments/cash", json={"booking_id": str(cash_booking), "amount_minor": 900}
    )
    pending = checkout(shop, stripe_booking)

    everything = shop.owner.get("/api/payments").json()
    assert everything["total"] == 2
    only_cash = shop.owner.get("/api/payments", params={"method": "cash"}).json()
    assert [p["amount_minor"] for p in only_cash["items"]] == [900]
    only_pending = shop.owner.get("/api/payments", params={"status": "pending"}).json()
    assert [p["id"] for p in only_pending["items"]] == [pending["id"]]
    by_booking = shop.owner.get("/api/payments", params={"booking_id": str(stripe_booking)})
    assert by_booking.json()["total"] == 1
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    later = shop.owner.get("/api/payments", params={"created_from": future}).json()
    assert later["total"] == 0
    assert shop.owner.get("/api/payments", params={"status": "bogus"}).status_code == 422
    assert shop.owner.get(f"/api/payments/{pending['id']}").json()["id"] == pending["id"]
    assert shop.api.as_role(Role.AGENT).get("/api/payments").status_code == 403


def test_another_tenants_payment_is_404(shop: Shop) -> None:
    payment = checkout(shop, shop.booking("+5491100000141"))
    stranger = shop.api.as_role(Role.OWNER, tenant="other")
    assert stranger.get(f"/api/payments/{payment['id']}").status_code == 404
    r = stranger.post(f"/api/payments/{payment['id']}/refund", json={})
    assert r.status_code == 404
    assert stranger.get("/api/payments").json()["total"] == 0
    assert shop.count(WebhookEvent) == 0


# --- the Stripe client --------------------------------------------------------------


def test_a_stalled_stripe_gives_up_after_the_timeout_and_one_retry() -> None:
    """The call runs inside a chat turn's DB transaction: it must not hang for the
    library's default 80 s (times its retries)."""
    accepted: list[socket.socket] = []
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def accept_and_say_nothing() -> None:
        with contextlib.suppress(OSError):
            while True:
                accepted.append(server.accept()[0])

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    gateway = StripeGateway(DEFAULT_KEY, api_base=f"http://127.0.0.1:{port}", timeout_s=0.5)
    request = CheckoutRequest(
        tenant_id=uuid.uuid4(),
        payment_id=uuid.uuid4(),
        currency="ARS",
        items=(LineItem("Corte", 1000),),
        idempotency_key="checkout:stalled",
        success_url="http://127.0.0.1/ok",
        cancel_url="http://127.0.0.1/cancel",
    )
    started = time.monotonic()
    try:
        with pytest.raises(GatewayError) as caught:
            gateway.create_checkout(request)
    finally:
        server.close()
        for conn in accepted:
            conn.close()
    elapsed = time.monotonic() - started
    assert caught.value.retryable
    assert len(accepted) == 2  # the first attempt and one retry
    assert elapsed < 5, elapsed


def test_the_stripe_timeout_is_a_setting() -> None:
    assert Settings.model_validate({}).stripe_timeout_s == 10
    settings = Settings.model_validate({"stripe_timeout_s": 2.5})
    assert CheckoutConfig.from_settings(settings).stripe_timeout_s == 2.5
    with pytest.raises(ValidationError):
        Settings.model_validate({"stripe_timeout_s": 0})


def test_an_unreachable_provider_is_a_502_without_the_network_error(db_url: str) -> None:
    stripe = FakeStripe().start()  # only for its key; the API is pointed at a closed port
    try:
        with live_api(db_url, stripe_api_base="http://127.0.0.1:9", stripe_timeout_s=1) as api:
            turns = DeliveredTurns()
            api.runtime.engine.add_sender(CollectingSender("console"))
            api.runtime.engine.add_turn_listener(turns)
            owner = api.as_role(Role.OWNER)
            keys = {"secret_key": stripe.api_key, "webhook_secret": WEBHOOK_SECRET}
            assert owner.put("/api/payments/stripe-keys", json=keys).status_code == 204
            shop = Shop(api, stripe, CollectingSender("console"), turns, owner)
            booking_id = shop.booking("+5491100000991")
            r = owner.post("/api/payments/checkout-session", json={"booking_id": str(booking_id)})
            assert r.status_code == 502, r.text
            error = r.json()["error"]
            assert error == {
                "code": "payment_provider_error",
                "message": "the payment provider refused or failed",
                "details": {},
            }
    finally:
        stripe.stop()
