"""Report periods: what a person types, what is refused, and how days are bucketed."""

from __future__ import annotations

from datetime import date

import pytest

from core.errors import UserError
from pdf.periods import Granularity, Period, buckets, granularity_for, parse_period

TODAY = date(2026, 11, 30)


@pytest.mark.parametrize(("text", "start", "end"), [
    ("last-month", date(2026, 10, 1), date(2026, 11, 1)),
    ("this-month", date(2026, 11, 1), date(2026, 12, 1)),
    ("2026-02", date(2026, 2, 1), date(2026, 3, 1)),
    ("2026-01-05..2026-01-05", date(2026, 1, 5), date(2026, 1, 6)),
    ("2024-12-01..2026-11-30", date(2024, 12, 1), date(2026, 12, 1)),
])
def test_periods_parse_with_an_exclusive_end(text: str, start: date, end: date) -> None:
    assert parse_period(text, TODAY) == Period(start, end)


def test_a_period_ending_before_it_starts_is_refused_with_both_days() -> None:
    with pytest.raises(UserError, match=r"ends \(2026-01-01\) before it starts \(2026-01-10\)"):
        parse_period("2026-01-10..2026-01-01", TODAY)


def test_a_range_longer_than_two_years_is_refused() -> None:
    with pytest.raises(UserError, match="longer than 2 years"):
        Period(date(2024, 1, 1), date(2026, 1, 2))
    assert Period(date(2024, 1, 1), date(2026, 1, 1)).days == 731


@pytest.mark.parametrize("text", ["yesterday", "2026-13", "2026-02-30..2026-03-01", ""])
def test_unreadable_periods_say_what_is_accepted(text: str) -> None:
    with pytest.raises(UserError, match="--period"):
        parse_period(text, TODAY)


def test_bars_fit_the_range_daily_weekly_monthly() -> None:
    month = Period(date(2026, 10, 1), date(2026, 11, 1))
    quarter = Period(date(2026, 7, 1), date(2026, 10, 1))
    two_years = Period(date(2024, 12, 1), date(2026, 12, 1))
    assert granularity_for(month) is Granularity.DAY and len(buckets(month, Granularity.DAY)) == 31
    assert granularity_for(quarter) is Granularity.WEEK
    weeks = buckets(quarter, Granularity.WEEK)
    assert weeks[0] == date(2026, 7, 1) and all(w.weekday() == 0 for w in weeks[1:])  # clipped, then Mondays
    assert granularity_for(two_years) is Granularity.MONTH and len(buckets(two_years, Granularity.MONTH)) == 24


@pytest.mark.parametrize(("start", "end", "before"), [
    # a month to date against the same days of the month before, not all of it
    (date(2026, 12, 1), date(2026, 12, 7), (date(2026, 11, 1), date(2026, 11, 7))),
    # past the end of a shorter month before: all of it
    (date(2026, 3, 1), date(2026, 3, 31), (date(2026, 2, 1), date(2026, 3, 1))),
    # whole months against as many whole months just before, whatever their lengths
    (date(2026, 11, 1), date(2026, 12, 1), (date(2026, 10, 1), date(2026, 11, 1))),
    (date(2026, 3, 1), date(2026, 4, 1), (date(2026, 2, 1), date(2026, 3, 1))),
    (date(2026, 1, 1), date(2026, 4, 1), (date(2025, 10, 1), date(2026, 1, 1))),
    # any other range: as many days just before
    (date(2026, 11, 7), date(2026, 12, 7), (date(2026, 10, 8), date(2026, 11, 7))),
    (date(2026, 11, 15), date(2026, 12, 1), (date(2026, 10, 30), date(2026, 11, 15))),
])
def test_a_period_is_compared_like_for_like(start: date, end: date, before: tuple[date, date]) -> None:
    assert Period(start, end).previous() == before
