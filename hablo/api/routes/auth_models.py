"""Request and response models of the account operations (`auth.py`)."""

from __future__ import annotations

import functools
import uuid
import zoneinfo
from datetime import datetime
from typing import Annotated, Literal

from babel.numbers import list_currencies
from pydantic import BaseModel, Field, field_validator

from hablo.api.endpoints import RequestModel
from hablo.db.enums import Role
from hablo.db.models import User
from hablo.tenancy.settings import RESERVED_SLUGS, SLUG_PATTERN

# A second factor is mandatory for these roles; others may opt in.
PRIVILEGED = frozenset({Role.SUPER_ADMIN, Role.ADMIN, Role.OWNER})

Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
# Any length is accepted at login (a wrong one simply fails); new passwords are checked
# by the strength rule, which explains what is wrong.
Password = Annotated[str, Field(min_length=1, max_length=200)]
SixDigits = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
Secret = Annotated[str, Field(min_length=16, max_length=200)]


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


class RegisterIn(RequestModel):
    business_name: str = Field(min_length=1, max_length=200)
    slug: str = Field(
        min_length=2,
        max_length=64,
        pattern=SLUG_PATTERN,
        description="The business's address in hablo: lower-case letters, digits, hyphens",
    )
    locale: str = Field(default="es", pattern=r"^[a-z]{2}(?:-[A-Z]{2})?$")
    timezone: str = Field(default="UTC", min_length=1, max_length=64, description="IANA zone")
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$", description="ISO 4217")
    address: str | None = Field(
        default=None, max_length=300, description="Where customers find the business"
    )
    phone: str | None = Field(
        default=None,
        max_length=32,
        pattern=r"^\+?[0-9][0-9 ().-]{3,30}$",
        description="The business's phone, as customers should dial it",
    )

    @field_validator("slug")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_SLUGS:
            raise ValueError(f"{value!r} is reserved; choose another address")
        return value

    email: Email
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(default="", max_length=100)
    password: Password

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _time_zones():
            raise ValueError("unknown time zone; use an IANA name like America/Argentina/Cordoba")
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in _currencies():
            raise ValueError("unknown currency code")
        return value


class LoginIn(RequestModel):
    email: Email
    password: Password


class VerifyIn(RequestModel):
    challenge: Secret
    code: SixDigits


class RefreshIn(RequestModel):
    refresh_token: Secret


class ForgotIn(RequestModel):
    email: Email


class ResetIn(RequestModel):
    token: Secret
    new_password: Password


class PasswordChangeIn(RequestModel):
    current_password: Password
    new_password: Password


class TotpConfirmIn(RequestModel):
    code: SixDigits


class SecondFactorIn(RequestModel):
    method: Literal["email", "none"]
    password: Password = Field(description="Your current password")


class TokensOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_token: str


class LoginOut(BaseModel):
    """Either tokens, or (`two_factor_required`) a challenge for `/api/auth/2fa/verify`."""

    two_factor_required: bool
    access_token: str | None = None
    token_type: Literal["Bearer"] | None = None
    expires_in: int | None = None
    refresh_token: str | None = None
    challenge: str | None = None
    method: Literal["totp", "email"] | None = None
    challenge_expires_in: int | None = None

    @classmethod
    def with_tokens(cls, tokens: TokensOut) -> LoginOut:
        return cls(two_factor_required=False, **tokens.model_dump())


class MeOut(BaseModel):
    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    role: str
    tenant_id: uuid.UUID | None
    status: str
    two_factor_method: Literal["totp", "email"] | None
    two_factor_mandatory: bool
    last_login_at: datetime | None
    password_changed_at: datetime | None

    @classmethod
    def of(cls, user: User) -> MeOut:
        method = user.two_factor_method if user.two_factor_method in ("totp", "email") else None
        return cls(
            id=user.id,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name or "",
            role=str(user.role),
            tenant_id=user.tenant_id,
            status=str(user.status or "active"),
            two_factor_method=method,  # type: ignore[arg-type]
            two_factor_mandatory=user.role in PRIVILEGED,
            last_login_at=user.last_login_at,
            password_changed_at=user.password_changed_at,
        )


class RegisterOut(BaseModel):
    tenant_id: uuid.UUID
    slug: str
    name: str
    user: MeOut


class TotpSetupOut(BaseModel):
    secret: str = Field(description="Base32 secret, for typing into an authenticator")
    otpauth_uri: str = Field(description="otpauth:// URI, for a QR code")


class AcceptedOut(BaseModel):
    message: str
