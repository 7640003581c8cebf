"""Login sessions: rotating refresh tokens with reuse detection.

A login opens a session (a "family" of refresh tokens). Each refresh spends the token
presented and hands out its successor. A token presented a second time was copied by
someone: the whole family is revoked, the thief and the owner both have to log in
again. Access tokens carry the family id as `sid`, so revoking a family also stops its
access tokens (the identity middleware asks `principal_is_current`).

Only SHA-256 hashes of refresh tokens are stored.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hablo.db.enums import UserStatus
from hablo.db.models import RefreshToken, User
from hablo.security.principal import Principal


def _now() -> datetime:
    return datetime.now(UTC)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedRefresh:
    family_id: uuid.UUID
    token: str


@dataclass(frozen=True)
class Client:
    """Where a session was opened from (shown to the user, never trusted)."""

    ip: str | None = None
    user_agent: str | None = None


def open_session(
    session: Session, user_id: uuid.UUID, ttl: timedelta, client: Client
) -> IssuedRefresh:
    return _issue(session, user_id, uuid.uuid4(), ttl, client)


def _issue(
    session: Session, user_id: uuid.UUID, family_id: uuid.UUID, ttl: timedelta, client: Client
) -> IssuedRefresh:
    raw = secrets.token_urlsafe(32)  # 256 bits
    now = _now()
    session.add(
        RefreshToken(
            id=uuid.uuid4(),
            user_id=user_id,
            family_id=family_id,
            token_hash=token_hash(raw),
            created_at=now,
            expires_at=now + ttl,
            source_ip=(client.ip or None) and client.ip[:64],
            user_agent=(client.user_agent or None) and client.user_agent[:300],
        )
    )
    return IssuedRefresh(family_id, raw)


class Outcome(enum.Enum):
    ROTATED = "rotated"
    INVALID = "invalid"  # unknown, expired, revoked, or the user may no longer log in
    REUSED = "reused"  # already spent: the family is now revoked


@dataclass(frozen=True)
class Rotation:
    outcome: Outcome
    user: User | None = None
    issued: IssuedRefresh | None = None


def rotate(session: Session, raw: str, ttl: timedelta, client: Client) -> Rotation:
    """Spend a refresh token and issue its successor (in the caller's transaction, which
    must commit even when the outcome is REUSED: the revocation is the point)."""
    current = session.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(raw)).with_for_update()
    ).first()
    if current is None or current.revoked_at is not None:
        return Rotation(Outcome.INVALID)
    if current.used_at is not None:
        revoke_family(session, current.family_id)
        user = session.get(User, current.user_id)
        return Rotation(Outcome.REUSED, user=user)
    if current.expires_at <= _now():
        return Rotation(Outcome.INVALID)
    user = session.get(User, current.user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        revoke_family(session, current.family_id)
        return Rotation(Outcome.INVALID, user=user)
    issued = _issue(session, current.user_id, current.family_id, ttl, client)
    session.flush()
    successor = session.scalars(
        select(RefreshToken.id).where(RefreshToken.token_hash == token_hash(issued.token))
    ).one()
    current.used_at = _now()
    current.replaced_by = successor
    return Rotation(Outcome.ROTATED, user=user, issued=issued)


def revoke_family(session: Session, family_id: uuid.UUID) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


def revoke_user_sessions(
    session: Session, user_id: uuid.UUID, *, keep: uuid.UUID | None = None
) -> None:
    """Log the user out everywhere (except, optionally, the session `keep`)."""
    query = update(RefreshToken).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(RefreshToken.family_id != keep)
    session.execute(query.values(revoked_at=_now()))


def principal_is_current(db: Session | Connection, principal: Principal) -> bool:
    """The token's user still may act, and its session (if any) was not revoked.
    Two indexed lookups; callers may pass an autocommit connection (no write lock)."""
    status = db.scalar(select(User.status).where(User.id == principal.user_id))
    if status != UserStatus.ACTIVE:
        return False
    if principal.session_id is None:
        return True  # tokens minted by tools (CLI, tests), not by a login
    alive = db.scalar(
        select(
            exists().where(
                RefreshToken.family_id == principal.session_id,
                RefreshToken.user_id == principal.user_id,
                RefreshToken.revoked_at.is_(None),
            )
        )
    )
    return bool(alive)
