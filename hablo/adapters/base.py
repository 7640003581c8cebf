"""The channel port. Each channel implements a sender; inbound goes through Engine.submit."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from hablo.engine.messages import OutboundEnvelope
from hablo.security.urls import UnsafeAddress, check_url


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


class ChannelSender(ABC):
    """Delivers one reply. Called from the outbox dispatcher thread, never the event loop."""

    channel: str

    @abstractmethod
    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        """Send or raise TransientSendError / PermanentSendError."""


def retry_after_seconds(header: str | None) -> float | None:
    """A provider's Retry-After in seconds; None for an HTTP date or garbage (then the
    outbox's own backoff decides)."""
    try:
        return max(0.0, float(header or ""))
    except ValueError:
        return None


def positive_number(value: Any, default: float) -> float:
    """A positive number from an account's config, or the default."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def checked_media(envelope: OutboundEnvelope, allow_private: bool) -> None:
    """A media link goes to the provider, which fetches it: never one into a private
    network (SSRF through the provider). Checked at send time, after DNS resolution."""
    if not envelope.media_url:
        return
    try:
        check_url(envelope.media_url, allow_private=allow_private)
    except UnsafeAddress as exc:
        raise PermanentSendError(f"media_url refused: {exc}") from None
