"""Helpers every channel adapter shares. The port itself (`ChannelSender`, its receipt and
errors) is the engine's, in `hablo.engine.ports`; it is re-exported here for adapters."""

from __future__ import annotations

from typing import Any

from hablo.engine.messages import OutboundEnvelope
from hablo.engine.ports import (
    ChannelSender,
    PermanentSendError,
    SendError,
    SendReceipt,
    TransientSendError,
)
from hablo.security.urls import UnsafeAddress, check_url

__all__ = [
    "ChannelSender",
    "PermanentSendError",
    "SendError",
    "SendReceipt",
    "TransientSendError",
    "checked_media",
    "positive_number",
    "retry_after_seconds",
]


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
