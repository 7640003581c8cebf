"""LLM mode's token accounting: one row per LLM-assisted turn, and a monthly total per
tenant (what the monthly token budget is checked against)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, utcnow
from hablo.db.models._columns import tenant_fk

_SerialId = BigInteger().with_variant(Integer(), "sqlite")


class LlmUsage(Base):
    """Tokens spent on one inbound message (both model calls of its turn together).

    The inbound message is identified by its inbox row (the durable id of the provider
    message; the bot's reply is reachable through outbox.inbox_id)."""

    __tablename__ = "llm_usage"

    id: Mapped[int] = mapped_column(_SerialId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    inbox_id: Mapped[int | None] = mapped_column(
        _SerialId, ForeignKey("inbox.id", ondelete="SET NULL"), index=True
    )
    model: Mapped[str] = mapped_column(String(128))
    calls: Mapped[int] = mapped_column(default=0)
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    # "assisted", or why the turn fell back to the local NLU ("timeout", "rate_limited", ...).
    outcome: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LlmMonthlyUsage(Base):
    """A tenant's tokens in one calendar month (UTC), e.g. month "2027-03"."""

    __tablename__ = "llm_monthly_usage"
    __table_args__ = (UniqueConstraint("tenant_id", "month"),)

    id: Mapped[int] = mapped_column(_SerialId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    month: Mapped[str] = mapped_column(String(7))
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    # Set when the tenant was told it reached its budget this month (once per month).
    budget_notified_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
