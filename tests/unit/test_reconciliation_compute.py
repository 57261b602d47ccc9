"""Bands, variance, days and findings of one month, on small hand-made frames (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from pricing import load_rates, price_requests
from reconciliation.compute import REQUEST_COLUMNS, band, reconcile, variance_ratio
from reconciliation.model import Bill, BillUnusable, DayBill, Finding, LineItem

D = 1_000_000_000
NOV = dt.date(2026, 11, 1)
TABLE = load_rates()
MODEL = "claude-sonnet-4-6"


def test_the_seeds_example_is_green_with_a_fourteen_cent_variance() -> None:
    logged, billed = 342_180_000_000, 342_040_000_000
    assert band(logged - billed, billed) == "green"
    assert variance_ratio(logged - billed, billed) == Decimal("0.000409308853")


@pytest.mark.parametrize(("variance_per_mille", "expected"), [
    (Decimal("4.999"), "green"), (Decimal(5), "amber"), (Decimal(20), "amber"), (Decimal("20.1"), "red"),
    (Decimal(-5), "amber"), (Decimal(-20), "amber"), (Decimal("-20.1"), "red"), (Decimal(0), "green"),
])
def test_band_edges_are_exact(variance_per_mille: Decimal, expected: str) -> None:
    billed = 1_000_000 * D
    variance = int(Decimal(billed) * variance_per_mille / 1000)
    assert band(variance, billed) == expected


def test_exactly_half_and_two_percent_are_amber_and_two_point_oh_one_is_red() -> None:
    assert band(500_000_000, 100 * D) == "amber"  # 0.5 %
    assert band(2 * D, 100 * D) == "amber"  # 2 %
    assert band(2_010_000_000, 100 * D) == "red"  # 2.01 %
    assert variance_ratio(2 * D, 100 * D) == Decimal("0.020000000000")


def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {"model": MODEL, "service_tier": "standard", "input_tokens": 10_000, "cache_read_tokens": 0,
            "cache_write_tokens": 0, "output_tokens": 1_000, "status_code": 200, "project_id": 1,
            "attribution_tier": "header", "rates_version": "x"}
    out = [{**base, "id": i + 1, **row} for i, row in enumerate(rows)]
    return pd.DataFrame(out, columns=list(REQUEST_COLUMNS))


def price(row_model: str = MODEL, day: dt.date = dt.date(2026, 11, 3)) -> int:
    batch = price_requests(TABLE, model=[row_model], service_tier="standard", input_tokens=[10_000],
                           cache_read_tokens=[0], cache_write_tokens=[0], output_tokens=[1_000],
                           at=day)
    return int(batch.cost_nanos[0])


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC)


def test_no_bill_is_awaiting_and_an_unreadable_one_is_an_error_with_its_reason() -> None:
    rows = frame([{"started_at": at(3), "cost_nanos": price()}])
    waiting = reconcile("anthropic", NOV, rows, None, TABLE)
    assert (waiting.status, waiting.billed_nanos, waiting.band, waiting.findings) == ("awaiting_bill", None, None, ())
    assert waiting.logged_nanos == price() and waiting.days[0].billed_nanos is None
    broken = reconcile("anthropic", NOV, rows, BillUnusable("manual", "the paste has 2 totals"), TABLE)
    assert (broken.status, broken.error, broken.billed_source) == ("error", "the paste has 2 totals", "manual")


def test_findings_name_each_cause_and_sum_to_the_variance() -> None:
    right = price()
    rows = frame([
        {"started_at": at(3), "cost_nanos": right},                       # priced right
        {"started_at": at(3, 13), "cost_nanos": right + 7_000_000},       # stale: logged 0.7 cent too much
        {"started_at": at(4), "cost_nanos": right, "project_id": None, "attribution_tier": None},  # unattributed
        {"started_at": at(4, 1), "cost_nanos": 0, "model": "no-such-model", "rates_version": "unpriced"},
        {"started_at": at(5), "cost_nanos": 0, "status_code": 500},        # an error costs nothing
    ])
    # the provider billed the attributed traffic at the right price, a credit, and a day never logged
    days = (DayBill(dt.date(2026, 11, 3), 2 * right), DayBill(dt.date(2026, 11, 4), 5 * D, -3 * D,
                                                               (LineItem("Promo", -3 * D),)),
            DayBill(dt.date(2026, 11, 9), 4 * D, 0, (LineItem("Opus output", 4 * D),)))
    bill = Bill("api", "anthropic_cost_report", sum(d.net_nanos for d in days), days)
    result = reconcile("anthropic", NOV, rows, bill, TABLE)
    # worked out from the rows and the bill, not from the result
    logged, billed = 3 * right + 7_000_000, 2 * right + (5 * D - 3 * D) + 4 * D
    assert (result.logged_nanos, result.billed_nanos, result.variance_nanos) == (logged, billed, logged - billed)
    by_cause = {f.cause: f for f in result.findings}
    # billed exceeds logged, so nothing is left for the unattributed row; the rest is day 4's unlogged charge
    assert by_cause["unattributed"].delta_nanos == 0
    assert by_cause["unexplained"].delta_nanos == right - 5 * D
    assert by_cause["stale_rate"].delta_nanos == 7_000_000 and by_cause["stale_rate"].request_id == 2
    assert by_cause["stale_rate"].detail["repriced_nanos"] == right
    assert by_cause["promo_credit"].delta_nanos == 3 * D and by_cause["promo_credit"].day == dt.date(2026, 11, 4)
    assert by_cause["unlogged_spend"].delta_nanos == -4 * D and by_cause["unlogged_spend"].day == dt.date(2026, 11, 9)
    assert by_cause["unpriced_model"].request_id == 4 and by_cause["unpriced_model"].delta_nanos == 0
    unattributed = by_cause["unattributed"]
    assert unattributed.attribution_tier is None and unattributed.detail["request_ids"] == [3]
    assert unattributed.detail["cost_nanos"] == right
    assert [f.cause for f in result.findings].count("unexplained") == 1
    assert {d.day: d.billed_nanos for d in result.days}[dt.date(2026, 11, 9)] == 4 * D


def test_unattributed_rows_take_only_what_is_left_of_logged_above_billed() -> None:
    right = price()
    rows = frame([{"started_at": at(3), "cost_nanos": right},
                  {"started_at": at(3, 1), "cost_nanos": right, "project_id": None, "attribution_tier": None}])
    billed_elsewhere = reconcile("anthropic", NOV, rows, Bill("manual", "paste", right), TABLE)
    causes = {f.cause: f.delta_nanos for f in billed_elsewhere.findings}
    assert causes == {"unattributed": right, "unexplained": 0}
    billed_more = reconcile("anthropic", NOV, rows, Bill("manual", "paste", 3 * right), TABLE)
    causes = {f.cause: f.delta_nanos for f in billed_more.findings}
    assert causes == {"unattributed": 0, "unexplained": -right}


def test_an_unattributed_finding_says_it_is_the_rest_after_the_measured_causes_capped_at_its_rows_cost() -> None:
    right = price()
    rows = frame([{"started_at": at(3), "cost_nanos": right + 7_000_000},  # stale: 0.7 cent measured
                  {"started_at": at(3, 1), "cost_nanos": right, "project_id": None, "attribution_tier": None}])
    # billed: nothing of either row, so logged − billed is both rows; the stale part is measured, the
    # unattributed row takes what is left up to its cost, and the rest stays unexplained
    result = reconcile("anthropic", NOV, rows, Bill("manual", "paste", 0), TABLE)
    finding = next(f for f in result.findings if f.cause == "unattributed")
    logged, billed, stale = 2 * right + 7_000_000, 0, 7_000_000
    rest = logged - billed - stale
    assert finding.delta_nanos == right
    assert (finding.detail["measured"], finding.detail["left_before_nanos"], finding.detail["cap_nanos"]) == (
        False, rest, right)
    assert finding.detail["note"].startswith("not measured: the variance left after the measured causes")
    assert "capped at these rows' cost" in finding.detail["note"]
    nothing_left = reconcile("anthropic", NOV, rows, Bill("manual", "paste", 3 * right), TABLE)
    idle = next(f for f in nothing_left.findings if f.cause == "unattributed")
    assert idle.delta_nanos == 0 and idle.detail["note"].startswith("not measured: the measured causes leave nothing")


def test_a_paste_gives_days_without_billed_figures_and_an_empty_month_still_reconciles() -> None:
    rows = frame([{"started_at": at(3), "cost_nanos": price()}])
    pasted = reconcile("anthropic", NOV, rows, Bill("manual", "paste", price()), TABLE)
    assert [(d.billed_nanos, d.variance_nanos) for d in pasted.days] == [(None, None)]
    assert (pasted.band, pasted.variance_nanos) == ("green", 0)
    empty = reconcile("openai", NOV, frame([]), Bill("api", "openai_costs_api", 0, ()), TABLE)
    assert (empty.logged_nanos, empty.band, empty.variance_ratio) == (0, "green", None)
    assert [f.cause for f in empty.findings] == ["unexplained"]


def test_rows_no_project_claims_come_first_then_the_default_tier_by_tier() -> None:
    right = price()
    rows = frame([{"started_at": at(3), "cost_nanos": right},
                  {"started_at": at(3, 1), "cost_nanos": right, "project_id": None, "attribution_tier": None},
                  {"started_at": at(3, 2), "cost_nanos": right, "attribution_tier": "default"}])
    result = reconcile("anthropic", NOV, rows, Bill("manual", "paste", right + right // 2), TABLE)
    tiers = [(f.attribution_tier, f.delta_nanos, f.detail["request_ids"]) for f in result.findings
             if f.cause == "unattributed"]
    assert tiers == [(None, right, [2]), ("default", right - right // 2, [3])]
    assert [f.delta_nanos for f in result.findings if f.cause == "unexplained"] == [0]  # the tiers explain it all


def test_a_finding_or_bill_with_a_name_the_dashboard_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown finding cause 'stale'"):
        Finding("stale", 1)
    with pytest.raises(ValueError, match="unknown billing origin 'csv'"):
        Bill("api", "csv", 0)
