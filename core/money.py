"""Money is integer nano-USD (1 USD = 1_000_000_000). Formatting for people, never through a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

NANOS_PER_DOLLAR = 1_000_000_000
NANOS_PER_CENT = 10_000_000


def to_decimal_dollars(nanos: int) -> Decimal:
    return Decimal(nanos) / NANOS_PER_DOLLAR


def cents(nanos: int) -> Decimal:
    """The amount in dollars rounded half-up to the cent, as a Decimal."""
    return to_decimal_dollars(nanos).quantize(Decimal("0.01"), ROUND_HALF_UP)


def money(nanos: int) -> str:
    """'$1,234.56' or '-$0.42', from integer nanos without a float."""
    amount = cents(nanos)
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


def ratio_percent(ratio: Decimal) -> Decimal:
    """A ratio as a percentage to two places, half-up: one rounding for every place that shows one."""
    return (ratio * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)


def dollars_to_nanos(amount: Decimal | str | int) -> int:
    """Exact conversion; refuses an amount finer than a nano-dollar."""
    value = Decimal(amount) * NANOS_PER_DOLLAR
    if value != value.to_integral_value():
        raise ValueError(f"{amount} is finer than a nano-dollar")
    return int(value)
