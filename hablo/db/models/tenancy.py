"""Tenants (businesses), their users, and which skills each tenant runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, Timestamps, UUIDPrimaryKey
from hablo.db.enums import Plan, Role, TenantStatus, UserStatus
from hablo.db.models._columns import str_enum, tenant_fk


class Tenant(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "tenants"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[Plan] = mapped_column(str_enum(Plan), default=Plan.FREE)
    status: Mapped[TenantStatus] = mapped_column(
        str_enum(TenantStatus), default=TenantStatus.ACTIVE
    )
    locale: Mapped[str] = mapped_column(String(16), default="es")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    bot_persona: Mapped[str | None] = mapped_column(String(2000))
    # Plan limits and usage counters (usage is recounted by the metrics job).
    contact_limit: Mapped[int] = mapped_column(default=500)
    monthly_message_limit: Mapped[int] = mapped_column(default=2000)
    contacts_used: Mapped[int] = mapped_column(default=0)
    messages_used_month: Mapped[int] = mapped_column(default=0)
    # Free-form tenant settings: template overrides, notification preferences, ...
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"

    # NULL only for platform super admins, who belong to no tenant.
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    status: Mapped[UserStatus] = mapped_column(str_enum(UserStatus), default=UserStatus.ACTIVE)
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(500))
    # Second factor in use: "totp" (an authenticator app) or "email" (a code by mail).
    # Mandatory for super_admin, admin and owner: login asks for it or for its setup.
    two_factor_method: Mapped[str | None] = mapped_column(String(8))
    password_changed_at: Mapped[datetime | None]
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # The language of mails to this user (and of the console); NULL: the tenant's.
    locale: Mapped[str | None] = mapped_column(String(16))
    # The newest staff notification this user has looked at (unread: the ones after it).
    notifications_seen_id: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class TenantSkill(UUIDPrimaryKey, Timestamps, Base):
    """A skill a tenant enabled, with its validated config (the skill's pydantic model)."""

    __tablename__ = "tenant_skills"
    __table_args__ = (UniqueConstraint("tenant_id", "skill_name"),)

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    skill_name: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
