"""A scope the forecast model cannot forecast (an arithmetic error on a strange series, or an interval beyond a
bigint) gets the run rate, named as such, instead of failing the forecast of every other scope
(workers/jobs/forecast.py). The model no longer overflows on the odd short series that used to show this
(tests/unit/test_forecast_model.py checks them), so the failures are injected here."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pytest

from forecast import DailySpend, ScopeForecast, forecast_scope
from workers.jobs import forecast as stage
from workers.jobs.forecast import FALLBACK_METHOD, forecast_one_scope

TODAY = dt.date(2026, 11, 16)
DOLLAR = 1_000_000_000


def test_a_series_the_model_fails_on_gets_the_run_rate_with_a_wide_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    def overflow(*args: Any, **kwargs: Any) -> ScopeForecast:
        raise OverflowError("math range error")

    monkeypatch.setattr(stage, "forecast_scope", overflow)
    # $1,000 on two days of five, nothing on the others
    daily = DailySpend(TODAY - dt.timedelta(days=4), np.array([1000, 0, 0, 1000, 0], dtype=np.int64) * DOLLAR)
    row = forecast_one_scope("project", 7, daily, 1_500 * DOLLAR, TODAY, 0.5)
    fc = row.forecast
    assert fc.method == FALLBACK_METHOD and row.period == dt.date(2026, 11, 1)
    assert fc.spent_nanos == 2_000 * DOLLAR
    # 15.5 days elapsed, 14.5 left: the run rate; the top: every day left like the dearest day seen
    assert fc.forecast_nanos == 2_000 * DOLLAR + round(2_000 * DOLLAR / 15.5 * 14.5)
    assert (fc.low_nanos, fc.high_nanos) == (fc.spent_nanos, 2_000 * DOLLAR + 14_500 * DOLLAR)
    assert row.status == "over_budget"


def test_a_series_the_model_handles_keeps_the_model() -> None:
    daily = DailySpend(TODAY - dt.timedelta(days=40), np.full(41, 10 * DOLLAR, dtype=np.int64))
    assert forecast_one_scope("workspace", None, daily, None, TODAY, 0.5).forecast.method != FALLBACK_METHOD


def test_the_odd_short_series_that_overflowed_keeps_the_model_now() -> None:
    daily = DailySpend(TODAY - dt.timedelta(days=4), np.array([1000, 0, 0, 1000, 0], dtype=np.int64) * DOLLAR)
    fc = forecast_one_scope("project", 7, daily, 1_500 * DOLLAR, TODAY, 0.5).forecast
    assert fc.method == "short_history" and fc.high_nanos < 2**63


def test_an_interval_beyond_a_bigint_gets_the_run_rate_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def too_wide(*args: Any, **kwargs: Any) -> ScopeForecast:
        row = forecast_scope(*args, **kwargs)
        return dataclasses.replace(row, forecast=dataclasses.replace(row.forecast, high_nanos=2**63))

    monkeypatch.setattr(stage, "forecast_scope", too_wide)
    daily = DailySpend(TODAY - dt.timedelta(days=4), np.array([0, 1_000_000, 1_000_000, DOLLAR, 0], dtype=np.int64))
    row = forecast_one_scope("workspace", None, daily, None, TODAY, 0.5)
    assert row.forecast.method == FALLBACK_METHOD and row.forecast.high_nanos < 2**63
