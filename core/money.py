"""Money is integer nano-USD (1 USD = 1_000_000_000). Formatting for people, never through a float."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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

    For anonymous breakdowns (spend by provider, project, model, day): rounding every part on its own can
    leave the column a cent off its total ($643.20 of rows under a $643.21 total). This is the
    largest-remainder method (Hamilton's): every part is rounded down to the cent, and the cents the total
    still needs go to the parts that lost the most. The total is `sum(parts)` unless given (rows that do not
    cover the whole total: pass the total they belong to and one more part for the rest). The total is
    rounded as `cents` rounds it, so a table shows `money(total)` under rows that add up to it.
    """
    whole = sum(parts) if total is None else total
    if sum(parts) != whole:
        raise ValueError("the parts do not add up to the total; add a part for the rest")
    return _largest_remainder(parts, cents(whole))


def _largest_remainder(parts: list[int], shown_total: Decimal) -> list[Decimal]:
    """`parts` to the cent adding up to `shown_total`, which must be sum(parts) rounded down or up to the cent."""
    floors = [part // NANOS_PER_CENT for part in parts]  # toward -inf: every remainder is >= 0
    remainders = [part - floor * NANOS_PER_CENT for part, floor in zip(parts, floors, strict=True)]
    missing = int(shown_total * 100) - sum(floors)
    if not 0 <= missing <= len(parts):
        raise ValueError(f"{format_dollars(shown_total)} is more than a cent from what the parts add up to")
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


# -- lists of items with an identity (recommendations) ------------------------------------------------

ROWS_TOTAL = "total of the rows shown"


def total_of_rows(parts: Iterable[int]) -> Decimal:
    """The total under a list of items with an identity, each printed at its own rounding (`money`).

    A recommendation shows one amount wherever it appears (a list, the item alone, a PDF), so its row is
    never moved by a cent to make a column add up (largest remainder moves different rows in different
    sets). The total is then the sum of the rounded rows, and the table says so once (`ROWS_TOTAL`).
    """
    return sum((cents(part) for part in parts), Decimal("0.00"))


# -- a reconciliation month: logged, billed and the variance --------------------------------------------

VARIANCE_RULE = ("logged and billed are each rounded to the cent; the variance is their difference as printed, "
                 "and the ratio that variance over the bill as printed")
FINDINGS_RULE = "each finding is rounded to the cent on its own, as it is shown everywhere"
ROUNDING_ROW = "'rounding' is what that leaves of the variance as printed"


@dataclass(frozen=True)
class Reconciled:
    """A reconciliation month's figures as every surface prints them (command line, demo, PDF)."""

    logged: Decimal
    billed: Decimal

    @property
    def variance(self) -> Decimal:
        return self.logged - self.billed

    @property
    def ratio(self) -> Decimal | None:
        """The printed variance over the printed bill, signed as the variance is (negative: billed more than
        logged), so a reader dividing the two figures shown finds the percentage shown. None for no bill
        to divide by. (analysis.reconciliation.variance_ratio stays the exact, unsigned size the band is
        decided on.)"""
        return None if self.billed <= 0 else self.variance / self.billed


def reconciled(logged_nanos: int, billed_nanos: int) -> Reconciled:
    """Logged and billed each at their own rounding, the variance their printed difference (`VARIANCE_RULE`).

    Three figures rounded on their own can disagree ($34.44 − $30.76 above a $3.67 variance); of the ways
    to make them agree, this one moves neither what was logged (the figure the rest of the product shows)
    nor the bill (a paste is whole cents as typed); the variance is the figure a reader works out anyway.
    """
    return Reconciled(cents(logged_nanos), cents(billed_nanos))


def findings_cents(deltas: list[int], logged_nanos: int, billed_nanos: int) -> tuple[list[Decimal], Decimal]:
    """A month's findings to the cent, each at its own rounding (`FINDINGS_RULE`), and the rounding: what
    they leave of the month's printed variance, so that a table of them adds up to that variance with a
    row of its own for it (`ROUNDING_ROW`).

    A finding is also printed on its own (next to what was planted, in a run's summary): moving one by a
    cent to make this table add up (largest remainder) would show one finding at two amounts on one
    screen ($2.40 here, $2.39 there). The deltas sum to logged − billed, so the rounding is at most half
    a cent per finding and one for the variance."""
    if sum(deltas) != logged_nanos - billed_nanos:
        raise ValueError("the findings do not add up to the variance; add a part for the rest")
    amounts = [cents(delta) for delta in deltas]
    return amounts, reconciled(logged_nanos, billed_nanos).variance - sum(amounts, Decimal("0.00"))
