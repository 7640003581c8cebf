"""The chat's checkout link, asked of Stripe / MercadoPago after the turn committed (an
`hablo.engine.after_commit.AfterCommit`): the pending payment was written with the turn;
the provider call runs holding no row lock and no pooled connection; then the link (or
the failure) is recorded and the customer gets the skill's wording of it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hablo.db.models import Payment
from hablo.domain.payments import OfferKind, PaymentOffer
from hablo.payments.checkout import PendingLink, record_link
from hablo.payments.gateway import CheckoutLink, GatewayError

log = logging.getLogger(__name__)
Phrase = Callable[[PaymentOffer], str]


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
            if self._link is None:
                # No link, no payment: as if never asked (the next "quiero pagar" tries again).
                session.delete(payment)
                offer = replace(self._offer, kind=OfferKind.UNAVAILABLE)
            else:
                record_link(payment, self._link)
                offer = replace(self._offer, url=self._link.url)
            session.flush()
        return (self._phrase(offer),) if self._phrase is not None else ()
