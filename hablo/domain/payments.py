"""Payments as a skill sees them: what to tell a customer who should pay. The desk that
makes checkout links lives in `hablo.payments.desk`; the engine gets it through
`hablo.engine.ports.PaymentDeskFactory` and skills through `SkillContext.payments()`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class OfferKind(StrEnum):
    LINK = "link"  # a checkout link to send
    PAID = "paid"  # the customer's next booking is already paid
    NOTHING = "nothing"  # no upcoming booking with something to pay
    OFFLINE = "offline"  # this business takes no payments online (mode none, no Stripe)
    UNAVAILABLE = "unavailable"  # Stripe failed: try again in a moment


@dataclass(frozen=True)
class PaymentOffer:
    kind: OfferKind
    service: str = ""
    starts_at: datetime | None = None
    amount_minor: int = 0
    url: str = ""
    deposit: bool = False  # the amount is a share of the price, not all of it
    # A link still to be asked of the provider after the turn commits (an
    # `hablo.engine.after_commit.AfterCommit`, worded by the skill); `url` is empty then.
    link_later: Any = None


class PaymentDesk(Protocol):
    """A tenant's online payments for one turn (blocking calls to the provider)."""

    def online(self) -> bool:
        """Whether new bookings are paid online (payments on and a provider set up)."""
        ...

    def offer(self, contact_id: uuid.UUID, booking_id: uuid.UUID | None = None) -> PaymentOffer:
        """What to tell the customer about paying `booking_id`, or else their next
        upcoming unpaid booking; makes a checkout link when needed."""
        ...


class OfflineDesk:
    """The desk when no payment provider is wired in (tools, tests): nothing is online."""

    def online(self) -> bool:
        return False

    def offer(self, contact_id: uuid.UUID, booking_id: uuid.UUID | None = None) -> PaymentOffer:
        return PaymentOffer(OfferKind.OFFLINE)
