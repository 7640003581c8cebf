"""Paying for a booking from the web chat, end to end on SQLite and PostgreSQL: a real
WebSocket client, the real server and engine, the fake Stripe on 127.0.0.1 (the official
`stripe` package as the client) and Stripe's signed webhooks posted over real HTTP."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from hablo.bootstrap import Runtime, bootstrap
from hablo.db.base import utcnow
from hablo.db.enums import BookingStatus, PaymentStatus, Role
from hablo.db.models import Booking, Holiday, Invoice, Payment, Tenant
from hablo.demo import seed_demo
from hablo.payments.invoice_pdf import money
from tests.api.support import Api, Client
from tests.conftest import make_settings
from tests.e2e.server import serve
from tests.e2e.test_webchat import WS, Frame, frames_until, nothing_more, of_type, say
from tests.providers.fake_stripe import WEBHOOK_SECRET, FakeStripe

ZONE = ZoneInfo("America/Argentina/Buenos_Aires")
LINK = re.compile(r"https://checkout\.stripe\.test/c/pay/(cs_test_\w+)")
CUT_PRICE_MINOR = 800_000  # the demo's "Corte de pelo": $8.000


@dataclass
class PayChat:
    """The live server with the demo tenant's Stripe keys set, and the fake Stripe."""

    api: Api
    stripe: FakeStripe
    owner: Client

    @property
    def runtime(self) -> Runtime:
        return self.api.runtime

    @property
    def webhook_url(self) -> str:
        return f"{self.api.base_url}/api/webhooks/stripe/demo"

    def chat_url(self, visitor: str) -> str:
        return self.api.server.url(f"/chat/demo?visitor={visitor}")

    def set_payments(self, **values: Any) -> None:
        with self.runtime.db.transaction() as session:
            tenant = session.scalars(select(Tenant).where(Tenant.slug == "demo")).one()
            settings = dict(tenant.settings or {})
            settings["payments"] = {**(settings.get("payments") or {}), **values}
            tenant.settings = settings

    def payments(self) -> list[Payment]:
        with self.runtime.db.transaction() as session:
            rows = list(session.scalars(select(Payment).order_by(Payment.created_at)))
            session.expunge_all()
            return rows

    def bookings(self) -> list[Booking]:
        with self.runtime.db.transaction() as session:
            rows = list(session.scalars(select(Booking)))
            session.expunge_all()
            return rows

    def open_day(self) -> date:
        """A weekday (Mon–Fri, not a holiday) at least two days ahead in the salon's zone."""
        with self.runtime.db.transaction() as session:
            holidays = set(session.scalars(select(Holiday.day)))
        day = utcnow().astimezone(ZONE).date() + timedelta(days=2)
        while day.weekday() > 4 or day in holidays:
            day += timedelta(days=1)
        return day

    def post_event(self, event: dict[str, Any]) -> dict[str, Any]:
        r = self.stripe.post_event(self.webhook_url, event)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


@pytest.fixture
def pay_chat(db_url: str) -> Iterator[PayChat]:
    stripe = FakeStripe().start()
    runtime = bootstrap(
        make_settings(
            db_url, stripe_api_base=stripe.base_url, stripe_webhook_secret=WEBHOOK_SECRET
        ),
        upgrade_schema=False,
    )
    with runtime.db.transaction() as session:
        seed_demo(session)
    try:
        with serve(runtime) as server:
            api = Api(server, runtime)
            owner = api.as_role(Role.OWNER)
            r = owner.put(
                "/api/payments/stripe-keys",
                json={"secret_key": stripe.api_key, "webhook_secret": WEBHOOK_SECRET},
            )
            assert r.status_code == 204, r.text
            yield PayChat(api, stripe, owner)
    finally:
        runtime.db.dispose()
        stripe.stop()


async def messages_after(ws: WS, text: str, count: int) -> list[str]:
    """Send one message; the texts of the bot's next `count` messages (ack checked)."""
    client_id = f"c-{uuid.uuid4()}"
    await ws.send_json({"id": client_id, "text": text})
    frames = await frames_until(
        ws, lambda fs: bool(of_type(fs, "ack")) and len(of_type(fs, "message")) >= count
    )
    assert not of_type(frames, "error"), frames
    return [f["text"] for f in of_type(frames, "message")]


