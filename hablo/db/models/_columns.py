"""Column helpers shared by the model modules."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column


def str_enum(enum_cls: type[StrEnum]) -> Enum:
    """A VARCHAR + CHECK column storing the enum's values (not its member names)."""
    return Enum(
        enum_cls,
        native_enum=False,
        values_callable=lambda cls: [m.value for m in cls],
        length=24,
        validate_strings=True,
        create_constraint=True,
        name=enum_cls.__name__.lower(),
    )


def tenant_fk() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
