"""Second factors and single-use secrets: TOTP (an authenticator app), e-mailed login
codes, login challenges and password-reset tokens.

Everything single-use lives in `one_time_codes`, hashed: the database never holds a
code or token that works. Short codes (6 digits) carry an attempt counter so they
cannot be guessed; long tokens (256 bits) cannot be guessed at all.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hablo.db.models import OneTimeCode, User
from hablo.security.secrets import SecretBox

ISSUER = "hablo"
MAX_ATTEMPTS = 5
LOGIN_CODE_TTL = timedelta(minutes=10)
CHALLENGE_TTL = timedelta(minutes=10)
RESET_TTL = timedelta(minutes=30)


class Purpose(enum.StrEnum):
    LOGIN_CHALLENGE = "login_challenge"  # proof that the password step passed
    LOGIN_CODE = "login"  # the 6-digit code e-mailed for that login
    PASSWORD_RESET = "password_reset"
    TOTP_USED = "totp_used"  # a TOTP time step already spent (no replay)


def _now() -> datetime:
    return datetime.now(UTC)


def digest(purpose: Purpose, secret: str, user_id: uuid.UUID | None = None) -> str:
    """SHA-256 of a secret, bound to its purpose (and user for short codes)."""
    material = f"{purpose.value}:{user_id or ''}:{secret}".encode()
    return hashlib.sha256(material).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def new_six_digit_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


# -- TOTP ----------------------------------------------------------------------------------


def totp_context(user_id: uuid.UUID) -> str:
    return f"user:{user_id}:totp"


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def totp_matching_step(secret: str, code: str, at: datetime | None = None) -> int | None:
    """The time step a code belongs to (this one or a neighbour, for clock drift)."""
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    moment = at or _now()
    step = totp.timecode(moment)
    found: int | None = None
    for candidate in (step - 1, step, step + 1):
        # Compare every candidate (no early exit) in constant time.
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            found = candidate
    return found


def verify_totp(session: Session, box: SecretBox, user: User, code: str) -> bool:
    """A valid code of the user's authenticator, each time step usable once."""
    if not user.totp_secret_encrypted:
        return False
    secret = box.open(user.totp_secret_encrypted, context=totp_context(user.id))
    step = totp_matching_step(secret, code)
    if step is None:
        return False
    marker = digest(Purpose.TOTP_USED, str(step), user.id)
    spent = session.scalars(
        select(OneTimeCode.id).where(
            OneTimeCode.user_id == user.id,
            OneTimeCode.purpose == Purpose.TOTP_USED.value,
            OneTimeCode.code_hash == marker,
        )
    ).first()
    if spent is not None:
        return False
    now = _now()
    session.add(
        OneTimeCode(
            user_id=user.id,
            purpose=Purpose.TOTP_USED.value,
            code_hash=marker,
            created_at=now,
            expires_at=now + timedelta(minutes=2),
            used_at=now,
        )
    )
    return True


# -- single-use codes ----------------------------------------------------------------------


def issue(
    session: Session,
    user_id: uuid.UUID,
    purpose: Purpose,
    secret: str,
    ttl: timedelta,
    *,
    replace_previous: bool = True,
) -> OneTimeCode:
    """Store a new code (hashed); older unused codes of that purpose stop working."""
    now = _now()
    if replace_previous:
        session.execute(
            update(OneTimeCode)
            .where(
                OneTimeCode.user_id == user_id,
                OneTimeCode.purpose == purpose.value,
                OneTimeCode.used_at.is_(None),
            )
            .values(used_at=now)
        )
    row = OneTimeCode(
        user_id=user_id,
        purpose=purpose.value,
        code_hash=digest(purpose, secret, user_id if _is_short(purpose) else None),
        created_at=now,
        expires_at=now + ttl,
        attempts=0,
    )
    session.add(row)
    session.flush()
    return row


def _is_short(purpose: Purpose) -> bool:
    return purpose is Purpose.LOGIN_CODE


def find_token(session: Session, purpose: Purpose, token: str) -> OneTimeCode | None:
    """A live (unused, unexpired, not exhausted) long token, locked for update."""
    row = session.scalars(
        select(OneTimeCode)
        .where(
            OneTimeCode.purpose == purpose.value,
            OneTimeCode.code_hash == digest(purpose, token),
        )
        .with_for_update()
    ).first()
    if row is None or not is_live(row):
        return None
    return row


def is_live(row: OneTimeCode) -> bool:
    return row.used_at is None and row.expires_at > _now() and row.attempts < MAX_ATTEMPTS


@dataclass(frozen=True)
class CodeCheck:
    ok: bool
    exhausted: bool  # no attempts left: a new login is needed


def check_login_code(session: Session, user_id: uuid.UUID, code: str) -> CodeCheck:
    """The user's latest e-mailed login code; a wrong guess uses up one attempt."""
    row = session.scalars(
        select(OneTimeCode)
        .where(
            OneTimeCode.user_id == user_id,
            OneTimeCode.purpose == Purpose.LOGIN_CODE.value,
            OneTimeCode.used_at.is_(None),
        )
        .order_by(OneTimeCode.created_at.desc())
        .with_for_update()
    ).first()
    if row is None or not is_live(row):
        return CodeCheck(ok=False, exhausted=True)
    expected = digest(Purpose.LOGIN_CODE, code, user_id)
    if hmac.compare_digest(row.code_hash, expected):
        row.used_at = _now()
        return CodeCheck(ok=True, exhausted=False)
    row.attempts += 1
    return CodeCheck(ok=False, exhausted=row.attempts >= MAX_ATTEMPTS)
