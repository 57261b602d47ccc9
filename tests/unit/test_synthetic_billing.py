"""Billing statements differ from the logged spend by the chosen ratio, to the cent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from synthetic.billing import Statement, billed_nanos, dollars_text, report_entry, statements
from synthetic.options import DEFAULT_BILLING_VARIANCE

NOV = dt.date(2026, 11, 1)
DOLLAR = 1_000_000_000


def test_billed_is_logged_times_one_plus_variance_rounded_to_the_cent() -> None:
    assert billed_nanos(342_036_123_456, Decimal("0.003")) == 343_060_000_000  # $343.0622 -> $343.06
    assert billed_nanos(100 * DOLLAR, Decimal("-0.04")) == 96 * DOLLAR
    assert billed_nanos(1_234_999_999, Decimal(0)) == 1_230_000_000
    assert billed_nanos(1_235_000_000, Decimal(0)) == 1_240_000_000  # half a cent rounds up


def test_raw_text_is_dollars_as_a_person_pastes_them() -> None:
    assert dollars_text(342_040_000_000) == "$342.04"
    assert dollars_text(12_345_670_000_000) == "$12,345.67"


def test_default_variances_land_in_green_amber_red_and_exact() -> None:
    logged = {(p, NOV): 500 * DOLLAR + 123_456_789 for p in DEFAULT_BILLING_VARIANCE}
    bands = {s.provider: s.band for s in statements(logged, DEFAULT_BILLING_VARIANCE)}
    assert bands == {"anthropic": "green", "openai": "amber", "gemini": "red", "xai": "green"}
    exact = next(s for s in statements(logged, DEFAULT_BILLING_VARIANCE) if s.provider == "xai")
    assert abs(exact.billed_nanos - exact.logged_nanos) < 10_000_000  # within half a cent


def test_providers_without_a_variance_get_no_statement() -> None:
    logged = {("anthropic", NOV): DOLLAR, ("xai", NOV): DOLLAR}
    assert [s.provider for s in statements(logged, {"xai": Decimal("0.01")})] == ["xai"]


@pytest.mark.parametrize("variance", ["0.003", "0.012", "-0.04"])
def test_the_ratio_billed_over_logged_is_the_chosen_one(variance: str) -> None:
    (statement,) = statements({("openai", NOV): 2_718_281_828_459}, {"openai": Decimal(variance)})
    ratio = Decimal(statement.billed_nanos) / Decimal(statement.logged_nanos) - 1
    assert abs(ratio - Decimal(variance)) < Decimal("0.00001")


def test_report_entry_says_what_was_billed_and_logged() -> None:
    (statement,) = statements({("gemini", NOV): 100 * DOLLAR}, {"gemini": Decimal("-0.04")})
    entry = report_entry(statement, month_to_date=True, variance=Decimal("-0.04"))
    assert entry["pattern"] == "billing_variance"
    assert entry["where"] == {"provider": "gemini", "period": "2026-11-01"}
    assert entry["expected_nanos"] == -4 * DOLLAR
    assert entry["detail"]["band"] == "red" and entry["detail"]["raw_text"] == "$96.00"
    assert "month to date" in entry["what"]


def test_the_planted_story_prints_the_ratio_of_the_figures_it_prints_with_the_variances_sign() -> None:
    from synthetic.report import SeedReport
    from synthetic.story import planted_story

    # the review's story line: $1.38 over a $33.06 bill is 4.17 % (the exact nanos give 4.16 %); and a bill
    # above what was logged: -$1.08 of $360.00 is -0.30 %
    over = Statement("openai", NOV, 34_435_000_000, 33_060_000_000, "$33.06")
    under = Statement("anthropic", NOV, 358_920_000_000, 360_000_000_000, "$360.00")
    report = SeedReport(1, "acme", 0, 30, NOV, NOV, 0, planted=[
        report_entry(over, False, Decimal("-0.04")), report_entry(under, False, Decimal("0.003"))])
    text = " ".join(sentence for _, sentence in planted_story(report))
    assert "$33.06 billed against $34.44 logged: variance $1.38, 4.17%" in text, text
    assert "$360.00 billed against $358.92 logged: variance -$1.08, -0.30%" in text, text
