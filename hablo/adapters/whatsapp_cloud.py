"""The WhatsApp Cloud API channel (Meta's Graph API).

Inbound: Meta POSTs webhooks to /webhooks/whatsapp, signed with the app secret
(X-Hub-Signature-256). Each change names the business's phone number id, which is the
channel account's address; messages go to `Engine.submit` (the inbox dedupes Meta's
retries by message id), statuses to `record_delivery`. We answer 200 once stored: the
engine works asynchronously, and Meta retries anything else.

Outbound: `WhatsAppCloudSender` POSTs /{phone_number_id}/messages. Free-form text is only
allowed within 24 hours of the customer's last message; outside it Meta answers error
131047 and we fall back to the account's approved template, if one is configured.

Account convention: address = phone number id; secrets `access_token`, `app_secret` (both
required: a webhook is never accepted unsigned); config `verify_token`, optional
`template_name`, `template_language`, `template_text_param` (pass the reply as the
template's {{1}}), `max_per_second`, `timeout_s`. The Graph API base URL is the platform's
`whatsapp_cloud_api_base` setting, never an account's: a tenant must not be able to send
its token to an address of its choosing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

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
from hablo.adapters.whatsapp_cloud_parse import parse_webhook, phone_number_ids
from hablo.db.base import utcnow
from hablo.db.enums import SenderKind
from hablo.db.models import ChannelAccount, Message
from hablo.engine.bridge import LoopBridge
from hablo.engine.messages import InboundMessage, OutboundEnvelope
from hablo.engine.runtime import Engine
from hablo.web import json_body
from hablo.web.errors import json_error

CHANNEL = "whatsapp_cloud"
DEFAULT_API_BASE = "https://graph.facebook.com/v21.0"
MAX_WEBHOOK_BYTES = 512 * 1024  # Meta batches at most a few hundred small changes
SERVICE_WINDOW = timedelta(hours=24)
OUTSIDE_WINDOW = 131047  # "re-engagement message": more than 24 h since the customer wrote
# Graph error codes worth retrying: throttling (4, 80007, 130429, 131056 pair rate limit)
# and "temporarily unavailable" (1, 2, 131000, 131016).
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056})
log = logging.getLogger(__name__)

# conversation id -> when the customer last wrote (None: never / unknown)
LastInbound = Callable[[uuid.UUID], datetime | None]


def signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256 is "sha256=" + hex HMAC-SHA256 of the raw body. An empty secret
    (an account saved before it was required) verifies nothing: anyone can sign with it."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


# -- inbound -------------------------------------------------------------------------------


class WhatsAppCloudWebhook:
    """The webhook handlers. The bridge is attached when the app starts (needs a loop)."""

    def __init__(
        self, engine: Engine, accounts: AccountDirectory, platform_verify_token: str | None
    ) -> None:
        self._engine = engine
        self._accounts = accounts
        self._platform_token = platform_verify_token
        self._bridge: LoopBridge | None = None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/webhooks/whatsapp", self.verify),
            web.post("/webhooks/whatsapp", self.receive),
        ]

    def attach(self, bridge: LoopBridge) -> None:
        self._bridge = bridge

    @property
    def bridge(self) -> LoopBridge:
        if self._bridge is None:
            raise RuntimeError("whatsapp webhook used before the app started")
        return self._bridge

    async def verify(self, request: web.Request) -> web.StreamResponse:
        """Meta's subscription handshake: echo hub.challenge if the verify token is ours."""
        query = request.query
        token = query.get("hub.verify_token", "")
        challenge = query.get("hub.challenge", "")
        if query.get("hub.mode") != "subscribe" or not token or not challenge:
            return json_error(403, "verification_failed", "not a valid subscription request")
        if not await self.bridge.call(self._known_verify_token, token):
            log.warning("whatsapp: webhook verification with an unknown verify token")
            return json_error(403, "verification_failed", "verify token does not match")
        return web.Response(text=challenge[:200], content_type="text/plain")

    def _known_verify_token(self, token: str) -> bool:
        candidates = [self._platform_token] if self._platform_token else []
        with self._engine.db.transaction() as session:
            configs = session.scalars(
                select(ChannelAccount.config).where(
                    ChannelAccount.channel == CHANNEL, ChannelAccount.enabled.is_(True)
                )
            ).all()
        candidates += [str(c.get("verify_token")) for c in configs if c and c.get("verify_token")]
        # Compare against every candidate: timing does not reveal which one matched.
        matches = [hmac.compare_digest(token.encode(), c.encode()) for c in candidates]
        return any(matches)

    async def receive(self, request: web.Request) -> web.StreamResponse:
        if (request.content_length or 0) > MAX_WEBHOOK_BYTES:
            return json_error(413, "payload_too_large", "webhook body too large")
        buffer = bytearray()  # read() returns what has arrived so far: loop to the end
        while chunk := await request.content.read(64 * 1024):
            buffer += chunk
            if len(buffer) > MAX_WEBHOOK_BYTES:
                return json_error(413, "payload_too_large", "webhook body too large")
        body = bytes(buffer)
        try:
            payload = json_body.loads(body)
        except json_body.InvalidJson as exc:
            return json_error(400, "invalid_json", f"the webhook body is {exc}")
        signature = request.headers.get("X-Hub-Signature-256")
        outcome = await self.bridge.call(self._handle, payload, body, signature)
        if outcome == "bad_signature":
            return json_error(401, "invalid_signature", "X-Hub-Signature-256 does not match")
        return web.json_response({"status": outcome})

    def _handle(self, payload: Any, body: bytes, signature: str | None) -> str:
        """Blocking part (account lookups, DB writes): runs on the bridge's executor."""
        accounts: dict[str, OpenAccount] = {}
        for number in phone_number_ids(payload):
            account = self._accounts.by_address(CHANNEL, number)
            if account is None:
                log.info("whatsapp: webhook for unknown phone number id %s ignored", number)
            else:
                accounts[number] = account
        if not accounts:
            return "ignored"
        # Every account the payload touches must vouch for it before anything is stored.
        for account in accounts.values():
            if not signature_ok(account.secrets.get("app_secret", ""), body, signature):
                log.warning("whatsapp: bad webhook signature for account %s", account.id)
                return "bad_signature"
        messages, statuses = parse_webhook(payload)
        for message in messages:
            account = accounts.get(message.phone_number_id)
            if account is None:
                continue
            self._engine.submit(
                InboundMessage(
                    tenant_id=account.tenant_id,
                    channel=CHANNEL,
                    peer=message.peer,
                    text=message.text,
                    provider_message_id=message.provider_message_id,
                    received_at=utcnow(),
                    sender_name=message.sender_name,
                    extra=message.extra,
                )
            )
        for status in statuses:
            account = accounts.get(status.phone_number_id)
            if account is not None:
                self._engine.store.record_delivery(
                    account.tenant_id,
                    CHANNEL,
                    status.provider_message_id,
                    status.status,
                    status.error,
                )
        return "ok"


