"""A fake MercadoPago API on 127.0.0.1 for tests: Checkout Pro preferences, payments and
refunds over real HTTP, JSON in and out like the real API.

It checks the Bearer access token and the X-Idempotency-Key of writes (a repeated key
returns the first response), records every request, lets the test "pay" a preference
(a payment with the preference's `external_reference`, amounts in major units), and posts
notifications the way MercadoPago does: `?data.id=<payment>&type=payment`, a small JSON
body without state, and `x-signature: ts=<ts>,v1=HMAC-SHA256(secret,
"id:<data.id>;request-id:<x-request-id>;ts:<ts>;")`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import requests
from aiohttp import web

from tests.providers.threaded import ThreadedFakeServer

ACCESS_TOKEN = "TEST-1234567890123456-112826-fakeaccesstoken00000000-987654321"
WEBHOOK_SECRET = "fake-mercadopago-webhook-secret-0123456789abcdef"
COLLECTOR_ID = 987654321


def sign(data_id: str, request_id: str, ts: str, secret: str = WEBHOOK_SECRET) -> str:
    """MercadoPago's x-signature for a notification (data.id lower-cased if alphanumeric)."""
    shown = data_id.lower() if data_id.isalnum() else data_id
    manifest = f"id:{shown};request-id:{request_id};ts:{ts};"
    digest = hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    return f"ts={ts},v1={digest}"


