"""A fake Twilio Messaging API on 127.0.0.1: `POST /2010-04-01/Accounts/{Sid}/Messages.json`
in Twilio's wire format (form body, HTTP Basic AccountSid:auth_token, Twilio's JSON and
error JSON), recording accepted sends and failing on command (500s, 429 with Retry-After,
a 400 with a Twilio error code). Also POSTs inbound/status webhooks to our server, signed
with Twilio's real scheme (RequestValidator.compute_signature over the public URL).

Runs in a background thread with its own loop: the outbox thread talks to it over sockets.
"""

from __future__ import annotations

import base64
import itertools
import threading
from dataclasses import dataclass
from typing import Any

import requests
from aiohttp import web
from twilio.request_validator import RequestValidator

from tests.providers.threaded import ThreadedFakeServer

ACCOUNT_SID = "AC" + "f" * 32
AUTH_TOKEN = "fake-twilio-auth-token"
OUR_NUMBER = "+15005550006"
PUBLIC_URL = "https://hablo.example.com"  # what Twilio would call; signatures cover it


@dataclass(frozen=True)
class Sent:
    account_sid: str
    form: dict[str, str]
    authorization: str

    @property
    def to(self) -> str:
        return self.form.get("To", "")

    @property
    def from_(self) -> str:
        return self.form.get("From", "")

    @property
    def body(self) -> str:
        return self.form.get("Body", "")


def basic(sid: str = ACCOUNT_SID, token: str = AUTH_TOKEN) -> str:
    return "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()


class FakeTwilio(ThreadedFakeServer):
    thread_name = "fake-twilio"

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sent: list[Sent] = []
        self.attempts = 0
        self._failures: list[tuple[int, float | None, int, str]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(
        self,
        count: int,
        status: int = 500,
        retry_after: float | None = None,
        code: int = 20500,
        message: str = "Internal Server Error",
    ) -> None:
        with self._lock:
            self._failures.extend([(status, retry_after, code, message)] * count)

    def sent_to(self, to: str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.to == to]

    # -- lifecycle -------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._messages)

    # -- the endpoint ----------------------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        form = {k: str(v) for k, v in (await request.post()).items()}
        sid = request.match_info["sid"]
        with self._lock:
            self.attempts += 1
            if sid != self.account_sid or auth != basic(self.account_sid, self.auth_token):
                return _error(401, 20003, "Authenticate")
            if self._failures:
                status, retry_after, code, message = self._failures.pop(0)
                headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                return _error(status, code, message, headers)
            if not form.get("To") or not form.get("Body"):
                return _error(400, 21604, "A 'To' phone number is required.")
            message_sid = f"SM{next(self._ids):032x}"
            self.sent.append(Sent(sid, form, auth))
        return web.json_response(
            {
                "sid": message_sid,
                "account_sid": sid,
                "to": form["To"],
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form["Body"],
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
            },
            status=201,
        )


def _error(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
        headers=headers,
    )


# -- webhooks to our server ------------------------------------------------------------------


def post_signed(
    base_url: str,
    path: str,
    params: dict[str, str],
    auth_token: str = AUTH_TOKEN,
    public_url: str = PUBLIC_URL,
    signature: str | None = None,
) -> requests.Response:
    """POST form `params` to our server at `path`, signed as Twilio signs: over the public
    URL it was configured with (not our local address). `signature=""` sends none."""
    if signature is None:
        signature = RequestValidator(auth_token).compute_signature(public_url + path, params)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return requests.post(base_url + path, data=params, headers=headers, timeout=10)


def inbound_sms(
    peer: str, body: str, sid: str, to: str = OUR_NUMBER, **extra: str
) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": sid,
        "SmsSid": sid,
        "From": peer,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
        **extra,
    }


def status_callback(sid: str, status: str, frm: str = OUR_NUMBER, to: str = "") -> dict[str, Any]:
    return {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "From": frm,
        "To": to,
        "ApiVersion": "2010-04-01",
    }
