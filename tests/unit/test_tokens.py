"""Access tokens: RS256 with a key id, rotation without logging anyone out, and the
forgeries a verifier must refuse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from hablo.db.enums import Role
from hablo.security.principal import Principal
from hablo.security.tokens import SigningKeys, TokenError, TokenService, add_signing_key

ISSUER = "hablo-test"
WHO = Principal(uuid.uuid4(), uuid.uuid4(), Role.OWNER, uuid.uuid4())


def service(folder: Path) -> TokenService:
    return TokenService(SigningKeys.load(folder), issuer=ISSUER, access_ttl_s=900)


def test_rotation_signs_with_the_new_key_and_still_accepts_the_old(tmp_path: Path) -> None:
    old_kid = add_signing_key(tmp_path, "k1")
    old_token = service(tmp_path).issue_access(WHO)
    new_kid = add_signing_key(tmp_path, "k2")  # what `hablo api signing-key` does
    rotated = service(tmp_path)  # a restart loads the ring
    new_token = rotated.issue_access(WHO)
    assert jwt.get_unverified_header(old_token)["kid"] == old_kid
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert rotated.verify_access(old_token) == WHO
    assert rotated.verify_access(new_token) == WHO
    assert {k["kid"] for k in rotated.jwks()["keys"]} == {"k1", "k2"}
    assert all(k["alg"] == "RS256" and "d" not in k for k in rotated.jwks()["keys"])
    # Once the old key file is removed, its tokens stop working.
    (tmp_path / "k1.pem").unlink()
    with pytest.raises(TokenError):
        service(tmp_path).verify_access(old_token)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256(header: dict[str, object], claims: dict[str, object], secret: bytes) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def test_forgeries_are_refused(tmp_path: Path) -> None:
    add_signing_key(tmp_path, "k1")
    tokens = service(tmp_path)
    good = tokens.issue_access(WHO)
    claims = jwt.decode(good, options={"verify_signature": False})
    public_pem = (
        SigningKeys.load(tmp_path)
        .private["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    # HS256 "signed" with our public key (the classic algorithm confusion).
    # PyJWT refuses to make one, so it is made by hand.
    confused = _hs256({"alg": "HS256", "typ": "JWT", "kid": "k1"}, claims, public_pem)
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "k1"})
    other = tmp_path / "other"
    add_signing_key(other, "k1")  # same kid, someone else's key
    foreign = service(other).issue_access(WHO)
    admin = {**claims, "role": "super_admin"}
    tampered = ".".join(
        [
            good.split(".")[0],
            jwt.encode(admin, "x" * 32, algorithm="HS256").split(".")[1],
            good.split(".")[2],
        ]
    )
    for forged in (confused, unsigned, foreign, tampered, "not.a.token", ""):
        with pytest.raises(TokenError):
            tokens.verify_access(forged)


def test_expired_and_wrong_issuer_are_refused(tmp_path: Path) -> None:
    add_signing_key(tmp_path, "k1")
    tokens = service(tmp_path)
    stale = tokens.issue_access(WHO, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(TokenError, match="expired"):
        tokens.verify_access(stale)
    elsewhere = TokenService(SigningKeys.load(tmp_path), issuer="someone-else", access_ttl_s=900)
    with pytest.raises(TokenError):
        tokens.verify_access(elsewhere.issue_access(WHO))
