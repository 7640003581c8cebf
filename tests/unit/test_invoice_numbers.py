"""Issuing invoices on real databases: idempotent per payment, numbers gapless per tenant
(also under concurrency and after a rollback), PDF text."""

from __future__ import annotations

import io
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hablo.api.scope import API_ROLE
from hablo.bootstrap import Runtime
from hablo.db.enums import PaymentMethod, PaymentStatus
from hablo.db.models import Booking, Contact, Invoice, InvoiceCounter, Payment, Service, Tenant
from hablo.demo import seed_salon
from hablo.payments.invoice_pdf import render_invoice_pdf
from hablo.payments.invoices import InvoiceError, issue_invoice

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def make_payment(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    amount_minor: int = 1_210_000,
    status: PaymentStatus = PaymentStatus.COMPLETED,
    customer: str = "Begoña Núñez",
    email: str | None = "begona@example.com",
    service_name: str | None = None,
    details: dict[str, Any] | None = None,
) -> uuid.UUID:
    """A contact and a payment of theirs (optionally for a booking of a service)."""
    contact = Contact(tenant_id=tenant_id, name=customer, email=email)
    session.add(contact)
    session.flush()
    booking_id = None
    if service_name is not None:
        service = session.scalars(
            select(Service).where(Service.tenant_id == tenant_id, Service.name == service_name)
        ).one()
        # A day of its own per booking: these tests are not about overlaps.
        earlier = len(session.scalars(select(Booking.id)).all())
        starts = datetime(2026, 11, 20, 13, 0, tzinfo=UTC) + timedelta(days=earlier)
        booking = Booking(
            tenant_id=tenant_id,
            contact_id=contact.id,
            service_id=service.id,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            duration_minutes=60,
        )
        session.add(booking)
        session.flush()
        booking_id = booking.id
    payment = Payment(
        tenant_id=tenant_id,
        contact_id=contact.id,
        booking_id=booking_id,
        amount_minor=amount_minor,
        currency="ARS",
        method=PaymentMethod.CASH,
        status=status,
        details=details or {},
    )
    session.add(payment)
    session.flush()
    return payment.id


def issue(runtime: Runtime, payment_id: uuid.UUID) -> tuple[uuid.UUID, int]:
    with runtime.db.transaction() as session:
        payment = session.get_one(Payment, payment_id)
        invoice = issue_invoice(session, payment, now=NOW)
        return invoice.id, invoice.number


def set_invoicing(runtime: Runtime, tenant_id: uuid.UUID, invoicing: dict[str, Any]) -> None:
    with runtime.db.transaction() as session:
        tenant = session.get_one(Tenant, tenant_id)
        tenant.settings = {**tenant.settings, "invoicing": invoicing}