def last_customer_message(engine: Engine) -> LastInbound:
    """When the customer last wrote in a conversation (for the 24-hour service window)."""

    def lookup(conversation_id: uuid.UUID) -> datetime | None:
        with engine.db.transaction() as session:
            return session.scalar(
                select(func.max(Message.created_at)).where(
                    Message.conversation_id == conversation_id,
                    Message.sender_kind == SenderKind.CUSTOMER,
                )
            )

    return lookup


# -- outbound ------------------------------------------------------------------------------


class TokenBucket:
    """Paces sends of one phone number: at most `rate` per second, no bursts above it."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._tokens = 1.0
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            # Capacity 1: sends are spread evenly, a burst never goes over the rate.
            self._tokens = min(1.0, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            wait = (1.0 - self._tokens) / self.rate if self._tokens < 1.0 else 0.0
            self._tokens -= 1.0
        if wait > 0:
            self._sleep(wait)


class WhatsAppCloudSender(ChannelSender):
    """Runs on the outbox thread (blocking HTTP is fine there)."""

    channel = CHANNEL

    def __init__(
        self,
        accounts: AccountDirectory,
        last_inbound: LastInbound | None = None,
        default_rate: float = 80.0,
        *,
        api_base: str = DEFAULT_API_BASE,
        allow_private_urls: bool = False,
    ) -> None:
        self._accounts = accounts
        self._api_base = api_base.rstrip("/")
        self._allow_private = allow_private_urls
        self._last_inbound = last_inbound
        self._default_rate = default_rate
        self._buckets: dict[str, TokenBucket] = {}

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        account = self._accounts.for_tenant(envelope.tenant_id, CHANNEL)
        if account is None:
            raise PermanentSendError("no enabled whatsapp_cloud account for this business")
        try:
            return self._send(account, envelope)
        except CredentialsRejected as exc:
            self._accounts.report_rejected(account, str(exc))
            raise

    def _send(self, account: OpenAccount, envelope: OutboundEnvelope) -> SendReceipt:
        checked_media(envelope, self._allow_private)
        template = _template(account.config, envelope.text)
        if template is not None and self._outside_window(envelope):
            return self._post(account, envelope.peer, template)  # known up front: skip a 131047
        try:
            return self._post(account, envelope.peer, content_of(envelope, account.config))
        except _OutsideWindow as exc:
            if template is None:
                raise PermanentSendError(
                    "outside WhatsApp's 24-hour window and no approved template configured"
                ) from exc
            return self._post(account, envelope.peer, template)

    def _outside_window(self, envelope: OutboundEnvelope) -> bool:
        if self._last_inbound is None or envelope.conversation_id is None:
            return False
        try:
            last = self._last_inbound(envelope.conversation_id)
        except Exception:  # a DB hiccup must not block the send: 131047 still covers us
            log.warning("whatsapp: could not read the last inbound time", exc_info=True)
            return False
        if last is None:
            return False
        if last.tzinfo is None:  # SQLite returns naive UTC
            last = last.replace(tzinfo=utcnow().tzinfo)
        return utcnow() - last > SERVICE_WINDOW

    def _bucket(self, account: OpenAccount) -> TokenBucket:
        rate = positive_number(account.config.get("max_per_second"), self._default_rate)
        bucket = self._buckets.get(account.address)
        if bucket is None or bucket.rate != rate:
            bucket = self._buckets[account.address] = TokenBucket(rate)
        return bucket

    def _post(self, account: OpenAccount, peer: str, content: dict[str, Any]) -> SendReceipt:
        base = self._api_base
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": peer}
        request = urllib.request.Request(
            f"{base}/{account.address}/messages",
            data=json.dumps({**body, **content}).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {account.secrets.get('access_token', '')}",
                "Content-Type": "application/json",
            },
        )
        timeout = positive_number(account.config.get("timeout_s"), 10.0)
        self._bucket(account).acquire()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise _classify(exc.code, exc.headers.get("Retry-After"), exc.read()) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            raise TransientSendError(f"whatsapp: network error: {type(exc).__name__}") from None
        except ValueError as exc:
            raise TransientSendError("whatsapp: answer was not JSON") from exc
        try:
            return SendReceipt(provider_message_id=str(answer["messages"][0]["id"]))
        except (KeyError, IndexError, TypeError):
            return SendReceipt(provider_message_id=None)


class _OutsideWindow(PermanentSendError):
    """Meta refused free-form text: the 24-hour service window is closed."""


def _classify(status: int, retry_after: str | None, raw: bytes) -> Exception:
    try:
        error = json.loads(raw).get("error", {})
        code = int(error.get("code", 0))
        message = str(error.get("message", ""))[:200]
    except (ValueError, AttributeError, TypeError):
        code, message = 0, ""
    described = f"whatsapp HTTP {status}, error {code}: {message or 'no details'}"
    if code == OUTSIDE_WINDOW:
        return _OutsideWindow(described)
    if status == 429 or status >= 500 or code in TRANSIENT_CODES:
        return TransientSendError(described, retry_after=retry_after_seconds(retry_after))
    if status == 401 or code == 190:
        return CredentialsRejected(f"whatsapp access token rejected ({described})")
    return PermanentSendError(described)


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": text, "preview_url": False}}


# The Graph API's limits for interactive messages.
MAX_BUTTONS, MAX_BUTTON_TITLE = 3, 20
MAX_ROWS, MAX_ROW_TITLE = 10, 24
MAX_INTERACTIVE_BODY = 1024


def content_of(envelope: OutboundEnvelope, config: Mapping[str, Any]) -> dict[str, Any]:
    """The message a reply becomes: media with a caption, reply buttons (up to 3 short
    choices), a list (up to 10), or text with the choices numbered when they do not fit."""
    choices = envelope.choices
    if envelope.media_url:
        kind = envelope.media_type
        media: dict[str, Any] = {"link": envelope.media_url}
        caption = replace(envelope, media_url=None).plain_text()
        if caption:
            media["caption"] = caption[:1024]
        return {"type": kind, kind: media}
    fits_body = len(envelope.text) <= MAX_INTERACTIVE_BODY and envelope.text.strip()
    if choices and fits_body:
        body = {"text": envelope.text}
        if len(choices) <= MAX_BUTTONS and all(len(c) <= MAX_BUTTON_TITLE for c in choices):
            buttons = [
                {"type": "reply", "reply": {"id": f"choice:{n}", "title": c}}
                for n, c in enumerate(choices, 1)
            ]
            action: dict[str, Any] = {"buttons": buttons}
            return {
                "type": "interactive",
                "interactive": {"type": "button", "body": body, "action": action},
            }
        if len(choices) <= MAX_ROWS and all(len(c) <= MAX_ROW_TITLE for c in choices):
            rows = [{"id": f"choice:{n}", "title": c} for n, c in enumerate(choices, 1)]
            label = str(config.get("list_button") or "Ver opciones")[:20]
            action = {"button": label, "sections": [{"rows": rows}]}
            return {
                "type": "interactive",
                "interactive": {"type": "list", "body": body, "action": action},
            }
    return _text(envelope.plain_text())


def _template(config: Mapping[str, Any], text: str) -> dict[str, Any] | None:
    name = config.get("template_name")
    if not name:
        return None
    template: dict[str, Any] = {
        "name": str(name),
        "language": {"code": str(config.get("template_language") or "es")},
    }
    if config.get("template_text_param"):
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": text[:1024]}]}
        ]
    return {"type": "template", "template": template}
