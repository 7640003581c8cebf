"""What a channel account must and must not hold before it is saved.

- Webhooks are only believed when signed, so the signing secret is required: a WhatsApp
  Cloud account without `app_secret` or a Twilio one without `auth_token` would accept
  anything anyone signs with an empty key.
- Provider base URLs are platform settings: an account's `api_base` would let a tenant
  send its own token to an address of its choosing (SSRF with credentials).
- Mail servers a tenant names must be public hosts (checked after DNS resolution).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hablo.api.problems import ApiError
from hablo.security.urls import UnsafeAddress, check_host

REQUIRED_SECRETS: Mapping[str, tuple[str, ...]] = {
    "whatsapp_cloud": ("access_token", "app_secret"),
    "twilio_sms": ("auth_token",),
    "twilio_whatsapp": ("auth_token",),
}
# Config keys that are platform settings now, with the setting that replaced them.
PLATFORM_KEYS: Mapping[str, str] = {
    "api_base": "HABLO_WHATSAPP_CLOUD_API_BASE / HABLO_TWILIO_API_BASE",
    "web_url": "HABLO_WHATSAPP_WEB_URL",
}
# Host config keys and the port each one's connection uses by default.
HOST_KEYS: Mapping[str, tuple[str, int]] = {
    "smtp_host": ("smtp_port", 587),
    "imap_host": ("imap_port", 993),
}


def invalid(loc: list[str], message: str, kind: str) -> ApiError:
    details = [{"loc": ["body", *loc], "msg": message, "type": kind}]
    return ApiError(422, "validation_error", f"{'.'.join(loc)}: {message}", details)


def check_config(config: Mapping[str, Any]) -> None:
    for key, setting in PLATFORM_KEYS.items():
        if key in config:
            raise invalid(
                ["config", key],
                f"provider base URLs are platform settings ({setting}), not account settings",
                "platform_setting",
            )


def check_secrets(channel: str, present: Iterable[str]) -> None:
    names = set(present)
    for name in REQUIRED_SECRETS.get(channel, ()):
        if name not in names:
            raise invalid(
                ["secrets", name],
                f"required for {channel}: webhooks are only accepted when signed",
                "missing",
            )


def check_hosts(config: Mapping[str, Any], allow_private: bool) -> None:
    """Blocking (DNS): call it from a worker thread."""
    for key, (port_key, default_port) in HOST_KEYS.items():
        host = config.get(key)
        if not host:
            continue
        try:
            port = int(config.get(port_key) or default_port)
        except (TypeError, ValueError):
            raise invalid(["config", port_key], "must be a port number", "int_type") from None
        try:
            check_host(str(host), port, allow_private=allow_private)
        except UnsafeAddress as exc:
            raise invalid(["config", key], str(exc), "unsafe_address") from None
