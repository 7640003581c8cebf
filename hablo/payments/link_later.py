"""The chat's checkout link, asked of Stripe / MercadoPago after the turn committed (an
`hablo.engine.after_commit.AfterCommit`): the pending payment was written with the turn;
the provider call runs holding no row lock and no pooled connection; then the link (or
the failure) is recorded and the customer gets the skill's wording of it.

Between the commit and the record the payment has no link yet, so `POST
/api/payments/checkout-session` for the same booking does not reuse it and may make its
own. The record therefore takes the booking's lock (the one the API and the desk take)
and, when a working link was made meanwhile, gives the customer that one and ends its own
payment: one booking never has two open links. A payment left link-less by a crash before
the record is expired by `expire_linkless_payments`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hablo.db.base import utcnow
from hablo.db.database import Database
from hablo.db.enums import PaymentStatus
from hablo.db.models import Booking, Payment
from hablo.domain.payments import OfferKind, PaymentOffer
from hablo.payments import service
from hablo.payments.checkout import PendingLink, record_link
from hablo.payments.gateway import CheckoutLink, GatewayError

log = logging.getLogger(__name__)
Phrase = Callable[[PaymentOffer], str]
# A chat's link request takes seconds (the provider's timeout); a pending payment still
# without a link after this was left by a crash between the turn and the record.
LINKLESS_EXPIRY = timedelta(minutes=15)
LINKLESS_FAILURE = "no_link"
LINKLESS_SWEEP_S = 300.0


class LinkAfterCommit:
    skill = "payment"

    def __init__(self, pending: PendingLink, offer: PaymentOffer) -> None:
        self._pending = pending
        self._offer = offer
        self._phrase: Phrase | None = None
        self._link: CheckoutLink | None = None

    def worded(self, phrase: Phrase) -> LinkAfterCommit:
        """How the skill says the link (or that it could not be made)."""
        self._phrase = phrase
        return self

    def perform(self) -> None:
        try:
            self._link = self._pending.gateway.create_checkout(self._pending.request)
        except GatewayError as exc:
            log.warning("checkout link for payment %s failed: %s", self._pending.payment_id, exc)

    def record(self, conn: Connection) -> tuple[str, ...]:
        with Session(bind=conn, expire_on_commit=False) as session:
            payment = session.get(Payment, self._pending.payment_id)
            if payment is None:
                return ()
            booking = (
                session.get(Booking, payment.booking_id, with_for_update=True)
                if payment.booking_id is not None
                else None
            )
            made_meanwhile = (
                service.open_checkout(session, booking, utcnow(), payment.method)
                if booking is not None
                else None
            )
            if payment.status != PaymentStatus.PENDING:
                # Expired as link-less meanwhile (a record far too late): not offered.
                offer = replace(self._offer, kind=OfferKind.UNAVAILABLE)
            elif made_meanwhile is not None:
                # The API made a link while this one was asked for: that one is the
                # booking's (ours is never shown and runs out at the provider).
                session.delete(payment)
                offer = replace(self._offer, url=str(made_meanwhile.details["checkout_url"]))
            elif self._link is None:
                # No link, no payment: as if never asked (the next "quiero pagar" tries again).
                session.delete(payment)
                offer = replace(self._offer, kind=OfferKind.UNAVAILABLE)
            else:
                record_link(payment, self._link)
                offer = replace(self._offer, url=self._link.url)
            session.flush()
        return (self._phrase(offer),) if self._phrase is not None else ()


def expire_linkless_payments(db: Database, older_than: timedelta = LINKLESS_EXPIRY) -> int:
    """Fail the pending payments that never got a link (their chat's process stopped
    between the turn and the record); returns how many. Safe with several processes."""
    cutoff = utcnow() - older_than
    expired = 0
    with db.transaction() as session:
        candidates = session.scalars(
            select(Payment)
            .where(
                Payment.status == PaymentStatus.PENDING,
                Payment.created_at < cutoff,
                Payment.details["checkout_url"].as_string().is_(None),
            )
            .with_for_update(skip_locked=db.supports_row_locks)
        )
        for payment in candidates:
            if not (payment.details or {}).get("checkout_url"):
                expired += service.fail(session, payment, LINKLESS_FAILURE, utcnow())
    if expired:
        log.info("%d pending payments without a checkout link expired", expired)
    return expired
