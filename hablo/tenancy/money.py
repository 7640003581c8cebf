"""Prices as people write them (major units: 800, 12.50) and as stored (minor units)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from babel.numbers import get_currency_precision
from pydantic import BeforeValidator

# services.price_minor is a 32-bit integer column: 2e9 cents is 20 million in any currency.
MAX_PRICE_MINOR = 2_000_000_000


def currency_digits(currency: str) -> int:
    """Minor digits of the currency (JPY 0, MXN 2, KWD 3)."""
    return int(get_currency_precision(currency.upper()))


def major_to_minor(amount: Decimal, currency: str) -> int:
    """800.5 MXN -> 80050; ValueError for a negative amount, more decimals than the
    currency has (rounding a price silently would charge another amount) or too large."""
    digits = currency_digits(currency)
    if amount < 0:
        raise ValueError("must not be negative")
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency} prices have at most {digits} decimals")
    minor = int(scaled)
    if minor > MAX_PRICE_MINOR:
        raise ValueError(f"must be at most {minor_to_major(MAX_PRICE_MINOR, currency)}")
    return minor


def minor_to_major(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-currency_digits(currency))


def parse_major(value: object) -> Decimal:
    """A price as written: 800, 12.5 or "12.50" (a string keeps every digit exact)."""
    # bool is an int in Python; `price: yes` is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a number")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not amount.is_finite():
        raise ValueError("must be a number")
    if amount < 0:
        raise ValueError("must not be negative")
    # Beyond these, decimal arithmetic overflows or underflows to 0 instead of refusing.
    if amount and amount.adjusted() > 15:
        raise ValueError("is too large")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        raise ValueError("has too many decimals")
    return amount


# A price in major units; the currency's digits are checked by major_to_minor.
MajorAmount = Annotated[Decimal, BeforeValidator(parse_major)]
