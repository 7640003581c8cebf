"""Twilio SMS and Twilio's WhatsApp (the same Messaging API, numbers prefixed `whatsapp:`).

Inbound: Twilio POSTs form-encoded webhooks to /webhooks/twilio/sms (messages) and
/webhooks/twilio/status (delivery callbacks), signed with the account's auth token over the
full public URL plus the sorted form params (X-Twilio-Signature). The account is found by our
number (`To` inbound, `From` on status callbacks); nothing is stored unless the signature
matches. Inbound is answered with an empty TwiML <Response/> as soon as it is in the inbox:
the bot's reply goes out later through the REST API via the outbox, so Twilio never waits.

Outbound: `TwilioSender` creates a Message with the official client, pointed at the
platform's `twilio_api_base` setting (tests use a fake Twilio on 127.0.0.1); never at an
address a tenant chose, since the request carries the tenant's credentials.

Account convention: address = our number in E.164 (for twilio_whatsapp without the
`whatsapp:` prefix); secrets `auth_token` (required: webhooks are never accepted unsigned);
config `account_sid`, optional `messaging_service_sid`, `max_per_second` (default 1: a long
code's limit), `timeout_s`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import requests
from aiohttp import web
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from hablo.adapters.accounts import AccountDirectory, CredentialsRejected, OpenAccount
from hablo.adapters.base import (
    ChannelSender,
    PermanentSendError,
    SendReceipt,
    TransientSendError,
    checked_media,
    positive_number,
    retry_after_seconds,
)
from hablo.adapters.whatsapp_cloud import TokenBucket
from hablo.db.base import utcnow
from hablo.db.enums import DeliveryStatus
from hablo.engine.bridge import LoopBridge
from hablo.engine.messages import InboundMessage, OutboundEnvelope
from hablo.engine.runtime import Engine
from hablo.engine.store import normalize_phone
from hablo.web.errors import json_error

SMS = "twilio_sms"
WHATSAPP = "twilio_whatsapp"
CHANNELS = (SMS, WHATSAPP)
WA_PREFIX = "whatsapp:"
DEFAULT_API_BASE = "https://api.twilio.com"
INBOUND_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
MAX_MEDIA = 10  # Twilio sends at most 10 media per message
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# Twilio's MessageStatus -> ours; queued/accepted/sending say nothing new.
STATUSES: Mapping[str, DeliveryStatus] = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
}
log = logging.getLogger(__name__)


def split_address(raw: str) -> tuple[str, str]:
    """ "whatsapp:+54 9 11..." -> ("twilio_whatsapp", "+54911..."); plain numbers are SMS."""
    channel = WHATSAPP if raw.startswith(WA_PREFIX) else SMS
    return channel, normalize_phone(raw.removeprefix(WA_PREFIX))


def valid_signature(auth_token: str, url: str, params: Mapping[str, str], sig: str) -> bool:
    # An empty token (an account saved before it was required) would let anyone sign.
    if not auth_token or not sig:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), sig))


# -- inbound -------------------------------------------------------------------------------


class TwilioWebhook:
    """The two webhook handlers. The bridge is attached when the app starts (needs a loop)."""

    def __init__(
        self, engine: Engine, accounts: AccountDirectory, public_url: str, channels: Iterable[str]
    ) -> None:
        self._engine = engine
        self._accounts = accounts
        self._public_url = public_url.rstrip("/")
        self._channels = frozenset(c for c in channels if c in CHANNELS)
        self._bridge: LoopBridge | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.post(INBOUND_PATH, self.inbound), web.post(STATUS_PATH, self.status)]

    def attach(self, bridge: LoopBridge) -> None:
        self._bridge = bridge

    @property
    def bridge(self) -> LoopBridge:
        if self._bridge is None:
            raise RuntimeError("twilio webhook used before the app started")
        return self._bridge

    async def _verified(
        self, request: web.Request, number_field: str
    ) -> tuple[OpenAccount, dict[str, str]] | web.StreamResponse:
        """The account behind the request and its form, or the error to answer."""
        form = {k: str(v) for k, v in (await request.post()).items()}
        try:
            channel, address = split_address(form.get(number_field, ""))
        except ValueError:
            return json_error(400, "invalid_request", f"{number_field} is not a phone number")
        if channel not in self._channels:
            return json_error(404, "channel_disabled", f"{channel} is not enabled")
        account = await self.bridge.call(self._accounts.by_address, channel, address)
        # Unknown number and bad signature look alike from outside: both 403.
        # Twilio signs the public URL it called, not our Host header: rebuild it from settings.
        url = self._public_url + request.path_qs
        token = account.secrets.get("auth_token", "") if account else ""
        sig = request.headers.get("X-Twilio-Signature", "")
        if account is None or not valid_signature(token, url, form, sig):
            log.warning(
                "twilio: rejected webhook for %s (unknown number or bad signature)", channel
            )
            return json_error(403, "invalid_signature", "X-Twilio-Signature does not match")
        return account, form

    async def inbound(self, request: web.Request) -> web.StreamResponse:
        verified = await self._verified(request, "To")
        if isinstance(verified, web.StreamResponse):
            return verified
        account, form = verified
        try:
            _, peer = split_address(form.get("From", ""))
        except ValueError:
            return json_error(400, "invalid_request", "From is not a phone number")
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        if not sid:
            return json_error(400, "invalid_request", "MessageSid is missing")
        attachments = _attachments(form)
        text = form.get("Body", "").strip()
        if not text and attachments:  # the engine needs some text for a bare MMS
            text = f"[{attachments[0]['type']}]"
        extra: tuple[tuple[str, Any], ...] = ()
        if attachments:
            extra = (("attachments", tuple(attachments)),)
        message = InboundMessage(
            tenant_id=account.tenant_id,
            channel=account.channel,
            peer=peer,
            text=text,
            provider_message_id=sid,
            received_at=utcnow(),
            sender_name=form.get("ProfileName", ""),
            extra=extra,
        )
        # The inbox's unique key makes a retried webhook a no-op.
        await self.bridge.call(self._engine.submit, message)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def status(self, request: web.Request) -> web.StreamResponse:
        verified = await self._verified(request, "From")
        if isinstance(verified, web.StreamResponse):
            return verified
        account, form = verified
        status = STATUSES.get(form.get("MessageStatus", ""))
        sid = form.get("MessageSid", "")
        if status is not None and sid:
            code = form.get("ErrorCode")
            error = f"twilio error {code}" if code and status is DeliveryStatus.FAILED else None
            await self.bridge.call(
                self._engine.store.record_delivery,
                account.tenant_id,
                account.channel,
                sid,
                status,
                error,
            )
        return web.json_response({"status": "ok"})


def _attachments(form: Mapping[str, str]) -> list[dict[str, str]]:
    """MediaUrl{N}/MediaContentType{N}, shaped like the other channels' attachments (the
    store puts extra["attachments"] in the message's attachments column)."""
    try:
        count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    found = []
    for i in range(count):
        url = form.get(f"MediaUrl{i}")
        if url:
            mime = form.get(f"MediaContentType{i}", "")
            kind = mime.split("/", 1)[0] if "/" in mime else "file"
            found.append({"type": kind, "url": url, "mime_type": mime})
    return found


