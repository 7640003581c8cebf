"""Issuing invoices for completed payments, numbered per tenant without gaps.

`issue_invoice` runs inside the caller's transaction. The next number comes from the
tenant's `InvoiceCounter` row, locked until that transaction ends (FOR UPDATE on
PostgreSQL; SQLite's BEGIN IMMEDIATE writer lock serialises writers anyway), so two
payments never get the same number and a rolled-back transaction gives its number back.

Money is integer minor units; tax math is integer arithmetic with half-up rounding.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hablo.db.enums import PaymentStatus
from hablo.db.models.catalog import Service
from hablo.db.models.commerce import Booking, Invoice, Payment
from hablo.db.models.conversations import Contact
from hablo.db.models.payments_ledger import InvoiceCounter
from hablo.db.models.tenancy import Tenant

# A payment that was completed once may be invoiced (a later refund does not undo that).
INVOICEABLE = frozenset(
    {PaymentStatus.COMPLETED, PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED}
)
_BASIS = 10_000  # tax rates are handled in basis points (21% -> 2100)
MAX_DESCRIPTION = 200


class InvoiceError(ValueError):
    """The payment cannot be invoiced (not completed, bad tenant tax settings)."""


@dataclass(frozen=True)
class TaxPolicy:
    rate_bp: int  # basis points: 2100 = 21%
    included: bool

    @property
    def rate_percent(self) -> str:
        return str((Decimal(self.rate_bp) / 100).normalize())


def div_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounding halves away from zero (numerator >= 0, denominator > 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def tax_policy(settings: dict[str, Any]) -> TaxPolicy:
    invoicing = settings.get("invoicing") or {}
    if not isinstance(invoicing, dict):
        raise InvoiceError("settings.invoicing must be an object")
    raw = invoicing.get("tax_rate_percent", 0) or 0
    try:
        # str() first: a JSON float like 10.5 becomes the exact decimal it was written as.
        basis_points = Decimal(str(raw)) * 100
    except InvalidOperation as exc:
        raise InvoiceError("tax_rate_percent must be a number") from exc
    if basis_points != basis_points.to_integral_value() or not 0 <= basis_points <= _BASIS:
        raise InvoiceError("tax_rate_percent must be 0..100 with at most 2 decimals")
    return TaxPolicy(int(basis_points), bool(invoicing.get("tax_included", True)))


def tax_from_gross(gross_minor: int, rate_bp: int) -> int:
    """The tax inside a tax-inclusive amount: gross - round(gross / (1 + rate))."""
    return gross_minor - div_half_up(gross_minor * _BASIS, _BASIS + rate_bp)


def tax_on_net(net_minor: int, rate_bp: int) -> int:
    """The tax added on top of a net amount: round(net * rate)."""
    return div_half_up(net_minor * rate_bp, _BASIS)


@dataclass(frozen=True)
class Totals:
    lines: list[dict[str, Any]]
    tax_minor: int
    total_minor: int


def compute_totals(
    items: list[tuple[str, int, int]], policy: TaxPolicy, *, paid_minor: int | None
) -> Totals:
    """Lines and totals from (description, quantity, unit_minor) items.

    With `paid_minor` the items are a single summary of what was paid: the total is the
    paid amount whatever the tax mode (the net is backed out of it when prices exclude
    tax). Without it the unit prices are gross or net as the tenant's policy says.
    """
    if paid_minor is not None:
        tax = tax_from_gross(paid_minor, policy.rate_bp)
        shown = paid_minor if policy.included else paid_minor - tax
        return Totals([_line(items[0][0], 1, shown)], tax, paid_minor)
    lines = [_line(desc, qty, unit) for desc, qty, unit in items]
    subtotal = sum(line["amount_minor"] for line in lines)
    if policy.included:
        return Totals(lines, tax_from_gross(subtotal, policy.rate_bp), subtotal)
    tax = tax_on_net(subtotal, policy.rate_bp)
    return Totals(lines, tax, subtotal + tax)


def _line(description: str, quantity: int, unit_minor: int) -> dict[str, Any]:
    return {
        "kind": "item",
        "description": description[:MAX_DESCRIPTION],
        "quantity": quantity,
        "unit_minor": unit_minor,
        "amount_minor": quantity * unit_minor,
    }


def _detail_items(details: dict[str, Any]) -> list[tuple[str, int, int]] | None:
    """Items the payment carries itself ({"items": [{"name", "quantity", "unit_amount_minor"}]})."""
    raw = details.get("items") or details.get("lines")
    if not isinstance(raw, list) or not raw:
        return None
    items: list[tuple[str, int, int]] = []
    for entry in raw:
        if not isinstance(entry, dict):
            return None
        name = entry.get("name") or entry.get("description")
        quantity = entry.get("quantity", 1)
        unit = entry.get("unit_amount_minor", entry.get("unit_minor"))
        if not (isinstance(name, str) and isinstance(quantity, int) and isinstance(unit, int)):
            return None
        if isinstance(quantity, bool) or isinstance(unit, bool) or quantity < 1 or unit < 0:
            return None
        items.append((name, quantity, unit))
    return items


def _summary_description(session: Session, payment: Payment, locale: str) -> str:
    if payment.booking_id is not None:
        booking = session.get(Booking, payment.booking_id)
        if booking is not None:
            service = session.get(Service, booking.service_id)
            if service is not None:
                return service.name
    return "Pago" if locale.startswith("es") else "Payment"


def _locked_counter(session: Session, tenant_id: uuid.UUID) -> InvoiceCounter:
    """The tenant's counter, locked until the transaction ends (created race-free)."""
    dialect = session.get_bind().dialect.name
    values = {"tenant_id": tenant_id, "last_number": 0}
    if dialect == "postgresql":
        insert_stmt: Any = postgresql.insert(InvoiceCounter).values(**values)
    else:
        insert_stmt = sqlite.insert(InvoiceCounter).values(**values)
    session.execute(insert_stmt.on_conflict_do_nothing(index_elements=["tenant_id"]))
    counter = session.execute(
        select(InvoiceCounter)
        .where(InvoiceCounter.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    return counter


def _existing(session: Session, payment: Payment) -> Invoice | None:
    return session.execute(
        select(Invoice).where(Invoice.payment_id == payment.id)
    ).scalar_one_or_none()


def _totals_for(session: Session, payment: Payment, policy: TaxPolicy, locale: str) -> Totals:
    """Itemised when the payment's items add up to what was paid; otherwise one line for
    the paid amount (an invoice must never claim a total other than the payment's)."""
    items = _detail_items(payment.details or {})
    if items is not None:
        totals = compute_totals(items, policy, paid_minor=None)
        if totals.total_minor == payment.amount_minor:
            return totals
        description = ", ".join(name if qty == 1 else f"{name} x{qty}" for name, qty, _ in items)
    else:
        description = _summary_description(session, payment, locale)
    return compute_totals([(description, 1, 0)], policy, paid_minor=payment.amount_minor)


def issue_invoice(session: Session, payment: Payment, *, now: datetime) -> Invoice:
    """The payment's invoice, issued now with the tenant's next number if it has none.

    Idempotent per payment. Runs in the caller's transaction; the number is only
    consumed if that transaction commits.
    """
    if payment.status not in INVOICEABLE:
        raise InvoiceError(f"payment is {payment.status}, not completed")
    existing = _existing(session, payment)
    if existing is not None:
        return existing
    tenant = session.get(Tenant, payment.tenant_id)
    if tenant is None:
        raise InvoiceError("payment has no tenant")
    policy = tax_policy(tenant.settings or {})
    counter = _locked_counter(session, payment.tenant_id)
    # Re-check under the lock: a concurrent issuer for this payment may have committed.
    existing = _existing(session, payment)
    if existing is not None:
        return existing
    counter.last_number += 1
    number = counter.last_number

    totals = _totals_for(session, payment, policy, tenant.locale)
    contact = session.get(Contact, payment.contact_id)
    invoicing = (tenant.settings or {}).get("invoicing") or {}
    # Snapshot of the seller and tax terms: an issued invoice must not change when the
    # tenant edits its settings later (the table has no columns for them).
    snapshot = [
        {"kind": "tax", "rate_percent": policy.rate_percent, "included": policy.included},
        {
            "kind": "seller",
            "name": tenant.name,
            "legal_name": str(invoicing.get("legal_name") or tenant.name)[:200],
            "tax_id": str(invoicing.get("tax_id") or "")[:64],
            "address": tenant.address or "",
            "email": tenant.email or "",
            "phone": tenant.phone or "",
            "locale": tenant.locale,
        },
    ]
    invoice = Invoice(
        tenant_id=payment.tenant_id,
        payment_id=payment.id,
        number=number,
        total_minor=totals.total_minor,
        tax_minor=totals.tax_minor,
        currency=payment.currency,
        issued_at=now,
        customer_name=(contact.name if contact is not None else "")[:200],
        lines=totals.lines + snapshot,
    )
    session.add(invoice)
    session.flush()
    return invoice


def item_lines(invoice: Invoice) -> list[dict[str, Any]]:
    return [line for line in invoice.lines if line.get("kind", "item") == "item"]


def snapshot_of(invoice: Invoice, kind: str) -> dict[str, Any]:
    for line in invoice.lines:
        if line.get("kind") == kind:
            return dict(line)
    return {}