def test_issues_once_per_payment_with_the_service_as_line(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    set_invoicing(
        runtime,
        demo_tenant_id,
        {"tax_rate_percent": 21, "tax_included": True, "tax_id": "30-12345678-9"},
    )
    with runtime.db.transaction() as session:
        payment_id = make_payment(session, demo_tenant_id, service_name="Coloración")
    first = issue(runtime, payment_id)
    assert issue(runtime, payment_id) == first  # idempotent: same invoice, same number
    assert first[1] == 1
    with runtime.db.transaction() as session:
        invoice = session.get_one(Invoice, first[0])
        assert invoice.customer_name == "Begoña Núñez"
        assert (invoice.total_minor, invoice.tax_minor) == (1_210_000, 210_000)
        items = [line for line in invoice.lines if line["kind"] == "item"]
        assert [(i["description"], i["amount_minor"]) for i in items] == [("Coloración", 1_210_000)]
        assert session.get_one(InvoiceCounter, demo_tenant_id).last_number == 1


def test_payment_items_and_tax_on_top(runtime: Runtime, demo_tenant_id: uuid.UUID) -> None:
    set_invoicing(runtime, demo_tenant_id, {"tax_rate_percent": 10.5, "tax_included": False})
    details = {"items": [{"name": "Uñas", "quantity": 2, "unit_amount_minor": 1_000}]}
    with runtime.db.transaction() as session:
        payment_id = make_payment(session, demo_tenant_id, amount_minor=2_210, details=details)
        # Items that do not add up to what was paid: one line for the paid amount.
        short_id = make_payment(session, demo_tenant_id, amount_minor=1_105, details=details)
    invoice_id, _ = issue(runtime, payment_id)
    short_invoice_id, _ = issue(runtime, short_id)
    with runtime.db.transaction() as session:
        invoice = session.get_one(Invoice, invoice_id)
        assert (invoice.total_minor, invoice.tax_minor) == (2_210, 210)
        items = [line for line in invoice.lines if line["kind"] == "item"]
        assert [(i["description"], i["quantity"], i["unit_minor"]) for i in items] == [
            ("Uñas", 2, 1_000)
        ]
        short = session.get_one(Invoice, short_invoice_id)
        assert (short.total_minor, short.tax_minor) == (1_105, 105)
        assert [line["description"] for line in short.lines if line["kind"] == "item"] == [
            "Uñas x2"
        ]


def test_only_completed_payments_are_invoiced(runtime: Runtime, demo_tenant_id: uuid.UUID) -> None:
    with runtime.db.transaction() as session:
        pending = make_payment(session, demo_tenant_id, status=PaymentStatus.PENDING)
    with pytest.raises(InvoiceError), runtime.db.transaction() as session:
        issue_invoice(session, session.get_one(Payment, pending), now=NOW)
    with runtime.db.transaction() as session:
        assert session.scalars(select(Invoice)).all() == []


def test_numbers_are_per_tenant_and_a_rollback_gives_the_number_back(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    with runtime.db.transaction() as session:
        other = seed_salon(session, "other", "Barbería Ñu")
        ours = [make_payment(session, demo_tenant_id) for _ in range(3)]
        theirs = [make_payment(session, other) for _ in range(2)]

    class Abort(Exception):
        pass

    with pytest.raises(Abort), runtime.db.transaction() as session:
        assert issue_invoice(session, session.get_one(Payment, ours[0]), now=NOW).number == 1
        raise Abort
    numbers = [issue(runtime, p)[1] for p in ours]
    assert numbers == [1, 2, 3]  # the rolled-back 1 was not consumed
    assert [issue(runtime, p)[1] for p in theirs] == [1, 2]


def test_concurrent_issuers_get_gapless_distinct_numbers(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    count = 8
    with runtime.db.transaction() as session:
        payments = [make_payment(session, demo_tenant_id) for _ in range(count)]
    # Every payment is issued twice at once: duplicates must not consume numbers either.
    jobs = payments + payments
    barrier = threading.Barrier(len(jobs))
    results: list[tuple[uuid.UUID, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(payment_id: uuid.UUID) -> None:
        try:
            barrier.wait(timeout=30)
            outcome = issue(runtime, payment_id)
            with lock:
                results.append(outcome)
        except BaseException as exc:  # reported below, not lost in the thread
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(p,)) for p in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 2 * count
    assert sorted({number for _, number in results}) == list(range(1, count + 1))
    with runtime.db.transaction() as session:
        rows = session.scalars(select(Invoice).where(Invoice.tenant_id == demo_tenant_id)).all()
        assert sorted(i.number for i in rows) == list(range(1, count + 1))
        assert session.get_one(InvoiceCounter, demo_tenant_id).last_number == count


def test_pdf_has_the_invoice_text(runtime: Runtime, demo_tenant_id: uuid.UUID) -> None:
    set_invoicing(
        runtime,
        demo_tenant_id,
        {"tax_rate_percent": 21, "tax_id": "30-12345678-9", "legal_name": "Sol Peluquería S.R.L."},
    )
    with runtime.db.transaction() as session:
        payment_id = make_payment(session, demo_tenant_id, service_name="Coloración")
    invoice_id, _ = issue(runtime, payment_id)
    with runtime.db.transaction() as session:
        invoice = session.get_one(Invoice, invoice_id)
        spanish = pdf_text(render_invoice_pdf(invoice, locale="es-AR", timezone="UTC"))
        english = pdf_text(render_invoice_pdf(invoice, locale="en", timezone="UTC"))
    for expected in (
        "Sol Peluquería S.R.L.",
        "30-12345678-9",
        "Factura N.º 1",
        "Cliente: Begoña Núñez",
        "Coloración",
        "Total $12.100,00",
        "Impuesto (21 %) $2.100,00",
        "Impuesto (21 %)",
        "20 de noviembre de 2026",
    ):
        assert expected in spanish, expected
    assert "Invoice No. 1" in english and "Customer: Begoña Núñez" in english


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\xa0", " ")


def test_issues_under_row_level_security(runtime: Runtime, demo_tenant_id: uuid.UUID) -> None:
    """An API transaction runs as the hablo_api role: every table issuing touches must
    let it through for its own tenant."""
    if runtime.db.engine.dialect.name != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    with runtime.db.transaction() as session:
        payment_id = make_payment(session, demo_tenant_id, service_name="Manicura")
    with runtime.db.transaction() as session:
        session.execute(text(f"SET LOCAL ROLE {API_ROLE}"))
        session.execute(
            text("SELECT set_config('hablo.tenant_id', :tenant, true)"),
            {"tenant": str(demo_tenant_id)},
        )
        invoice = issue_invoice(session, session.get_one(Payment, payment_id), now=NOW)
        assert invoice.number == 1 and invoice.customer_name == "Begoña Núñez"
