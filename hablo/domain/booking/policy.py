"""A tenant's booking rules, read from `settings["booking"]`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class BookingPolicy(BaseModel):
    """How a tenant takes bookings. Every field has a sensible salon default."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    # Minutes kept free after each booking (cleaning, setup); part of the blocked range.
    buffer_minutes: int = Field(default=0, ge=0, le=24 * 60)
    # No booking starts sooner than this after "now".
    min_notice_minutes: int = Field(default=60, ge=0, le=365 * 24 * 60)
    # The last bookable local date is today + max_days_ahead.
    max_days_ahead: int = Field(default=60, ge=0, le=730)
    # Customers served at once (chairs, staff): bookings go to resources 1..capacity.
    capacity: int = Field(default=1, ge=1, le=100)
    # Start times offered: every slot_step_minutes from each opening time.
    slot_step_minutes: int = Field(default=15, ge=1, le=24 * 60)
    reminder_hours_before: int = Field(default=24, ge=0, le=24 * 30)

    @classmethod
    def from_settings(cls, tenant_settings: Mapping[str, Any] | None) -> BookingPolicy:
        """The policy in `tenant_settings["booking"]` (absent or null: the defaults).

        Raises ValueError naming every bad field, e.g.
        "invalid booking settings: booking.capacity: Input should be greater than or equal to 1".
        """
        raw = (tenant_settings or {}).get("booking")
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise ValueError(
                f"invalid booking settings: booking must be an object, not {type(raw).__name__}"
            )
        try:
            return cls.model_validate(dict(raw))
        except ValidationError as exc:
            problems = "; ".join(
                f"booking.{'.'.join(str(p) for p in err['loc']) or '?'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ValueError(f"invalid booking settings: {problems}") from None
