"""Access tokens: JWT signed RS256, with a key id in the header.

Keys live in a folder of ``<kid>.pem`` RSA private keys; the file ``current`` names the
key that signs. Every key in the folder verifies, so rotating is: add a new key, point
``current`` at it, and remove the old key after one access-token lifetime — nobody is
logged out. Without a configured folder, one is created under the state folder.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hablo.db.enums import Role
from hablo.security.principal import Principal

log = logging.getLogger(__name__)
ALGORITHM = "RS256"
_KID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CURRENT_FILE = "current"


class TokenError(Exception):
    """The token is missing, malformed, expired, or not signed by one of our keys."""


@dataclass(frozen=True)
class SigningKeys:
    current_kid: str
    private: dict[str, rsa.RSAPrivateKey]

    @classmethod
    def load(cls, folder: Path) -> SigningKeys:
        keys: dict[str, rsa.RSAPrivateKey] = {}
        for pem in sorted(folder.glob("*.pem")):
            kid = pem.stem
            if not _KID.match(kid):
                raise ValueError(f"signing key file {pem.name}: key id must be [A-Za-z0-9_-]")
            key = serialization.load_pem_private_key(pem.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"signing key file {pem.name}: not an RSA private key")
            keys[kid] = key
        current_file = folder / CURRENT_FILE
        if not keys or not current_file.exists():
            raise ValueError(f"no signing keys in {folder} (need <kid>.pem and a 'current' file)")
        current = current_file.read_text().strip()
        if current not in keys:
            raise ValueError(f"signing key '{current}' named in {current_file} does not exist")
        return cls(current, keys)

    @classmethod
    def load_or_create(cls, folder: Path) -> SigningKeys:
        if not (folder / CURRENT_FILE).exists():
            add_signing_key(folder)
            log.warning("generated a token signing key in %s; production sets jwt_keys_dir", folder)
        return cls.load(folder)


def add_signing_key(folder: Path, kid: str | None = None, *, make_current: bool = True) -> str:
    """Create a new RSA-2048 key in the folder (and make it the signer). Returns its kid."""
    kid = kid or datetime.now(UTC).strftime("%Y%m%d") + "-" + secrets.token_hex(3)
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = folder / f"{kid}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    if make_current:
        tmp = folder / f".{CURRENT_FILE}.tmp"
        tmp.write_text(kid + "\n")
        tmp.replace(folder / CURRENT_FILE)  # atomic: verifiers never see a half-written name
    return kid


class TokenService:
    def __init__(self, keys: SigningKeys, *, issuer: str, access_ttl_s: int) -> None:
        self._keys = keys
        self._issuer = issuer
        self._ttl = timedelta(seconds=access_ttl_s)
        self._public = {kid: key.public_key() for kid, key in keys.private.items()}

    @property
    def access_ttl_s(self) -> int:
        return int(self._ttl.total_seconds())

    def issue_access(
        self, principal: Principal, *, now: datetime | None = None, ttl: timedelta | None = None
    ) -> str:
        """`ttl` overrides the access lifetime (the console's cookie session lives longer;
        revoking its session family still ends it at once)."""
        now = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": str(principal.user_id),
            "role": principal.role.value,
            "tid": str(principal.tenant_id) if principal.tenant_id else None,
            "sid": str(principal.session_id) if principal.session_id else None,
            "iat": int(now.timestamp()),
            "exp": int((now + (ttl or self._ttl)).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        kid = self._keys.current_kid
        return jwt.encode(
            claims, self._keys.private[kid], algorithm=ALGORITHM, headers={"kid": kid}
        )

    def verify_access(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenError("malformed token") from exc
        key = self._public.get(str(header.get("kid")))
        if key is None or header.get("alg") != ALGORITHM:
            raise TokenError("token not signed by a known key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
            return Principal(
                user_id=uuid.UUID(claims["sub"]),
                tenant_id=uuid.UUID(claims["tid"]) if claims.get("tid") else None,
                role=Role(claims["role"]),
                session_id=uuid.UUID(claims["sid"]) if claims.get("sid") else None,
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token expired") from exc
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise TokenError("invalid token") from exc

    def jwks(self) -> dict[str, Any]:
        """Public keys as a JWK set (for services that verify our tokens themselves)."""
        from jwt.algorithms import RSAAlgorithm

        keys = []
        for kid, public in self._public.items():
            jwk: dict[str, Any] = RSAAlgorithm.to_jwk(public, as_dict=True)
            jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
            keys.append(jwk)
        return {"keys": keys}
