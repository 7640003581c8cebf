"""A fake WhatsApp Cloud API (Graph API) on 127.0.0.1: `POST /v21.0/{phone_number_id}/messages`
in the real wire format, checking the Bearer token, recording every accepted send, and
failing on command (500s, 429 with Retry-After, error 131047 for a peer outside the
24-hour window). Also builds Meta-shaped webhooks and POSTs them, correctly signed, to
our server.

Runs in a background thread with its own loop: the outbox thread and the test talk to it
over real sockets.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from aiohttp import web

from tests.providers.threaded import ThreadedFakeServer

PHONE_NUMBER_ID = "109876543210"
ACCESS_TOKEN = "EAAG-fake-access-token"
APP_SECRET = "fake-app-secret"
VERIFY_TOKEN = "hablo-verify-me"


@dataclass(frozen=True)
class Sent:
    phone_number_id: str
    body: dict[str, Any]
    authorization: str

    @property
    def to(self) -> str:
        return str(self.body.get("to"))

    @property
    def text(self) -> str:
        return str(self.body.get("text", {}).get("body", ""))


class FakeWhatsAppCloud(ThreadedFakeServer):
    thread_name = "fake-wa-cloud"

    def __init__(self, access_token: str = ACCESS_TOKEN) -> None:
        super().__init__()
        self.access_token = access_token
        self.sent: list[Sent] = []
        self.attempts = 0  # every POST that reached us, accepted or not
        self._failures: list[tuple[int, float | None]] = []
        self._outside_window: set[str] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v21.0"

    # -- scripting -------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 500, retry_after: float | None = None) -> None:
        with self._lock:
            self._failures.extend([(status, retry_after)] * count)

    def heal(self) -> None:
        """Forget the failures still scripted."""
        with self._lock:
            self._failures.clear()

    def outside_window(self, peer: str) -> None:
        """Free-form text to `peer` gets error 131047 (templates still go through)."""
        with self._lock:
            self._outside_window.add(peer)

    def sent_to(self, peer: str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.to == peer]

    # -- lifecycle -------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v21.0/{number}/messages", self._messages)

    # -- the endpoint ----------------------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        body = await request.json()
        with self._lock:
            self.attempts += 1
            if auth != f"Bearer {self.access_token}":
                return _graph_error(401, 190, "Invalid OAuth access token.", "OAuthException")
            if self._failures:
                status, retry_after = self._failures.pop(0)
                headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                code = 130429 if status == 429 else 131000
                return _graph_error(status, code, f"scripted {status}", headers=headers)
            if body.get("type") == "text" and body.get("to") in self._outside_window:
                return _graph_error(
                    400,
                    131047,
                    "Re-engagement message",
                    details="More than 24 hours have passed since the recipient last replied.",
                )
            message_id = f"wamid.FAKE{next(self._ids):06d}"
            self.sent.append(Sent(request.match_info["number"], body, auth))
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": message_id}],
            }
        )


def _graph_error(
    status: int,
    code: int,
    message: str,
    kind: str = "OAuthException",
    details: str = "",
    headers: dict[str, str] | None = None,
) -> web.Response:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbC"}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return web.json_response({"error": error}, status=status, headers=headers)


# -- webhooks Meta would send us -------------------------------------------------------------


def envelope(
    *,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    contacts: list[dict[str, Any]] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "5491100000000", "phone_number_id": phone_number_id},
    }
    if contacts:
        value["contacts"] = contacts
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-1", "changes": [{"field": "messages", "value": value}]}],
    }


def inbound(
    peer: str, kind: str, content: dict[str, Any], message_id: str, name: str = "Ana"
) -> dict[str, Any]:
    """A customer message of any type (`content` is the type's object)."""
    message = {
        "from": peer,
        "id": message_id,
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: content,
    }
    return envelope(messages=[message], contacts=[{"profile": {"name": name}, "wa_id": peer}])


def text_message(peer: str, text: str, message_id: str, name: str = "Ana") -> dict[str, Any]:
    return inbound(peer, "text", {"body": text}, message_id, name)


def status_update(
    peer: str, provider_message_id: str, status: str, error: tuple[int, str] | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": provider_message_id,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": peer,
    }
    if error is not None:
        item["errors"] = [{"code": error[0], "title": error[1]}]
    return envelope(statuses=[item])


def sign(body: bytes, app_secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(
    base_url: str,
    payload: dict[str, Any],
    *,
    app_secret: str = APP_SECRET,
    signature: str | None = "sign",
) -> requests.Response:
    """POST `payload` as Meta does: the raw JSON bytes, signed with the app secret
    (`signature=None` sends no header; any other string is sent as is)."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Hub-Signature-256"] = sign(body, app_secret)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return requests.post(f"{base_url}/webhooks/whatsapp", data=body, headers=headers, timeout=30)