# -- outbound ------------------------------------------------------------------------------


class _HttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, keeping the last Retry-After: TwilioRestException drops
    the response headers, and a 429's Retry-After is Twilio telling us when to come back."""

    retry_after: str | None = None

    def request(self, *args: Any, **kwargs: Any) -> Any:
        response = super().request(*args, **kwargs)
        headers = getattr(response, "headers", None) or {}
        self.retry_after = headers.get("Retry-After")
        return response


class TwilioSender(ChannelSender):
    """Runs on the outbox thread (the blocking Twilio client is fine there)."""

    def __init__(
        self,
        channel: str,
        accounts: AccountDirectory,
        public_url: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        allow_private_urls: bool = False,
    ) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"not a twilio channel: {channel}")
        self.channel = channel
        self._accounts = accounts
        self._api_base = api_base.rstrip("/")
        self._allow_private = allow_private_urls
        self._status_callback = public_url.rstrip("/") + STATUS_PATH
        self._buckets: dict[str, TokenBucket] = {}

    def _address(self, number: str) -> str:
        return WA_PREFIX + number if self.channel == WHATSAPP else number

    def _bucket(self, account: OpenAccount) -> TokenBucket:
        rate = positive_number(account.config.get("max_per_second"), 1.0)
        bucket = self._buckets.get(account.address)
        if bucket is None or bucket.rate != rate:
            bucket = self._buckets[account.address] = TokenBucket(rate)
        return bucket

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        account = self._accounts.for_tenant(envelope.tenant_id, self.channel)
        if account is None:
            raise PermanentSendError(f"no enabled {self.channel} account for this business")
        checked_media(envelope, self._allow_private)
        sid = str(account.config.get("account_sid") or "")
        http = _HttpClient(timeout=positive_number(account.config.get("timeout_s"), 10.0))
        client = Client(sid, account.secrets.get("auth_token", ""), http_client=http)
        client.api.base_url = self._api_base
        params: dict[str, Any] = {
            "to": self._address(envelope.peer),
            # Choices as a numbered list; an image or document goes as MMS media.
            "body": replace(envelope, media_url=None).plain_text(),
            "status_callback": self._status_callback,
        }
        if envelope.media_url:
            params["media_url"] = [envelope.media_url]
        service = account.config.get("messaging_service_sid")
        if service:
            params["messaging_service_sid"] = str(service)
        else:
            params["from_"] = self._address(account.address)
        self._bucket(account).acquire()
        try:
            message = client.messages.create(**params)
        except TwilioRestException as exc:
            error = _classify(exc, http.retry_after)
            if isinstance(error, CredentialsRejected):
                self._accounts.report_rejected(account, str(error))
            raise error from None
        except requests.RequestException as exc:
            raise TransientSendError(f"twilio: network error: {type(exc).__name__}") from None
        return SendReceipt(provider_message_id=message.sid)


def _classify(exc: TwilioRestException, retry_after: str | None) -> Exception:
    described = f"twilio HTTP {exc.status}, error {exc.code}: {exc.msg or 'no details'}"[:300]
    if exc.status == 429 or exc.status >= 500:
        return TransientSendError(described, retry_after=retry_after_seconds(retry_after))
    if exc.status == 401:  # e.g. 20003: the account SID or auth token is wrong
        return CredentialsRejected(f"twilio credentials rejected ({described})")
    return PermanentSendError(described)
