"""Replies on the whatsapp_web channel go through the tenant's open page."""

from __future__ import annotations

import concurrent.futures

from hablo.adapters.base import ChannelSender, SendReceipt, TransientSendError
from hablo.adapters.whatsapp_web.registry import CHANNEL, WhatsAppWebSessions
from hablo.adapters.whatsapp_web.session import SessionNotConnected
from hablo.engine.messages import OutboundEnvelope

# Long enough for the pacing gap plus a slow page.
SEND_TIMEOUT_S = 30.0


class WhatsAppWebSender(ChannelSender):
    channel = CHANNEL

    def __init__(self, sessions: WhatsAppWebSessions) -> None:
        self._sessions = sessions

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        try:
            message_id = self._sessions.send(
                envelope.tenant_id, envelope.peer, envelope.plain_text(), timeout=SEND_TIMEOUT_S
            )
        except SessionNotConnected as exc:
            # The outbox retries: the owner may be re-scanning the QR right now.
            raise TransientSendError(f"whatsapp_web session not connected ({exc})", 5.0) from exc
        except (concurrent.futures.TimeoutError, TimeoutError) as exc:
            raise TransientSendError("whatsapp_web page did not answer in time") from exc
        except Exception as exc:  # a page error (navigation, crash): the page may recover
            raise TransientSendError(f"whatsapp_web send failed: {type(exc).__name__}") from exc
        return SendReceipt(provider_message_id=message_id)
