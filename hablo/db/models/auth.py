"""Sessions and single-use codes of the management API's users."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, UUIDPrimaryKey, utcnow


class RefreshToken(UUIDPrimaryKey, Base):
    """One refresh token of a login session ("family").

    Tokens rotate on every use: the used one gets `used_at` and `replaced_by`. Presenting
    a token that was already used means it leaked, so the whole family is revoked.
    Only a SHA-256 of the token is stored.
    """

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family", "family_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    replaced_by: Mapped[uuid.UUID | None]
    revoked_at: Mapped[datetime | None]
    source_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class OneTimeCode(UUIDPrimaryKey, Base):
    """A single-use secret sent by e-mail: password reset link or a login code.

    Stored hashed; expires; counts wrong attempts so a 6-digit code cannot be guessed.
    """

    __tablename__ = "one_time_codes"
    __table_args__ = (Index("ix_one_time_codes_user_purpose", "user_id", "purpose"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(24))  # password_reset | login | totp_setup
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
