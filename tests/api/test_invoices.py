"""Invoices over the API: list with filters, detail, PDF download, send by e-mail,
tenant isolation and roles."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.header import decode_header, make_header
from typing import Any

import pytest

from hablo.db.enums import Role
from hablo.db.models import Payment, Tenant
from hablo.payments.invoices import issue_invoice
from tests.api.auth_helpers import live_api
from tests.api.support import Api
from tests.providers.fake_smtp import Inbox
from tests.unit.test_invoice_numbers import make_payment, pdf_text


@pytest.fixture
def mailed(db_url: str) -> Iterator[tuple[Api, Inbox]]:
    with live_api(db_url) as running:
        yield running


def paid_invoice(api: Api, tenant: str = "demo", when: datetime | None = None, **kw: Any) -> str:
    """A completed payment and its invoice, written directly; returns the invoice id."""
    tenant_id = api.tenant_id(tenant)
    with api.runtime.db.transaction() as session:
        row = session.get_one(Tenant, tenant_id)
        row.settings = {
            **row.settings,
            "invoicing": {"tax_rate_percent": 21, "tax_id": "30-12345678-9"},
        }
        payment_id = make_payment(session, tenant_id, **kw)
        payment = session.get_one(Payment, payment_id)
        invoice = issue_invoice(session, payment, now=when or datetime.now(UTC))
        return str(invoice.id)


def test_list_filter_detail_and_download(api: Api) -> None:
    first = paid_invoice(api, when=datetime(2026, 11, 2, 15, tzinfo=UTC), service_name="Manicura")
    second = paid_invoice(
        api, when=datetime(2026, 11, 20, 15, tzinfo=UTC), customer="Ana", amount_minor=500_000
    )
    owner = api.as_role(Role.OWNER)

    page = owner.get("/api/invoices").json()
    assert page["total"] == 2
    assert [i["number"] for i in page["items"]] == [2, 1]  # newest number first
    assert [i["id"] for i in page["items"]] == [second, first]

    november_early = owner.get("/api/invoices", params={"from": "2026-11-01", "to": "2026-11-10"})
    assert [i["id"] for i in november_early.json()["items"]] == [first]
    by_number = owner.get("/api/invoices", params={"number": 2}).json()
    assert [i["customer_name"] for i in by_number["items"]] == ["Ana"]
    contact_id = by_number["items"][0]["contact_id"]
    by_contact = owner.get("/api/invoices", params={"contact_id": contact_id}).json()
    assert [i["id"] for i in by_contact["items"]] == [second]

    detail = owner.get(f"/api/invoices/{first}")
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["title"] == "Factura N.º 1" and body["customer_name"] == "Begoña Núñez"
    assert body["tax_rate_percent"] == "21" and body["tax_included"] is True
    assert body["net_minor"] + body["tax_minor"] == body["total_minor"]
    assert [line["description"] for line in body["lines"]] == ["Manicura"]

    pdf = owner.get(f"/api/invoices/{first}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"] == 'attachment; filename="factura-000001.pdf"'
    text = pdf_text(pdf.content)
    for expected in ("Peluquería Sol", "Factura N.º 1", "Begoña Núñez", "Manicura", "Total"):
        assert expected in text, expected


def test_bad_filters_are_refused(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    for params in (
        {"from": "2026-11-10", "to": "2026-11-01"},
        {"number": 0},
        {"sort": "amount"},
        {"unknown": "1"},
    ):
        response = owner.get("/api/invoices", params=params)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] == "validation_error"


def test_other_tenants_and_roles_cannot_see_them(api: Api) -> None:
    ours = paid_invoice(api)
    theirs = paid_invoice(api, tenant="other")
    owner = api.as_role(Role.OWNER)
    assert [i["id"] for i in owner.get("/api/invoices").json()["items"]] == [ours]
    for path in (f"/api/invoices/{theirs}", f"/api/invoices/{theirs}/pdf"):
        missing = owner.get(path)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert owner.post(f"/api/invoices/{theirs}/send", json={}).status_code == 404
    assert owner.get(f"/api/invoices/{uuid.uuid4()}").status_code == 404
    # Numbers are per tenant: the other tenant's first invoice is its number 1 too.
    other_owner = api.as_role(Role.OWNER, tenant="other")
    assert other_owner.get(f"/api/invoices/{theirs}").json()["number"] == 1
    assert api.as_role(Role.AGENT).get("/api/invoices").status_code == 403
    assert api.anonymous().get(f"/api/invoices/{ours}/pdf").status_code == 401


def _attachment(message: Any) -> tuple[str, bytes]:
    for part in message.walk():
        if part.get_content_type() == "application/pdf":
            return part.get_filename(), part.get_payload(decode=True)
    raise AssertionError("no PDF attached")


def test_send_by_mail_to_the_customer_or_a_given_address(
    mailed: tuple[Api, Inbox],
) -> None:
    api, inbox = mailed
    owner = api.as_role(Role.OWNER)
    invoice = paid_invoice(api, email="begona@example.com")

    sent = owner.post(f"/api/invoices/{invoice}/send", json={})
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"sent_to": "begona@example.com", "number": 1}
    message = inbox.wait_for("begona@example.com")
    assert "Factura N.º 1" in str(make_header(decode_header(message["Subject"])))
    name, data = _attachment(message)
    assert name == "factura-000001.pdf"
    assert "Begoña Núñez" in pdf_text(data)

    other = owner.post(f"/api/invoices/{invoice}/send", json={"email": "conta@example.com"})
    assert other.status_code == 200 and other.json()["sent_to"] == "conta@example.com"
    inbox.wait_for("conta@example.com")


def test_send_without_an_address_is_refused(mailed: tuple[Api, Inbox]) -> None:
    api, inbox = mailed
    owner = api.as_role(Role.OWNER)
    invoice = paid_invoice(api, email=None)
    refused = owner.post(f"/api/invoices/{invoice}/send", json={})
    assert refused.status_code == 409
    assert refused.json()["error"]["details"] == {"field": "email"}
    injected = owner.post(
        f"/api/invoices/{invoice}/send", json={"email": "a@example.com\r\nBcc: x@example.com"}
    )
    assert injected.status_code == 422
    assert inbox.mails == []
