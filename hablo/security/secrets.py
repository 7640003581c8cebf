"""Provider secrets and API keys at rest: AES-256-GCM with a key ring.

A sealed value is the text ``v1.<key id>.<base64url(nonce || ciphertext+tag)>``. The key
id names the key that sealed it, so keys rotate without re-encrypting everything at
once: the first key of the ring seals, every key of the ring opens, and `reseal()`
moves a value onto the current key. The associated data binds a value to where it is
stored (e.g. ``"tenant:<id>:stripe_secret"``), so a ciphertext copied into another
tenant's row does not open there.

Keys come from ``HABLO_SECRET_KEYS`` (a JSON list of ``"<kid>:<base64 of 32 bytes>"``,
current key first). Without it, a key is generated once into the state folder so the
embedded demo works with no configuration; production sets the variable.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hablo.config.secret_keys import KeyRingError, parse_key_spec
from hablo.config.secret_keys import b64d as _b64d

# The key format is the settings' (config/secret_keys.py); these names stay importable here.
__all__ = ["KeyRingError", "SecretBox", "SecretError", "generate_key_spec", "parse_key_spec"]

log = logging.getLogger(__name__)

_VERSION = "v1"
KEY_FILE_NAME = "secret-keys"


class SecretError(Exception):
    """A sealed value cannot be opened (unknown key, tampered, wrong context)."""


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def generate_key_spec(kid: str | None = None) -> str:
    """A fresh key in the ``HABLO_SECRET_KEYS`` format (used by `hablo keys new`)."""
    kid = kid or "k" + secrets.token_hex(4)
    return f"{kid}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


class SecretBox:
    """Seals and opens short secrets. Thread-safe (AESGCM objects are stateless)."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise KeyRingError("the secret key ring is empty")
        kids = [kid for kid, _ in keys]
        if len(set(kids)) != len(kids):
            raise KeyRingError("secret key ids must be unique")
        self._current = kids[0]
        self._ciphers = {kid: AESGCM(key) for kid, key in keys}

    @classmethod
    def from_specs(cls, specs: Sequence[str]) -> SecretBox:
        return cls([parse_key_spec(spec) for spec in specs])

    @classmethod
    def from_config(cls, specs: Sequence[str], state_dir: Path) -> SecretBox:
        """Configured keys, or the state folder's generated key (created on first use)."""
        if specs:
            return cls.from_specs(specs)
        path = state_dir / KEY_FILE_NAME
        if not path.exists():
            state_dir.mkdir(parents=True, exist_ok=True)
            # O_EXCL: two processes starting together must not each write a different key.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(generate_key_spec("local") + "\n")
                log.warning(
                    "generated a secret key in %s; set HABLO_SECRET_KEYS in production", path
                )
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        return cls.from_specs(lines)

    @property
    def current_key_id(self) -> str:
        return self._current

    def seal(self, plaintext: str, *, context: str = "") -> str:
        nonce = os.urandom(12)
        sealed = self._ciphers[self._current].encrypt(
            nonce, plaintext.encode("utf-8"), context.encode("utf-8")
        )
        return f"{_VERSION}.{self._current}.{_b64e(nonce + sealed)}"

    def open(self, token: str, *, context: str = "") -> str:
        _version, kid, body = self._split(token)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise SecretError(f"sealed with unknown key '{kid}'")
        try:
            raw = _b64d(body)
            plain = cipher.decrypt(raw[:12], raw[12:], context.encode("utf-8"))
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise SecretError("sealed value is corrupt or belongs elsewhere") from exc
        return plain.decode("utf-8")

    def key_id_of(self, token: str) -> str:
        return self._split(token)[1]

    def reseal(self, token: str, *, context: str = "") -> str:
        """The same secret sealed with the current key (no-op if it already is)."""
        if self.key_id_of(token) == self._current:
            return token
        return self.seal(self.open(token, context=context), context=context)

    @staticmethod
    def _split(token: str) -> tuple[str, str, str]:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _VERSION:
            raise SecretError("not a sealed value")
        return parts[0], parts[1], parts[2]
