"""Trained NLU weights, shared by every process that reads this database.

Keyed by a content hash of the training set (and the feature/training version), not by
tenant: tenants with the same skills and examples share one row, and a row never goes
stale (a changed training set has another key). No tenant column, so no row-level
security: the arrays hold n-grams of the examples, which tenants write for the bot.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hablo.db.base import Base, utcnow


class NluModel(Base):
    __tablename__ = "nlu_models"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    examples: Mapped[int]
    # numpy .npz bytes: vocabularies, idf, coefficients, intercepts, classes.
    weights: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
