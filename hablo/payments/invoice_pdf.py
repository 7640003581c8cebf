"""The PDF of an invoice (or a receipt, when the tenant has no tax id), with fpdf2.

Text uses the PDF core font Helvetica in the cp1252 encoding: it needs no font file on
the machine and covers Spanish, Portuguese and English text including ñ, á, ü and €.
A character outside cp1252 (rare in names) is printed as "?" rather than failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, get_currency_precision
from fpdf import FPDF

from hablo.db.models.commerce import Invoice
from hablo.payments.invoices import item_lines, snapshot_of

_ENCODING = "cp1252"


@dataclass(frozen=True)
class Labels:
    invoice: str
    receipt: str
    number: str
    date: str
    tax_id: str
    customer: str
    description: str
    quantity: str
    unit_price: str
    amount: str
    subtotal: str
    tax: str
    tax_included: str
    total: str


LABELS = {
    "es": Labels(
        invoice="Factura",
        receipt="Recibo",
        number="N.º",
        date="Fecha",
        tax_id="NIF/CUIT",
        customer="Cliente",
        description="Descripción",
        quantity="Cant.",
        unit_price="Precio unit.",
        amount="Importe",
        subtotal="Base imponible",
        tax="Impuesto",
        tax_included="impuestos incluidos",
        total="Total",
    ),
    "en": Labels(
        invoice="Invoice",
        receipt="Receipt",
        number="No.",
        date="Date",
        tax_id="Tax ID",
        customer="Customer",
        description="Description",
        quantity="Qty",
        unit_price="Unit price",
        amount="Amount",
        subtotal="Subtotal",
        tax="Tax",
        tax_included="taxes included",
        total="Total",
    ),
}


def labels_for(locale: str) -> Labels:
    return LABELS.get(locale.split("-")[0].split("_")[0].lower(), LABELS["es"])


def document_title(invoice: Invoice, locale: str) -> str:
    words = labels_for(locale)
    kind = words.invoice if snapshot_of(invoice, "seller").get("tax_id") else words.receipt
    return f"{kind} {words.number} {invoice.number}"


def money(amount_minor: int, currency: str, locale: str) -> str:
    """Always with the currency's decimals: an invoice shows exact amounts."""
    amount = Decimal(amount_minor).scaleb(-get_currency_precision(currency))
    return str(format_currency(amount, currency, locale=babel_locale(locale)))


def babel_locale(locale: str) -> str:
    """The tenant's locale for babel, or Spanish when babel does not know it."""
    name = locale.replace("-", "_")
    try:
        Locale.parse(name)
    except (UnknownLocaleError, ValueError, TypeError):
        return "es"
    return name


def _safe(text: str) -> str:
    return text.encode(_ENCODING, errors="replace").decode(_ENCODING)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """Cut a long cell text with an ellipsis instead of letting it run over the next column."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def render_invoice_pdf(invoice: Invoice, *, locale: str, timezone: str) -> bytes:
    """The invoice as PDF bytes, labelled in the tenant's language (es by default)."""
    words = labels_for(locale)
    seller = snapshot_of(invoice, "seller")
    tax = snapshot_of(invoice, "tax")
    cur = invoice.currency

    def fmt(minor: int) -> str:
        return money(minor, cur, locale)

    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = _ENCODING
    pdf.set_title(_safe(document_title(invoice, locale)))
    pdf.set_creator("hablo")
    pdf.add_page()
    pdf.set_auto_page_break(auto=True, margin=15)
    width = pdf.epw

    def line(text: str, *, size: int = 10, style: str = "", align: str = "L") -> None:
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.multi_cell(width, 6, _safe(text), align=align, new_x="LMARGIN", new_y="NEXT")

    line(str(seller.get("legal_name") or seller.get("name") or ""), size=14, style="B")
    if seller.get("tax_id"):
        line(f"{words.tax_id}: {seller['tax_id']}")
    for key in ("address", "email", "phone"):
        if seller.get(key):
            line(str(seller[key]))
    pdf.ln(6)
    line(document_title(invoice, locale), size=16, style="B")
    issued = invoice.issued_at.astimezone(zone_of(timezone))
    line(f"{words.date}: {format_date(issued.date(), format='long', locale=babel_locale(locale))}")
    line(f"{words.customer}: {invoice.customer_name or '-'}")
    pdf.ln(4)

    columns = (width * 0.52, width * 0.1, width * 0.19, width * 0.19)
    pdf.set_font("Helvetica", style="B", size=10)
    headers = (words.description, words.quantity, words.unit_price, words.amount)
    for column, (header, align) in enumerate(zip(headers, "LRRR", strict=True)):
        pdf.cell(columns[column], 8, _safe(header), border="B", align=align)
    pdf.ln(8)
    pdf.set_font("Helvetica", size=10)
    for item in item_lines(invoice):
        cells = (
            str(item.get("description", "")),
            str(item.get("quantity", 1)),
            fmt(int(item.get("unit_minor", 0))),
            fmt(int(item.get("amount_minor", 0))),
        )
        for column, (text, align) in enumerate(zip(cells, "LRRR", strict=True)):
            pdf.cell(columns[column], 7, _fit(pdf, _safe(text), columns[column] - 2), align=align)
        pdf.ln(7)
    pdf.ln(3)

    label_width, value_width = width * 0.81, width * 0.19

    def total_row(label: str, value: str, *, bold: bool = False) -> None:
        pdf.set_font("Helvetica", style="B" if bold else "", size=10)
        pdf.cell(label_width, 7, _safe(label), align="R")
        pdf.cell(value_width, 7, _safe(value), align="R", new_x="LMARGIN", new_y="NEXT")

    rate = str(tax.get("rate_percent", "0"))
    if invoice.tax_minor or rate not in ("0", ""):
        total_row(words.subtotal, fmt(invoice.total_minor - invoice.tax_minor))
        total_row(f"{words.tax} ({rate} %)", fmt(invoice.tax_minor))
    total_row(words.total, fmt(invoice.total_minor), bold=True)
    if tax.get("included") and invoice.tax_minor:
        line(f"({words.tax_included})", size=8, align="R")
    return bytes(pdf.output())