async def book_a_cut(ws: WS, day: date, expected_messages: int, yes: str = "sí") -> list[str]:
    """Book "Corte de pelo" on `day` at 17:00; the bot's messages after the "sí"."""
    _, proposal = await say(ws, f"quiero turno de corte el {day.day}/{day.month} a las 17")
    assert "Corte de pelo" in proposal["text"] and "17:00" in proposal["text"], proposal
    return await messages_after(ws, yes, expected_messages)


def session_of(text: str) -> str:
    found = LINK.search(text)
    assert found, f"no checkout link in {text!r}"
    return found.group(1)


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\xa0", " ")


def test_book_pay_from_the_chat_and_a_repeated_webhook_confirms_once(pay_chat: PayChat) -> None:
    pay_chat.set_payments(mode="deposit", deposit_percent=50)
    day = pay_chat.open_day()
    deposit = CUT_PRICE_MINOR // 2

    async def chat() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(pay_chat.chat_url("visitor-pay-1")) as ws,
        ):
            _, nothing = await say(ws, "quiero pagar")
            done, link = await book_a_cut(ws, day, expected_messages=2)
            pending = pay_chat.bookings()
            again = await messages_after(ws, "mandame el link de pago", 1)
            session_id = session_of(link)
            event = pay_chat.stripe.complete(session_id)
            first = pay_chat.post_event(event)
            second = pay_chat.post_event(event)
            confirmation: list[Frame] = await frames_until(
                ws, lambda fs: bool(of_type(fs, "message"))
            )
            await nothing_more(ws, wait=1.5)  # the repeated webhook told the customer nothing
            _, paid = await say(ws, "quiero pagar")
            await ws.close()
        return {
            "nothing": nothing["text"],
            "done": done,
            "link": link,
            "pending": pending,
            "again": again,
            "session_id": session_id,
            "webhooks": (first, second),
            "confirmation": [f["text"] for f in of_type(confirmation, "message")],
            "paid": paid["text"],
        }

    seen = asyncio.run(chat())

    assert "nada pendiente de pago" in seen["nothing"]
    assert "Listo" in seen["done"]
    # The deposit share, in the tenant's currency, with the fake Stripe's link.
    assert "la seña de $4.000" in seen["link"], seen["link"]
    assert [b.status for b in seen["pending"]] == [BookingStatus.PENDING]
    assert session_of(seen["again"][0]) == seen["session_id"]  # the open link, not a new one
    stripe_session = pay_chat.stripe.sessions[seen["session_id"]]
    assert stripe_session["amount_total"] == deposit and stripe_session["currency"] == "ars"

    first, second = seen["webhooks"]
    assert first["duplicate"] is False and first["handled"] is True
    assert second["duplicate"] is True
    assert len(seen["confirmation"]) == 1 and "Pago recibido" in seen["confirmation"][0]
    assert "ya está pago" in seen["paid"]

    (payment,) = pay_chat.payments()
    assert payment.status == PaymentStatus.COMPLETED and payment.amount_minor == deposit
    (booking,) = pay_chat.bookings()
    assert booking.status == BookingStatus.CONFIRMED and payment.booking_id == booking.id

    invoices = pay_chat.owner.get("/api/invoices").json()["items"]
    assert len(invoices) == 1
    with pay_chat.runtime.db.transaction() as session:
        assert len(session.scalars(select(Invoice)).all()) == 1
    pdf = pay_chat.owner.get(f"/api/invoices/{invoices[0]['id']}/pdf")
    assert pdf.status_code == 200, pdf.text
    text = pdf_text(pdf.content)
    for expected in ("Peluquería Sol", "Corte de pelo", money(deposit, "ARS", "es-AR")):
        assert expected.replace("\xa0", " ") in text, (expected, text)


def test_an_expired_link_is_replaced_when_the_customer_asks_to_pay(pay_chat: PayChat) -> None:
    pay_chat.set_payments(mode="full")
    day = pay_chat.open_day()

    async def chat() -> tuple[str, str, str]:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(pay_chat.chat_url("visitor-pay-2")) as ws,
        ):
            _, link = await book_a_cut(ws, day, expected_messages=2)
            handled = pay_chat.post_event(pay_chat.stripe.expire(session_of(link)))
            assert handled["handled"] is True
            (renewed,) = await messages_after(ws, "quiero pagar", 1)
            (same,) = await messages_after(ws, "mandame el link de pago", 1)
            await ws.close()
        return link, renewed, same

    link, renewed, same = asyncio.run(chat())

    assert "$8.000" in renewed and "seña" not in renewed
    assert session_of(renewed) != session_of(link)
    assert session_of(same) == session_of(renewed)
    assert [p.status for p in pay_chat.payments()] == [PaymentStatus.FAILED, PaymentStatus.PENDING]
    assert len(pay_chat.stripe.sessions) == 2


