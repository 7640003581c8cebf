"""Replies on the whatsapp_web channel go through the tenant's open page, under the rules
that keep the number from being banned: reply only (the customer wrote within 24 hours),
the number's caps per minute and per day, "typing..." before each message."""

from __future__ import annotations

import concurrent.futures
import logging
from dataclasses import replace

from hablo.adapters.base import (
    ChannelSender,
    PermanentSendError,
    SendError,
    SendReceipt,
    TransientSendError,
)
from hablo.adapters.whatsapp_web import CHANNEL
from hablo.adapters.whatsapp_web.media import fetch_media
from hablo.adapters.whatsapp_web.pacing import SendDeferred, SendRefused
from hablo.adapters.whatsapp_web.registry import WhatsAppWebSessions
from hablo.adapters.whatsapp_web.session import SessionNotConnected
from hablo.engine.messages import OutboundEnvelope

log = logging.getLogger(__name__)

# The page's own work (read receipt, sending, a file's upload) on top of the pacing.
PAGE_TIMEOUT_S = 30.0
REPLY_ONLY = (
    "reply only: this customer has not written in the last 24 hours, and WhatsApp Web"
    " never starts a conversation (it gets numbers banned)"
)


class WhatsAppWebSender(ChannelSender):
    channel = CHANNEL

    def __init__(self, sessions: WhatsAppWebSessions) -> None:
        self._sessions = sessions
        settings = sessions.settings
        self._allow_private = settings.allow_private_urls
        # The longest a send may take: the gap, the typing pause and the page's work.
        self._timeout = (
            settings.whatsapp_web_max_gap_s
            + max(settings.whatsapp_web_typing_min_s, settings.whatsapp_web_typing_max_s)
            + PAGE_TIMEOUT_S
        )

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        tenant_id, peer = envelope.tenant_id, envelope.peer
        try:
            self._sessions.check_connected(tenant_id)
            if not self._sessions.may_reply(tenant_id, peer):
                raise SendRefused(REPLY_ONLY)
            media = fetch_media(envelope, self._allow_private)
            # With a file, the text is its caption (choices numbered, no link).
            text = (envelope if media is None else replace(envelope, media_url=None)).plain_text()
            message_id = self._sessions.send(
                tenant_id, peer, text, timeout=self._timeout, media=media
            )
        except SendError:
            raise  # the media link's answer
        except SendRefused as exc:
            _refused(envelope, str(exc))
            raise PermanentSendError(str(exc)) from exc
        except SendDeferred as exc:
            raise TransientSendError(str(exc), exc.wait_s) from exc
        except SessionNotConnected as exc:
            # The outbox retries: the owner may be re-scanning the QR right now.
            raise TransientSendError(f"whatsapp_web session not connected ({exc})", 5.0) from exc
        except (concurrent.futures.TimeoutError, TimeoutError) as exc:
            raise TransientSendError("whatsapp_web page did not answer in time") from exc
        except Exception as exc:  # a page error (navigation, crash): the page may recover
            detail = str(exc).splitlines()[0][:200] if str(exc) else ""
            log.warning("whatsapp_web %s: send failed", tenant_id, exc_info=True)
            raise TransientSendError(
                f"whatsapp_web send failed: {type(exc).__name__} {detail}".strip()
            ) from exc
        return SendReceipt(provider_message_id=message_id)


def _refused(envelope: OutboundEnvelope, why: str) -> None:
    log.warning(
        "whatsapp_web %s: outbox %s set aside: %s", envelope.tenant_id, envelope.outbox_id, why
    )
