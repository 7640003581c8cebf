"""A tenant's account on a provider channel: a WhatsApp Cloud number, a Twilio number, a
mailbox. The provider-side address is unique across tenants: it is how an inbound webhook
finds its tenant. Secrets (tokens, app secrets, passwords) are sealed (AES-256-GCM)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, Timestamps, UUIDPrimaryKey
from hablo.db.models._columns import tenant_fk


class ChannelAccount(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    channel: Mapped[str] = mapped_column(String(24))
    # The provider's id for this account: phone number id, E.164 number, e-mail address.
    address: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    # Non-secret settings (API base, WABA id, template names, pacing).
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # name -> sealed value; only hablo.adapters.accounts opens them.
    secrets: Mapped[dict[str, Any]] = mapped_column(default=dict)
