"""A fake Stripe API on 127.0.0.1 for tests: Checkout Sessions and Refunds over real HTTP,
form-encoded like the real API, with the official `stripe` package as the client.

It checks the Bearer key and the Idempotency-Key (a repeated key returns the first
response), records every request, and builds the webhook events Stripe would send; the
test posts them to hablo signed with Stripe's real scheme
(`t=<unix>,v1=HMAC-SHA256(secret, "<t>.<payload>")`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from typing import Any

import requests
from aiohttp import web

from tests.providers.threaded import ThreadedFakeServer

DEFAULT_KEY = "sk_test_fakeStripeKey123"
WEBHOOK_SECRET = "whsec_fakeStripeSigningSecret"
_INDEX = re.compile(r"\[([^\]]*)\]")


def parse_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket form encoding (`a[b][0][c]=v`) back into nested dicts/lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head = key.split("[", 1)[0]
        parts = [head, *_INDEX.findall(key)]
        node: dict[str, Any] = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


class FakeStripe(ThreadedFakeServer):
    thread_name = "fake-stripe"

    def __init__(self, api_key: str = DEFAULT_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self.refunds: list[dict[str, Any]] = []
        self._idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what a test does as "Stripe" ------------------------------------------------------

    def complete(self, session_id: str) -> dict[str, Any]:
        """The customer paid: the session is complete; the event Stripe would send."""
        with self._lock:
            session = self.sessions[session_id]
            session.update(status="complete", payment_status="paid", payment_intent=self._id("pi"))
            return self._event("checkout.session.completed", dict(session))

    def expire(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            session = self.sessions[session_id]
            session["status"] = "expired"
            return self._event("checkout.session.expired", dict(session))

    def charge_refunded(self, payment_intent: str) -> dict[str, Any]:
        """The charge.refunded event after the refunds made so far (cumulative amount)."""
        with self._lock:
            session = self._by_intent(payment_intent)
            assert session is not None, f"no session paid with {payment_intent}"
            charge = {
                "id": "ch_" + payment_intent[3:],
                "object": "charge",
                "payment_intent": payment_intent,
                "amount": session["amount_total"],
                "amount_refunded": session.get("amount_refunded", 0),
                "refunded": session.get("amount_refunded", 0) >= session["amount_total"],
                "currency": session["currency"],
                "metadata": {},
            }
            return self._event("charge.refunded", charge)

    def post_event(
        self, url: str, event: dict[str, Any], secret: str = WEBHOOK_SECRET
    ) -> requests.Response:
        payload = json.dumps(event)
        return requests.post(
            url,
            data=payload.encode(),
            headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload, secret)},
            timeout=30,
        )

    # -- lifecycle ---------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/checkout/sessions", self._create_session)
        app.router.add_get("/v1/checkout/sessions/{id}", self._get_session)
        app.router.add_post("/v1/refunds", self._create_refund)

    # -- the API -----------------------------------------------------------------------

    async def _create_session(self, request: web.Request) -> web.Response:
        def create(params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            items = params.get("line_items") or []
            total = sum(
                int(i["price_data"]["unit_amount"]) * int(i.get("quantity", 1)) for i in items
            )
            session_id = self._id("cs_test")
            session = {
                "id": session_id,
                "object": "checkout.session",
                "url": f"https://checkout.stripe.test/c/pay/{session_id}",
                "expires_at": int(time.time()) + 24 * 3600,
                "status": "open",
                "payment_status": "unpaid",
                "mode": params.get("mode"),
                "amount_total": total,
                "currency": items[0]["price_data"]["currency"] if items else "usd",
                "client_reference_id": params.get("client_reference_id"),
                "metadata": params.get("metadata") or {},
                "payment_intent": None,
                "success_url": params.get("success_url"),
            }
            self.sessions[session_id] = session
            return 200, dict(session)

        return await self._write(request, create)

    async def _get_session(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "Invalid API Key provided")
        with self._lock:
            session = self.sessions.get(request.match_info["id"])
        if session is None:
            return _error(404, "No such checkout.session")
        return web.json_response(session)

    async def _create_refund(self, request: web.Request) -> web.Response:
        def create(params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            session = self._by_intent(str(params.get("payment_intent")))
            if session is None:
                return 404, _error_body("No such payment_intent")
            left = session["amount_total"] - session.get("amount_refunded", 0)
            amount = int(params.get("amount", left))
            if amount <= 0 or amount > left:
                return 400, _error_body(
                    f"Refund amount ({amount}) is greater than unrefunded amount ({left})"
                )
            session["amount_refunded"] = session.get("amount_refunded", 0) + amount
            refund = {
                "id": self._id("re"),
                "object": "refund",
                "amount": amount,
                "payment_intent": params["payment_intent"],
                "status": "succeeded",
            }
            self.refunds.append(refund)
            return 200, refund

        return await self._write(request, create)

    async def _write(self, request: web.Request, create: Any) -> web.Response:
        if not self._authorized(request):
            return _error(401, "Invalid API Key provided")
        params = parse_form(list((await request.post()).items()))  # type: ignore[arg-type]
        key = request.headers.get("Idempotency-Key")
        with self._lock:
            self.requests.append({"path": request.path, "params": params, "idempotency_key": key})
            if not key:
                status, body = 400, _error_body("this fake wants an Idempotency-Key")
            elif f"{request.path} {key}" in self._idempotent:
                status, body = self._idempotent[f"{request.path} {key}"]
            else:
                status, body = create(params)
                self._idempotent[f"{request.path} {key}"] = (status, body)
        return web.json_response(body, status=status)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    def _by_intent(self, payment_intent: str) -> dict[str, Any] | None:
        for session in self.sessions.values():
            if session.get("payment_intent") == payment_intent:
                return session
        return None

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}{int(time.time() * 1000) % 100000:05d}"

    def _event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self._id("evt"),
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }


def _error_body(message: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "message": message}}


def _error(status: int, message: str) -> web.Response:
    return web.json_response(_error_body(message), status=status)