class FakeMercadoPago(ThreadedFakeServer):
    thread_name = "fake-mercadopago"

    def __init__(self, access_token: str = ACCESS_TOKEN) -> None:
        super().__init__()
        self.access_token = access_token
        self.requests: list[dict[str, Any]] = []
        self.preferences: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: list[dict[str, Any]] = []
        # Set by a test to make the API fail: (status, body) answered to every request.
        self.fail_with: tuple[int, dict[str, Any]] | None = None
        self._idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what a test does as "MercadoPago" -----------------------------------------------

    def pay(
        self,
        preference_id: str,
        status: str = "approved",
        detail: str = "",
        amount: Decimal | None = None,
    ) -> str:
        """The customer paid (or tried to) at the preference's link: a new payment, as
        MercadoPago makes one per attempt (`amount` overrides what was paid). Returns its
        id."""
        with self._lock:
            preference = self.preferences[preference_id]
            items = preference["items"]
            total = sum(Decimal(str(i["unit_price"])) * int(i["quantity"]) for i in items)
            total = total if amount is None else amount
            payment_id = str(10_000_000_000 + next(self._ids))
            self.payments[payment_id] = {
                "id": int(payment_id),
                "status": status,
                "status_detail": detail or {"approved": "accredited"}.get(status, status),
                "external_reference": preference.get("external_reference"),
                "preference_id": preference_id,
                "currency_id": items[0]["currency_id"],
                "transaction_amount": _number(total),
                "transaction_amount_refunded": 0,
                "metadata": preference.get("metadata") or {},
                "payer": {"email": "buyer@example.com", "identification": {"number": "123"}},
                "collector_id": COLLECTOR_ID,
            }
            return payment_id

    def notify(
        self,
        url: str,
        payment_id: str,
        *,
        action: str = "payment.updated",
        secret: str = WEBHOOK_SECRET,
        signature: str | None = None,
        query_id: str | None = None,
        signed_at: float | None = None,
    ) -> requests.Response:
        """Post a notification for `payment_id` to hablo, signed like MercadoPago does
        (`signature` overrides the header; `query_id` the signed data.id; `signed_at` the
        signature's time, now by default)."""
        request_id = str(uuid.uuid4())
        data_id = payment_id if query_id is None else query_id
        ts = str(int((time.time() if signed_at is None else signed_at) * 1000))
        body = {
            "action": action,
            "api_version": "v1",
            "data": {"id": payment_id},
            "date_created": "2026-11-28T12:00:00.000-03:00",
            "id": 100_000 + next(self._ids),
            "live_mode": False,
            "type": "payment",
            "user_id": str(COLLECTOR_ID),
        }
        headers = {"Content-Type": "application/json", "x-request-id": request_id}
        header = sign(data_id, request_id, ts, secret) if signature is None else signature
        if header:
            headers["x-signature"] = header
        return requests.post(
            url,
            params={"data.id": data_id, "type": "payment"},
            data=json.dumps(body).encode(),
            headers=headers,
            timeout=30,
        )

    # -- lifecycle -----------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/checkout/preferences", self._create_preference)
        app.router.add_get("/v1/payments/{id}", self._get_payment)
        app.router.add_post("/v1/payments/{id}/refunds", self._create_refund)

    # -- the API -------------------------------------------------------------------------

    async def _create_preference(self, request: web.Request) -> web.Response:
        def create(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            items = body.get("items") or []
            if not items or any(
                not i.get("title") or int(i.get("quantity", 0)) < 1 or i.get("unit_price", 0) <= 0
                for i in items
            ):
                return 400, _error_body("invalid items")
            preference_id = f"{COLLECTOR_ID}-{uuid.uuid4()}"
            preference = {
                **body,
                "id": preference_id,
                "collector_id": COLLECTOR_ID,
                "init_point": "https://www.mercadopago.test/checkout/v1/redirect"
                f"?pref-id={preference_id}",
                "sandbox_init_point": "https://sandbox.mercadopago.test/checkout/v1/redirect"
                f"?pref-id={preference_id}",
                "date_created": "2026-11-28T12:00:00.000-03:00",
            }
            self.preferences[preference_id] = preference
            return 201, dict(preference)

        return await self._write(request, create)

    async def _get_payment(self, request: web.Request) -> web.Response:
        if self.fail_with is not None:
            return web.json_response(self.fail_with[1], status=self.fail_with[0])
        if not self._authorized(request):
            return _error(401, "invalid access token")
        with self._lock:
            self.requests.append({"method": "GET", "path": request.path})
            payment = self.payments.get(request.match_info["id"])
            found = json.loads(json.dumps(payment)) if payment else None
        if found is None:
            return _error(404, "Payment not found")
        return web.json_response(found)

    async def _create_refund(self, request: web.Request) -> web.Response:
        payment_id = request.match_info["id"]

        def create(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            payment = self.payments.get(payment_id)
            if payment is None:
                return 404, _error_body("Payment not found")
            if payment["status"] != "approved":
                return 400, _error_body(f"cannot refund a payment in status {payment['status']}")
            total = Decimal(str(payment["transaction_amount"]))
            left = total - Decimal(str(payment["transaction_amount_refunded"]))
            amount = Decimal(str(body["amount"])) if "amount" in body else left
            if amount <= 0 or amount > left:
                return 400, _error_body("invalid refund amount")
            refunded = Decimal(str(payment["transaction_amount_refunded"])) + amount
            payment["transaction_amount_refunded"] = _number(refunded)
            if refunded >= total:
                payment.update(status="refunded", status_detail="refunded")
            else:
                payment["status_detail"] = "partially_refunded"
            refund = {
                "id": 20_000_000 + next(self._ids),
                "payment_id": int(payment_id),
                "amount": _number(amount),
                "status": "approved",
                "refund_mode": "standard",
            }
            self.refunds.append(refund)
            return 201, refund

        return await self._write(request, create)

    async def _write(self, request: web.Request, create: Any) -> web.Response:
        if self.fail_with is not None:
            return web.json_response(self.fail_with[1], status=self.fail_with[0])
        if not self._authorized(request):
            return _error(401, "invalid access token")
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            return _error(400, "the body is not JSON")
        key = request.headers.get("X-Idempotency-Key")
        with self._lock:
            self.requests.append(
                {"method": "POST", "path": request.path, "body": body, "idempotency_key": key}
            )
            if not key:
                status, answer = 400, _error_body("this fake wants an X-Idempotency-Key")
            elif f"{request.path} {key}" in self._idempotent:
                status, answer = self._idempotent[f"{request.path} {key}"]
            else:
                status, answer = create(body)
                self._idempotent[f"{request.path} {key}"] = (status, answer)
        return web.json_response(answer, status=status)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.access_token}"


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def _error_body(message: str, status: int = 400) -> dict[str, Any]:
    return {"message": message, "error": "bad_request", "status": status, "cause": []}


def _error(status: int, message: str) -> web.Response:
    return web.json_response(_error_body(message, status), status=status)
