"""A chat's checkout link is asked for after its turn committed: a link the API made for
the same booking in that window wins (one booking, one open link), and a payment left
without a link by a crash expires after LINKLESS_EXPIRY. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from hablo.bootstrap import Runtime
from hablo.db.enums import PaymentMethod, PaymentStatus
from hablo.db.models import Booking, Payment
from hablo.domain.payments import OfferKind, PaymentOffer
from hablo.engine.messages import ConversationKey
from hablo.payments.checkout import PendingLink
from hablo.payments.gateway import (
    CheckoutLink,
    CheckoutRequest,
    LineItem,
    PaymentGateway,
    RefundResult,
)
from hablo.payments.link_later import (
    LINKLESS_EXPIRY,
    LINKLESS_FAILURE,
    LinkAfterCommit,
    expire_linkless_payments,
)
from tests.integration.helpers import add_pending_paid_booking


class OneLinkGateway(PaymentGateway):
    """A provider that makes one checkout link per request."""

    name = "fake"

    def create_checkout(self, request: CheckoutRequest) -> CheckoutLink:
        return CheckoutLink(
            f"cs_{request.payment_id}", f"https://pay.test/{request.payment_id}", None
        )

    def refund(
        self, provider_reference: str, amount_minor: int | None, *, idempotency_key: str
    ) -> RefundResult:
        raise NotImplementedError


def _booking(rt: Runtime, tenant_id: uuid.UUID) -> uuid.UUID:
    key = ConversationKey(tenant_id, "console", "+5491155558888")
    with rt.db.begin() as conn:
        conversation = rt.engine.store.open_live(conn, key, "")
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    with rt.db.transaction() as session:
        return add_pending_paid_booking(
            session, tenant_id, conversation.contact_id, conversation.id, starts
        )


def _payment(rt: Runtime, booking_id: uuid.UUID, details: dict[str, object]) -> uuid.UUID:
    with rt.db.transaction() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        payment = Payment(
            tenant_id=booking.tenant_id,
            contact_id=booking.contact_id,
            booking_id=booking.id,
            amount_minor=8000,
            currency="ars",
            method=PaymentMethod.STRIPE,
            status=PaymentStatus.PENDING,
            details=details,
        )
        session.add(payment)
        session.flush()
        return payment.id


def _link_later(tenant_id: uuid.UUID, payment_id: uuid.UUID) -> LinkAfterCommit:
    request = CheckoutRequest(
        tenant_id=tenant_id,
        payment_id=payment_id,
        currency="ARS",
        items=(LineItem("Corte", 8000),),
        idempotency_key=f"checkout:{payment_id}",
        success_url="https://x.test/ok",
        cancel_url="https://x.test/no",
    )
    offer = PaymentOffer(OfferKind.LINK, service="Corte", amount_minor=8000)
    return LinkAfterCommit(PendingLink(payment_id, OneLinkGateway(), request), offer).worded(
        lambda said: said.url or said.kind.value
    )


def _open_links(rt: Runtime, booking_id: uuid.UUID) -> list[str]:
    with rt.db.transaction() as session:
        payments = session.scalars(
            select(Payment).where(
                Payment.booking_id == booking_id, Payment.status == PaymentStatus.PENDING
            )
        ).all()
        return [str(p.details["checkout_url"]) for p in payments if p.details.get("checkout_url")]


def test_a_link_the_api_made_meanwhile_is_the_one_the_customer_gets(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    booking_id = _booking(runtime, demo_tenant_id)
    chats = _payment(runtime, booking_id, {})  # written with the chat's turn, no link yet
    later = _link_later(demo_tenant_id, chats)
    later.perform()  # the provider call, after the turn's commit
    # Meanwhile POST /api/payments/checkout-session saw no link and made its own.
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    _payment(runtime, booking_id, {"checkout_url": "https://pay.test/api", "expires_at": expires})
    with runtime.db.begin() as conn:
        said = later.record(conn)
    assert said == ("https://pay.test/api",)
    assert _open_links(runtime, booking_id) == ["https://pay.test/api"]
    with runtime.db.transaction() as session:
        assert session.get(Payment, chats) is None


def test_without_a_link_made_meanwhile_the_chats_link_is_recorded(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    booking_id = _booking(runtime, demo_tenant_id)
    chats = _payment(runtime, booking_id, {})
    later = _link_later(demo_tenant_id, chats)
    later.perform()
    with runtime.db.begin() as conn:
        said = later.record(conn)
    assert said == (f"https://pay.test/{chats}",)
    assert _open_links(runtime, booking_id) == [f"https://pay.test/{chats}"]


def test_a_payment_left_without_a_link_expires(runtime: Runtime, demo_tenant_id: uuid.UUID) -> None:
    booking_id = _booking(runtime, demo_tenant_id)
    orphan = _payment(runtime, booking_id, {})
    fresh = _payment(runtime, booking_id, {})  # its chat is asking for the link right now
    linked = _payment(runtime, booking_id, {"checkout_url": "https://pay.test/open"})
    long_ago = datetime.now(UTC) - LINKLESS_EXPIRY - timedelta(minutes=1)
    with runtime.db.begin() as conn:
        conn.execute(
            update(Payment).where(Payment.id.in_([orphan, linked])).values(created_at=long_ago)
        )
    assert expire_linkless_payments(runtime.db) == 1
    with runtime.db.transaction() as session:
        statuses = {
            p.id: (p.status, p.details.get("failure"))
            for p in session.scalars(select(Payment).where(Payment.booking_id == booking_id))
        }
    assert statuses == {
        orphan: (PaymentStatus.FAILED, LINKLESS_FAILURE),
        fresh: (PaymentStatus.PENDING, None),
        linked: (PaymentStatus.PENDING, None),
    }
    assert expire_linkless_payments(runtime.db) == 0
