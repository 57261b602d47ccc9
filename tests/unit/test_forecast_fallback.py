"""A scope the forecast model cannot forecast (an arithmetic error on a strange series, or an interval beyond a
bigint) gets the run rate, named as such, instead of failing the forecast of every other scope
(forecast.forecast_scope, the one loop the forecast stage and the pulse go through). The model no longer
overflows on the odd short series that used to show this (tests/unit/test_forecast_model.py checks them), so
the failures are injected here."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pytest

from forecast import FALLBACK_METHOD, Budgets, DailySpend, Forecast, forecast_scope, forecast_scopes
from forecast import scopes as scopes_module
from forecast.model import forecast_month_end

TODAY = dt.date(2026, 11, 16)
DOLLAR = 1_000_000_000


def overflow(*args: Any, **kwargs: Any) -> Forecast:
    raise OverflowError("math range error")


def test_a_series_the_model_fails_on_gets_the_run_rate_with_a_wide_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scopes_module, "forecast_month_end", overflow)
    # $1,000 on two days of five, nothing on the others
    daily = DailySpend(TODAY - dt.timedelta(days=4), np.array([1000, 0, 0, 1000, 0], dtype=np.int64) * DOLLAR)
    row = forecast_scope("project", 7, daily, 1_500 * DOLLAR, TODAY, today_share=0.5)
    fc = row.forecast
    assert fc.method == FALLBACK_METHOD and row.period == dt.date(2026, 11, 1)
    assert fc.spent_nanos == 2_000 * DOLLAR
    # 15.5 days elapsed, 14.5 left: the run rate; the top: every day left like the dearest day seen
    assert fc.forecast_nanos == 2_000 * DOLLAR + round(2_000 * DOLLAR / 15.5 * 14.5)
    assert (fc.low_nanos, fc.high_nanos) == (fc.spent_nanos, 2_000 * DOLLAR + 14_500 * DOLLAR)
    assert row.status == "over_budget"


def test_every_scope_of_the_month_goes_through_the_fallback_and_the_others_keep_the_model(
        monkeypatch: pytest.MonkeyPatch) -> None:
    failing = DailySpend(TODAY - dt.timedelta(days=4), np.array([1000, 0, 0, 1000, 0], dtype=np.int64) * DOLLAR)
    steady = DailySpend(TODAY - dt.timedelta(days=40), np.full(41, 10 * DOLLAR, dtype=np.int64))

    def fails_on_project_7(daily: DailySpend, *args: Any, **kwargs: Any) -> Forecast:
        if daily is failing:
            raise OverflowError("math range error")
        return forecast_month_end(daily, *args, **kwargs)

    monkeypatch.setattr(scopes_module, "forecast_month_end", fails_on_project_7)
    rows = forecast_scopes(steady, {7: failing, 8: steady}, {}, Budgets(), TODAY, today_share=0.5)
    methods = {(r.scope, r.scope_id): r.forecast.method for r in rows}
    assert methods[("project", 7)] == FALLBACK_METHOD
    assert methods[("workspace", None)] != FALLBACK_METHOD and methods[("project", 8)] != FALLBACK_METHOD


def test_a_series_the_model_handles_keeps_the_model() -> None:
    daily = DailySpend(TODAY - dt.timedelta(days=40), np.full(41, 10 * DOLLAR, dtype=np.int64))
    assert forecast_scope("workspace", None, daily, None, TODAY, today_share=0.5).forecast.method != FALLBACK_METHOD


def test_the_odd_short_series_that_overflowed_keeps_the_model_now() -> None:
    daily = DailySpend(TODAY - dt.timedelta(days=4), np.array([1000, 0, 0, 1000, 0], dtype=np.int64) * DOLLAR)
    fc = forecast_scope("project", 7, daily, 1_500 * DOLLAR, TODAY, today_share=0.5).forecast
    assert fc.method == "short_history" and fc.high_nanos < 2**63


def test_an_interval_beyond_a_bigint_gets_the_run_rate_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def too_wide(*args: Any, **kwargs: Any) -> Forecast:
        return dataclasses.replace(forecast_month_end(*args, **kwargs), high_nanos=2**63)

    monkeypatch.setattr(scopes_module, "forecast_month_end", too_wide)
    daily = DailySpend(TODAY - dt.timedelta(days=4), np.array([0, 1_000_000, 1_000_000, DOLLAR, 0], dtype=np.int64))
    row = forecast_scope("workspace", None, daily, None, TODAY, today_share=0.5)
    assert row.forecast.method == FALLBACK_METHOD and row.forecast.high_nanos < 2**63
