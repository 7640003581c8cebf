"""Shard fences of the worker tier (hablo.worker): one row per shard.

A worker that takes a shard raises its fence here, in PostgreSQL; each turn it runs
checks, in its own transaction, that the fence is still the one it got. A worker that
lost its lease without knowing (paused, cut off from Redis) can then commit nothing for
the shard's conversations. No tenant column: shards are a platform concern.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, utcnow


class ShardFence(Base):
    __tablename__ = "shard_fences"

    shard: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    fence: Mapped[int] = mapped_column(BigInteger, default=0)
    owner: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
