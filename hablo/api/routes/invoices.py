"""Invoices and receipts of completed payments: list, detail, PDF download, send by e-mail.

Invoices are issued by the payments flow (`hablo.payments.invoices.issue_invoice`); they
are never edited over the API (a gapless, immutable sequence is the point).
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, Field, model_validator

from hablo.api.app_keys import BRIDGE, RUNTIME
from hablo.api.endpoints import ApiRoutes, Call, Page, PageQuery, RequestModel
from hablo.api.problems import ApiError, conflict
from hablo.api.ratelimit import MAIL_WINDOW_S, RATE_LIMITER, Limit, tenant_mail_key
from hablo.api.routes.auth import MAILER
from hablo.api.routes.hours import CalendarDate
from hablo.api.routes.tenants import own_tenant
from hablo.api.scope import TenantScope, sort_order
from hablo.db.models import Contact, Invoice, Payment, Tenant
from hablo.notify.mailer import MailError, compose
from hablo.payments.invoice_pdf import document_title, money, render_invoice_pdf, zone_of
from hablo.payments.invoices import item_lines, snapshot_of

log = logging.getLogger(__name__)
routes = ApiRoutes("invoices")

# Plain addresses only: no display names, lists or header tricks in a To: header.
MailAddress = Annotated[
    str,
    Field(
        min_length=6,
        max_length=254,
        pattern=r"^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$",
        examples=["ana@example.com"],
    ),
]
MAX_INVOICE_NUMBER = 2_147_483_647  # invoices.number is a 32-bit integer column


class InvoiceLineOut(BaseModel):
    description: str
    quantity: int
    unit_minor: int = Field(description="Unit price in minor units (as shown on the invoice)")
    amount_minor: int


class InvoiceOut(BaseModel):
    id: uuid.UUID
    number: int
    title: str = Field(description='"Factura N.º 7" (or "Recibo" without a tax id)')
    payment_id: uuid.UUID
    contact_id: uuid.UUID | None
    customer_name: str
    issued_at: datetime
    currency: str
    total_minor: int
    tax_minor: int
    net_minor: int
    tax_rate_percent: str
    tax_included: bool
    seller_legal_name: str
    seller_tax_id: str
    lines: list[InvoiceLineOut]

    @classmethod
    def of(cls, invoice: Invoice, contact_id: uuid.UUID | None, locale: str) -> InvoiceOut:
        tax = snapshot_of(invoice, "tax")
        seller = snapshot_of(invoice, "seller")
        return cls(
            id=invoice.id,
            number=invoice.number,
            title=document_title(invoice, locale),
            payment_id=invoice.payment_id,
            contact_id=contact_id,
            customer_name=invoice.customer_name,
            issued_at=invoice.issued_at,
            currency=invoice.currency,
            total_minor=invoice.total_minor,
            tax_minor=invoice.tax_minor,
            net_minor=invoice.total_minor - invoice.tax_minor,
            tax_rate_percent=str(tax.get("rate_percent", "0")),
            tax_included=bool(tax.get("included", True)),
            seller_legal_name=str(seller.get("legal_name", "")),
            seller_tax_id=str(seller.get("tax_id", "")),
            lines=[
                InvoiceLineOut(
                    description=str(line.get("description", "")),
                    quantity=int(line.get("quantity", 1)),
                    unit_minor=int(line.get("unit_minor", 0)),
                    amount_minor=int(line.get("amount_minor", 0)),
                )
                for line in item_lines(invoice)
            ],
        )


class InvoiceQuery(PageQuery):
    from_: CalendarDate | None = Field(
        default=None, alias="from", description="First local issue date (inclusive)"
    )
    to: CalendarDate | None = Field(default=None, description="Last local issue date (inclusive)")
    contact_id: uuid.UUID | None = None
    number: int | None = Field(default=None, ge=1, le=MAX_INVOICE_NUMBER)
    sort: Literal["number", "-number", "issued_at", "-issued_at"] = "-number"

    @model_validator(mode="after")
    def _ordered(self) -> InvoiceQuery:
        if self.from_ and self.to and self.from_ > self.to:
            raise ValueError("'from' must not be after 'to'")
        return self


class SendIn(RequestModel):
    email: MailAddress | None = Field(
        default=None, description="Where to send it; the customer's e-mail when left out"
    )


class SentOut(BaseModel):
    sent_to: str
    number: int


_SORTS = {"number": Invoice.number, "issued_at": Invoice.issued_at}


def _local_midnight(tenant: Tenant, day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone_of(tenant.timezone))


@routes.get(
    "/api/invoices",
    "payments:read",
    query=InvoiceQuery,
    response=Page[InvoiceOut],
    summary="List invoices (newest number first)",
)
async def list_invoices(call: Call[InvoiceQuery, None]) -> Page[InvoiceOut]:
    q = call.query

    def work(scope: TenantScope) -> Page[InvoiceOut]:
        tenant = own_tenant(scope)
        query = scope.select(Invoice).join(Payment, Payment.id == Invoice.payment_id)
        if q.from_ is not None:
            query = query.where(Invoice.issued_at >= _local_midnight(tenant, q.from_))
        if q.to is not None:
            end = _local_midnight(tenant, q.to + timedelta(days=1))
            query = query.where(Invoice.issued_at < end)
        if q.contact_id is not None:
            query = query.where(Payment.contact_id == q.contact_id)
        if q.number is not None:
            query = query.where(Invoice.number == q.number)
        total = scope.count(query)
        rows = scope.session.execute(
            query.add_columns(Payment.contact_id)
            .order_by(sort_order(q.sort, _SORTS), Invoice.id)
            .offset(q.offset)
            .limit(q.per_page)
        ).all()
        return Page(
            items=[InvoiceOut.of(inv, contact_id, tenant.locale) for inv, contact_id in rows],
            page=q.page,
            per_page=q.per_page,
            total=total,
        )

    return await call.db(work)


def _load(scope: TenantScope, invoice_id: uuid.UUID) -> tuple[Invoice, Payment | None]:
    invoice = scope.get(Invoice, invoice_id, what="invoice")
    payment = scope.session.get(Payment, invoice.payment_id)
    return invoice, payment


@routes.get(
    "/api/invoices/{invoice_id}", "payments:read", response=InvoiceOut, summary="Get an invoice"
)
async def get_invoice(call: Call[None, None]) -> InvoiceOut:
    def work(scope: TenantScope) -> InvoiceOut:
        invoice, payment = _load(scope, call.path["invoice_id"])
        contact_id = payment.contact_id if payment else None
        return InvoiceOut.of(invoice, contact_id, own_tenant(scope).locale)

    return await call.db(work)


def _file_name(invoice: Invoice, locale: str) -> str:
    prefix = "factura" if locale.startswith("es") else "invoice"
    return f"{prefix}-{invoice.number:06d}.pdf"


@routes.get(
    "/api/invoices/{invoice_id}/pdf",
    "payments:read",
    produces="application/pdf",
    summary="Download the invoice as PDF",
)
async def download_invoice(call: Call[None, None]) -> web.StreamResponse:
    def work(scope: TenantScope) -> tuple[bytes, str]:
        invoice, _ = _load(scope, call.path["invoice_id"])
        tenant = own_tenant(scope)
        # Rendered in the worker thread: it is CPU work that must not block the loop.
        pdf = render_invoice_pdf(invoice, locale=tenant.locale, timezone=tenant.timezone)
        return pdf, _file_name(invoice, tenant.locale)

    pdf, name = await call.db(work)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _mail(invoice: Invoice, tenant: Tenant, customer: str) -> tuple[str, str, str]:
    title = document_title(invoice, tenant.locale)
    amount = money(invoice.total_minor, invoice.currency, tenant.locale)
    if tenant.locale.startswith("en"):
        greeting = f"Hello {customer}," if customer else "Hello,"
        body = f"{greeting}\n\nAttached is your {title.lower()} for {amount}.\n\nThank you,\n"
    else:
        greeting = f"Hola {customer}," if customer else "Hola,"
        body = f"{greeting}\n\nTe enviamos adjunto tu {title.lower()} por {amount}.\n\nGracias,\n"
    return f"{title} - {tenant.name}", body + tenant.name + "\n", _file_name(invoice, tenant.locale)


@routes.post(
    "/api/invoices/{invoice_id}/send",
    "payments:write",
    body=SendIn,
    response=SentOut,
    errors=(409, 429, 502),
    summary="E-mail the invoice PDF to the customer (or to the address given)",
)
async def send_invoice(call: Call[None, SendIn]) -> SentOut:
    mailer = call.request.app[MAILER]

    def prepare(scope: TenantScope) -> tuple[EmailMessage, str, int]:
        invoice, payment = _load(scope, call.path["invoice_id"])
        tenant = own_tenant(scope)
        contact = scope.session.get(Contact, payment.contact_id) if payment else None
        address = call.body.email or (contact.email if contact and not contact.erased_at else None)
        if not address:
            raise conflict(
                "the customer has no e-mail address; send it to an address given in 'email'",
                {"field": "email"},
            )
        pdf = render_invoice_pdf(invoice, locale=tenant.locale, timezone=tenant.timezone)
        subject, text, file_name = _mail(invoice, tenant, invoice.customer_name)
        try:
            message = compose(mailer.sender, address, subject, text)
        except ValueError as exc:  # a stored contact address that is not a valid header
            raise conflict(
                "the customer's e-mail address is not valid", {"field": "email"}
            ) from exc
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=file_name)
        return message, address, invoice.number

    message, address, number = await call.db(prepare)
    per_hour = call.request.app[RUNTIME].settings.invoice_mails_per_tenant_per_hour
    await call.request.app[RATE_LIMITER].enforce(
        tenant_mail_key("invoice", call.tenant_id), Limit(per_hour, MAIL_WINDOW_S)
    )
    try:
        await call.request.app[BRIDGE].call(mailer.deliver, message)
    except MailError as exc:
        log.warning("invoice %s not mailed: %s", number, exc)
        raise ApiError(502, "mail_failed", "the mail server did not accept the message") from exc
    log.info("invoice %s mailed to %s", number, address)

    def record(scope: TenantScope) -> None:
        scope.audit("send", "invoice", call.path["invoice_id"], {"to": address})

    await call.db(record)
    return SentOut(sent_to=address, number=number)
