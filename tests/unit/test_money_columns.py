"""A column of amounts printed to the cent adds up to the total printed under it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import NANOS_PER_CENT, cents, cents_adding_up, money, money_column


def test_rows_rounded_one_by_one_can_miss_their_total_and_the_column_does_not() -> None:
    rows = [4_004_000_000, 4_004_000_000, 4_004_000_000]  # $4.004 each, $12.012 in all
    assert sum(cents(row) for row in rows) == Decimal("12.00")  # one by one: a cent short of $12.01
    assert money(sum(rows)) == "$12.01"
    assert money_column(rows) == ["$4.01", "$4.00", "$4.00"]


def test_the_cents_go_to_the_rows_that_lost_the_most() -> None:
    assert cents_adding_up([1_009_000_000, 2_001_000_000, 3_004_000_000]) == [
        Decimal("1.01"), Decimal("2.00"), Decimal("3.00")]


def test_negative_rows_add_up_too() -> None:
    rows = [-1_005_000_000, 3_004_000_000, -4_000_000]
    shown = cents_adding_up(rows)
    assert sum(shown) == cents(sum(rows))


def test_a_total_that_the_rows_do_not_cover_is_refused() -> None:
    with pytest.raises(ValueError, match="add a part for the rest"):
        cents_adding_up([1, 2], total=4)


@given(st.lists(st.integers(min_value=-10**15, max_value=10**15), min_size=1, max_size=40))
def test_any_column_adds_up_and_no_row_moves_a_cent_or_more(rows: list[int]) -> None:
    shown = cents_adding_up(rows)
    assert sum(shown) == cents(sum(rows))
    for row, amount in zip(rows, shown, strict=True):
        assert abs(int(amount * 100) * NANOS_PER_CENT - row) < NANOS_PER_CENT
