"""The payment state machine: which moves are allowed, so a late or repeated provider
event never drags a payment backwards (an `expired` after `completed` is ignored, a
refund never lowers the refunded total).

    pending ──► completed ──► partially_refunded ──► refunded
       │                 └───────────────────────────►┘
       └──► failed (the checkout expired; a new checkout makes a new payment)

A declined card does not fail a payment: its checkout page stays open and payable.
"""

from __future__ import annotations

from hablo.db.enums import PaymentStatus

_ALLOWED: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PENDING: frozenset({PaymentStatus.COMPLETED, PaymentStatus.FAILED}),
    # A failed attempt may still be paid: Stripe can report a later success of the session.
    PaymentStatus.FAILED: frozenset({PaymentStatus.COMPLETED}),
    PaymentStatus.COMPLETED: frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}),
    PaymentStatus.PARTIALLY_REFUNDED: frozenset(
        {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
    ),
    PaymentStatus.REFUNDED: frozenset(),
}

REFUNDABLE = frozenset({PaymentStatus.COMPLETED, PaymentStatus.PARTIALLY_REFUNDED})


def can_move(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in _ALLOWED[current]


def refundable_minor(status: PaymentStatus, amount_minor: int, refunded_minor: int) -> int:
    """What may still be refunded (0 when the payment is not refundable at all)."""
    if status not in REFUNDABLE:
        return 0
    return max(0, amount_minor - refunded_minor)


def status_after_refund(amount_minor: int, refunded_minor: int) -> PaymentStatus:
    return (
        PaymentStatus.REFUNDED
        if refunded_minor >= amount_minor
        else PaymentStatus.PARTIALLY_REFUNDED
    )
