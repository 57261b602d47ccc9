"""Budget status at its boundaries, and cost centers forecast from the sum of their projects' spend."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from forecast import (
    Budgets,
    DailySpend,
    Forecast,
    budget_status,
    cost_center_spend,
    forecast_month_end,
    forecast_scope,
    forecast_scopes,
    sum_daily,
)

DOLLAR = 1_000_000_000
MARCH = dt.date(2026, 3, 1)
AS_OF = dt.date(2026, 3, 14)


def fc(spent: int, forecast: int, low: int, high: int) -> Forecast:
    return Forecast(spent, forecast, low, high, "robust_level_weekly", 91)


@pytest.mark.parametrize(("budget", "status"), [
    (None, "no_budget"),
    (131, "on_track"),  # the interval's top is the budget: not above it
    (130, "at_risk"),
    (101, "at_risk"),
    (100, "at_risk"),  # the forecast equals the budget: not above it
    (99, "over_forecast"),
    (60, "over_forecast"),  # month to date equals the budget: not above it
    (59, "over_budget"),
    (0, "over_budget"),
])
def test_status_against_the_budget_at_each_boundary(budget: int | None, status: str) -> None:
    assert budget_status(fc(60, 100, 80, 131), budget) == status


def test_a_cost_center_sums_its_projects_day_by_day_from_the_earliest_start() -> None:
    a = DailySpend(dt.date(2026, 3, 1), np.array([1, 2, 3], dtype=np.int64))
    b = DailySpend(dt.date(2026, 3, 2), np.array([10, 20, 30, 40], dtype=np.int64))
    total = sum_daily([a, b])
    assert total.first_day == dt.date(2026, 3, 1)
    assert total.nanos.tolist() == [1, 12, 23, 30, 40]
    centers = cost_center_spend({1: a, 2: b, 3: a}, {7: [1, 2], 8: [3, 99], 9: []})
    assert centers[7].nanos.tolist() == total.nanos.tolist()
    assert centers[8].nanos.tolist() == [1, 2, 3]  # project 99 spent nothing: no series
    assert centers[9].nanos.tolist() == []


def history(level: float, seed: int, burst_day: int | None = None) -> DailySpend:
    first = dt.date(2025, 12, 1)
    days = (AS_OF - first).days + 1
    values = level * np.exp(np.random.default_rng(seed).normal(0, 0.2, days))
    if burst_day is not None:
        values[burst_day] += 30 * level
    return DailySpend(first, np.round(values * DOLLAR).astype(np.int64))


def test_a_cost_center_is_the_forecast_of_the_sum_series_not_the_sum_of_forecasts() -> None:
    projects = {1: history(40.0, 1), 2: history(15.0, 2, burst_day=100), 3: history(5.0, 3)}
    workspace = sum_daily(projects.values())
    rows = forecast_scopes(workspace, projects, {10: [1, 2], 11: [3]},
                           Budgets(workspace=5000 * DOLLAR, projects={2: 100 * DOLLAR}, cost_centers={10: 10 * DOLLAR}),
                           AS_OF)
    assert [(r.scope, r.scope_id) for r in rows] == [("workspace", None), ("project", 1), ("project", 2),
                                                     ("project", 3), ("cost_center", 10), ("cost_center", 11)]
    center = rows[4]
    assert center.forecast == forecast_month_end(sum_daily([projects[1], projects[2]]), AS_OF, MARCH)
    assert center.forecast.spent_nanos == rows[1].forecast.spent_nanos + rows[2].forecast.spent_nanos
    assert center.forecast.high_nanos < rows[1].forecast.high_nanos + rows[2].forecast.high_nanos
    burst = dt.date(2025, 12, 1) + dt.timedelta(days=100)
    assert center.forecast.outlier_days == (burst,)  # project 2's burst stays capped in the sum
    assert [r.status for r in rows] == ["on_track", "no_budget", "over_budget", "no_budget", "over_budget",
                                        "no_budget"]
    assert rows[2].budget_nanos == 100 * DOLLAR


def test_a_scope_row_has_the_columns_of_analysis_spend_forecasts() -> None:
    row = forecast_scope("project", 4, history(10.0, 4), 500 * DOLLAR, AS_OF).row()
    assert set(row) == {"scope", "scope_id", "period", "spent_nanos", "forecast_nanos", "low_nanos", "high_nanos",
                        "budget_nanos", "status", "method"}
    assert row["period"] == MARCH and row["status"] == "on_track"


def test_a_scope_needs_an_id_except_the_workspace() -> None:
    with pytest.raises(ValueError, match="needs an id"):
        forecast_scope("project", None, history(1.0, 5), None, AS_OF)
    with pytest.raises(ValueError, match="has no id"):
        forecast_scope("workspace", 3, history(1.0, 5), None, AS_OF)
    with pytest.raises(ValueError, match="scope must be one of"):
        forecast_scope("team", 3, history(1.0, 5), None, AS_OF)
