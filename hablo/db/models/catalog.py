"""What a tenant sells and when it is open."""

from __future__ import annotations

import uuid
from datetime import date, time
from typing import Any

from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, Timestamps, UUIDPrimaryKey
from hablo.db.models._columns import tenant_fk


class Service(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "services"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(1000), default="")
    # Money is integer minor units (cents) in the tenant's currency; never float.
    price_minor: Mapped[int]
    duration_minutes: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    # Words customers use for this service ("tintura", "uñas"); tenant data.
    synonyms: Mapped[list[Any]] = mapped_column(default=list)
    # The name in other languages ({"en": "Haircut"}): replies in that language use it.
    names: Mapped[dict[str, Any]] = mapped_column(default=dict)


class BusinessHours(UUIDPrimaryKey, Base):
    """One opening interval on a weekday (0=Monday). Several rows allow split shifts."""

    __tablename__ = "business_hours"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint("opens_at < closes_at", name="opens_before_closes"),
    )

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    weekday: Mapped[int]
    opens_at: Mapped[time]
    closes_at: Mapped[time]


class Holiday(UUIDPrimaryKey, Base):
    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    day: Mapped[date]
    name: Mapped[str] = mapped_column(String(200))


class SpecialHours(UUIDPrimaryKey, Base):
    """One opening interval on a single date that replaces the weekday's hours (New
    Year's Eve until 14:00). Several rows allow split shifts; a closed date is a Holiday."""

    __tablename__ = "special_hours"
    __table_args__ = (CheckConstraint("opens_at < closes_at", name="opens_before_closes"),)

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    day: Mapped[date]
    opens_at: Mapped[time]
    closes_at: Mapped[time]
