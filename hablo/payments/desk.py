"""Payments as the chat sees them: is paying online on, and what to tell a customer who
should pay (a link, "already paid", "nothing to pay", "try again in a moment").

One desk per turn, on the turn's connection: what it writes (a pending payment, an expired
one marked failed) commits with the turn's reply, or not at all. It opens its own ORM
session in a SAVEPOINT, so the bookkeeping in `service`/`checkout` is reused as is.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hablo.db.enums import BookingStatus, PaymentStatus
from hablo.db.models import Booking, Payment, Tenant
from hablo.domain.payments import OfferKind, PaymentOffer
from hablo.engine.ports import PaymentDeskFactory
from hablo.payments import service
from hablo.payments.checkout import CheckoutConfig, PendingLink, prepare_checkout
from hablo.payments.link_later import LinkAfterCommit
from hablo.payments.service import PaymentRefused

log = logging.getLogger(__name__)
_ACTIVE = (BookingStatus.PENDING, BookingStatus.CONFIRMED)


def payment_mode(tenant: Tenant) -> str:
    payments = (tenant.settings or {}).get("payments") or {}
    return str(payments.get("mode", "full"))


class CheckoutDesk:
    """The `hablo.domain.payments.PaymentDesk` that makes Stripe / MercadoPago links."""

    def __init__(
        self,
        conn: Connection,
        tenant_id: uuid.UUID,
        config: CheckoutConfig | None,
        now: datetime,
    ) -> None:
        self._conn = conn
        self._tenant_id = tenant_id
        self._config = config
        self._now = now

    def online(self) -> bool:
        """Whether new bookings are paid online: payments on and Stripe set up. Read from
        the database, not the cached tenant profile: keys are set through the API."""
        with self._session() as session:
            tenant = session.get(Tenant, self._tenant_id)
            return tenant is not None and self._gateway_ready(tenant)

    def offer(self, contact_id: uuid.UUID, booking_id: uuid.UUID | None = None) -> PaymentOffer:
        """What to tell the customer about paying `booking_id`, or else their next upcoming
        active booking that is not paid yet. Makes a checkout link when needed."""
        with self._session() as session:
            result = self._offer(session, contact_id, booking_id)
            session.commit()  # releases the desk's savepoint; the turn commits the rest
            return result

    # -- inside the session --------------------------------------------------------------

    def _session(self) -> Session:
        return Session(
            bind=self._conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    def _gateway_ready(self, tenant: Tenant) -> bool:
        if self._config is None or payment_mode(tenant) == "none":
            return False
        try:
            self._config.gateway(tenant, self._config.method_for(tenant))
        except PaymentRefused:
            return False
        return True

    def _offer(
        self, session: Session, contact_id: uuid.UUID, booking_id: uuid.UUID | None
    ) -> PaymentOffer:
        tenant = session.get(Tenant, self._tenant_id)
        if tenant is None or self._config is None or not self._gateway_ready(tenant):
            return PaymentOffer(OfferKind.OFFLINE)
        bookings = self._upcoming(session, contact_id, booking_id)
        if not bookings:
            return PaymentOffer(OfferKind.NOTHING)
        paid = self._paid(session, [b.id for b in bookings])
        unpaid = [b for b in bookings if b.id not in paid]
        if not unpaid:
            name, _ = service.service_name(session, bookings[0])
            return PaymentOffer(OfferKind.PAID, service=name, starts_at=bookings[0].starts_at)
        booking = unpaid[0]
        name, price = service.service_name(session, booking)
        try:
            with session.begin_nested():
                made = prepare_checkout(session, booking, tenant, self._config, self._now)
        except PaymentRefused as exc:  # e.g. a free service: nothing to pay
            log.info("no checkout link for booking %s: %s", booking.id, exc)
            return PaymentOffer(OfferKind.NOTHING)
        offer = PaymentOffer(
            OfferKind.LINK, service=name, starts_at=booking.starts_at, amount_minor=price
        )
        if isinstance(made, PendingLink):
            # The provider is asked after the turn commits, not under the conversation lock.
            amount = made.request.items[0].unit_amount_minor
            offer = replace(offer, amount_minor=amount, deposit=amount < price)
            return replace(offer, link_later=LinkAfterCommit(made, offer))
        amount = made.payment.amount_minor
        return replace(offer, amount_minor=amount, url=made.url, deposit=amount < price)

    def _upcoming(
        self, session: Session, contact_id: uuid.UUID, booking_id: uuid.UUID | None
    ) -> list[Booking]:
        query = (
            select(Booking)
            .where(
                Booking.tenant_id == self._tenant_id,
                Booking.contact_id == contact_id,
                Booking.status.in_(_ACTIVE),
                Booking.starts_at >= self._now,
            )
            .order_by(Booking.starts_at)
            # Locked: the API and the chat must not make two links for one booking at once.
            .with_for_update()
        )
        if booking_id is not None:
            query = query.where(Booking.id == booking_id)
        return list(session.scalars(query))

    def _paid(self, session: Session, booking_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        rows = session.scalars(
            select(Payment.booking_id).where(
                Payment.tenant_id == self._tenant_id,
                Payment.booking_id.in_(booking_ids),
                Payment.status == PaymentStatus.COMPLETED,
            )
        )
        return {b for b in rows if b is not None}


def desk_factory(config: CheckoutConfig | None) -> PaymentDeskFactory:
    """What `bootstrap()` hands the engine: a desk per turn, with the platform's settings."""

    def open_desk(conn: Connection, tenant_id: uuid.UUID, now: datetime) -> CheckoutDesk:
        return CheckoutDesk(conn, tenant_id, config, now)

    return open_desk
