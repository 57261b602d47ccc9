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
    return format_dollars(cents(nanos))


def ratio_percent(ratio: Decimal) -> Decimal:
    """A ratio as a percentage to two places, half-up: one rounding for every place that shows one."""
    return (ratio * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)


def dollars_to_nanos(amount: Decimal | str | int) -> int:
    """Exact conversion; refuses an amount finer than a nano-dollar."""
    value = Decimal(amount) * NANOS_PER_DOLLAR
    if value != value.to_integral_value():
        raise ValueError(f"{amount} is finer than a nano-dollar")
    return int(value)


def cents_adding_up(parts: list[int], total: int | None = None) -> list[Decimal]:
    """Each part in dollars to the cent, such that the shown parts add up to the shown total.

    Rounding every part on its own can leave the column a cent off its total ($643.20 of rows under a
    $643.21 total). This is the largest-remainder method (Hamilton's): every part is rounded down to
    the cent, and the cents the total still needs go to the parts that lost the most. The total is
    `sum(parts)` unless given (rows that do not cover the whole total: pass the total they belong to and
    one more part for the rest). The total is rounded as `cents` rounds it, so a table shows `money(total)`
    under rows that add up to it.
    """
    whole = sum(parts) if total is None else total
    if sum(parts) != whole:
        raise ValueError("the parts do not add up to the total; add a part for the rest")
    floors = [part // NANOS_PER_CENT for part in parts]  # toward -inf: every remainder is >= 0
    remainders = [part - floor * NANOS_PER_CENT for part, floor in zip(parts, floors, strict=True)]
    target = int(cents(whole) * 100)
    missing = target - sum(floors)  # 0 <= missing <= len(parts)
    by_loss = sorted(range(len(parts)), key=lambda i: -remainders[i])  # stable: ties keep the row order
    for index in by_loss[:missing]:
        floors[index] += 1
    return [Decimal(floor) / 100 for floor in floors]


def format_dollars(amount: Decimal) -> str:
    """'$1,234.56' or '-$0.42' for an amount already in dollars to the cent (see `cents_adding_up`)."""
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


def money_column(parts: list[int], total: int | None = None) -> list[str]:
    """`money` for a column of rows whose printed figures must add up to `money(total)`."""
    return [format_dollars(amount) for amount in cents_adding_up(parts, total)]