def test_after_a_declined_card_the_customer_gets_the_same_link(pay_chat: PayChat) -> None:
    """A decline leaves the Checkout page open and payable: asking to pay again must bring
    back that page, not a second one that could be paid too."""
    pay_chat.set_payments(mode="full")
    day = pay_chat.open_day()

    async def chat() -> tuple[str, str, list[str]]:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(pay_chat.chat_url("visitor-pay-5")) as ws,
        ):
            _, link = await book_a_cut(ws, day, expected_messages=2)
            (payment,) = pay_chat.payments()
            intent = {
                "id": "pi_declined_chat",
                "object": "payment_intent",
                "metadata": {"payment_id": str(payment.id), "tenant_id": str(payment.tenant_id)},
                "last_payment_error": {"code": "card_declined", "message": "Declined."},
            }
            pay_chat.post_event(
                {
                    "id": "evt_declined_chat",
                    "object": "event",
                    "type": "payment_intent.payment_failed",
                    "data": {"object": intent},
                }
            )
            (again,) = await messages_after(ws, "quiero pagar", 1)
            pay_chat.post_event(pay_chat.stripe.complete(session_of(again)))
            confirmation = await frames_until(ws, lambda fs: bool(of_type(fs, "message")))
            await ws.close()
        return link, again, [f["text"] for f in of_type(confirmation, "message")]

    link, again, confirmation = asyncio.run(chat())

    assert session_of(again) == session_of(link)
    assert len(pay_chat.stripe.sessions) == 1
    assert len(confirmation) == 1 and "Pago recibido" in confirmation[0]
    (payment,) = pay_chat.payments()
    assert payment.status == PaymentStatus.COMPLETED
    assert payment.details["last_error"]["code"] == "card_declined"
    with pay_chat.runtime.db.transaction() as session:
        assert len(session.scalars(select(Invoice)).all()) == 1


def test_no_link_when_the_business_takes_no_online_payments(pay_chat: PayChat) -> None:
    pay_chat.set_payments(mode="none")
    day = pay_chat.open_day()

    async def chat() -> tuple[list[str], str]:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(pay_chat.chat_url("visitor-pay-3")) as ws,
        ):
            done = await book_a_cut(ws, day, expected_messages=1)
            await nothing_more(ws, wait=1.0)
            _, asked = await say(ws, "quiero pagar")
            await ws.close()
        return done, asked["text"]

    done, asked = asyncio.run(chat())

    assert len(done) == 1 and "Listo" in done[0] and "http" not in done[0]
    assert "no cobramos online" in asked
    assert [b.status for b in pay_chat.bookings()] == [BookingStatus.CONFIRMED]
    assert pay_chat.payments() == []
    assert pay_chat.stripe.requests == []


def test_a_stripe_failure_gets_a_polite_answer_and_the_chat_goes_on(pay_chat: PayChat) -> None:
    """Stripe refuses the key (401): the customer is told to try again, in English here,
    the booking stays and no payment is left behind."""
    pay_chat.set_payments(mode="full")
    r = pay_chat.owner.put(
        "/api/payments/stripe-keys",
        json={"secret_key": "sk_test_notTheRightKey1", "webhook_secret": WEBHOOK_SECRET},
    )
    assert r.status_code == 204, r.text
    day = pay_chat.open_day()

    async def chat() -> tuple[list[str], str, str]:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(pay_chat.chat_url("visitor-pay-4")) as ws,
        ):
            _, proposal = await say(ws, f"can I book a haircut on {day.day}/{day.month} at 5pm?")
            assert "Shall I book" in proposal["text"], proposal
            done = await messages_after(ws, "yes please", 2)
            _, asked = await say(ws, "i want to pay")
            _, price = await say(ws, "how much is a haircut?")
            await ws.close()
        return done, asked["text"], price["text"]

    done, asked, price = asyncio.run(chat())

    assert "Done" in done[0]
    assert "couldn't create the payment link" in done[1]
    assert "couldn't create the payment link" in asked
    assert "8,000" in price or "8.000" in price
    assert [b.status for b in pay_chat.bookings()] == [BookingStatus.PENDING]
    assert pay_chat.payments() == []
    assert pay_chat.stripe.sessions == {}  # "Stripe" refused both attempts
