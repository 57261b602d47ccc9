"""The month and UTC-midnight helpers every layer shares (core/periods.py), defined once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

import core.periods
from core.periods import month_start, next_month, parse_month, previous_month, utc_midnight


def test_months_step_across_the_year_and_february() -> None:
    assert month_start(date(2026, 2, 28)) == date(2026, 2, 1)
    assert next_month(date(2026, 12, 31)) == date(2027, 1, 1) and next_month(date(2028, 1, 31)) == date(2028, 2, 1)
    assert previous_month(date(2026, 1, 15)) == date(2025, 12, 1) and previous_month(date(2026, 3, 31)) == date(
        2026, 2, 1)


@pytest.mark.parametrize(("text", "first"), [("2026-11", date(2026, 11, 1)), (" 2026-11-01 ", date(2026, 11, 1))])
def test_a_month_is_read_from_its_name_or_its_first_day(text: str, first: date) -> None:
    assert parse_month(text) == first


@pytest.mark.parametrize(("text", "message"), [("2026-13", "not a month like 2026-11"),
                                                ("2026-11-02", "not the first day of a month"),
                                                ("november", "not a month like 2026-11")])
def test_what_is_not_a_month_is_refused_saying_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_month(text)


def test_utc_midnight_is_the_days_start_in_utc() -> None:
    assert utc_midnight(date(2026, 11, 1)) == datetime(2026, 11, 1, tzinfo=UTC)


def test_the_month_helpers_are_defined_once_for_reports_reconciliation_and_the_store() -> None:
    import pdf.periods
    import reconciliation.model
    import store.catalog_scan
    import store.reconciliation
    import store.report_reads
    import store.rollup

    for name in ("month_start", "next_month", "previous_month"):
        assert getattr(pdf.periods, name) is getattr(core.periods, name)
    for module in (reconciliation.model, store.reconciliation, store.report_reads):
        for name in ("month_start", "next_month", "parse_period", "utc_start", "_utc"):
            assert getattr(module, name, None) in (None, getattr(core.periods, name, object())), (module, name)
    assert store.rollup.utc_midnight is core.periods.utc_midnight
    assert store.catalog_scan.utc_midnight is core.periods.utc_midnight  # type: ignore[attr-defined]
