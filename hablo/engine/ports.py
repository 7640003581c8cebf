"""The ports the engine needs from outer layers, defined here so the engine imports none
of them: channels implement `ChannelSender` (the outbox dispatcher calls it), payments
implement `PaymentDeskFactory` (a skill's `ctx.payments()`). `bootstrap()` hands the
implementations in; booking needs no port, its rules live in `hablo.domain.booking`."""

from __future__ import annotations

import uuid
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Connection

from hablo.domain.payments import PaymentDesk
from hablo.engine.messages import OutboundEnvelope


class SendError(Exception):
    """A send failed."""


class TransientSendError(SendError):
    """Worth retrying (timeout, 5xx, 429, peer offline); `retry_after` honours the provider."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Retrying cannot help (4xx other than 429, invalid recipient): fail fast."""


@dataclass(frozen=True)
class SendReceipt:
    provider_message_id: str | None = None


class ChannelSender(Protocol):
    """Delivers one reply. Called from the outbox dispatcher thread, never the event loop."""

    channel: str

    @abstractmethod
    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        """Send or raise TransientSendError / PermanentSendError."""


# The turn's connection, the tenant, the turn's "now" -> the desk a skill talks to; what it
# writes commits with the turn.
PaymentDeskFactory = Callable[[Connection, uuid.UUID, datetime], PaymentDesk]
