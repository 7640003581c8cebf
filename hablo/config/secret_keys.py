"""The format of a secret key in ``HABLO_SECRET_KEYS``: ``"<kid>:<base64 of 32 bytes>"``.
Here, not in `hablo.security.secrets`, so the settings can check it without importing a
layer above them."""

from __future__ import annotations

import base64
import binascii
import re

_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyRingError(ValueError):
    """A key specification is malformed (one line, safe to show: never echoes a key)."""


def b64d(text: str) -> bytes:
    """URL-safe base64 without the padding."""
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def parse_key_spec(spec: str) -> tuple[str, bytes]:
    """``"<kid>:<base64 key>"`` -> (kid, 32-byte key)."""
    kid, sep, encoded = spec.strip().partition(":")
    if not sep or not _KID.match(kid):
        raise KeyRingError("secret key must look like '<key id>:<base64 of 32 bytes>'")
    try:
        key = b64d(encoded.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError) as exc:
        raise KeyRingError(f"secret key '{kid}': not valid base64") from exc
    if len(key) != 32:
        raise KeyRingError(f"secret key '{kid}': must be 32 bytes (AES-256), got {len(key)}")
    return kid, key
