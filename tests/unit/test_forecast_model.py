"""The month-end forecast on hand-made series whose answer is known."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from core.periods import next_month
from forecast import DailySpend, Forecast, day_share, forecast_month_end
from forecast.model import MAX_SPREAD, _likely_shift, _lognormal, _mean, _median, _running_median
from synthetic.spend import daily_stories

DOLLAR = 1_000_000_000
MARCH = dt.date(2026, 3, 1)  # 31 days, starting on a Sunday
HISTORY_START = dt.date(2025, 12, 1)


def series(values: list[float] | np.ndarray, first_day: dt.date = HISTORY_START) -> DailySpend:
    return DailySpend(first_day, np.round(np.asarray(values, dtype=float) * DOLLAR).astype(np.int64))


def days_until(day: dt.date, first_day: dt.date = HISTORY_START) -> int:
    return (day - first_day).days + 1


def noisy(level: float, days: int, seed: int, sigma: float = 0.1) -> np.ndarray:
    return level * np.exp(np.random.default_rng(seed).normal(-sigma**2 / 2, sigma, days))


def rest(forecast: Forecast) -> int:
    return forecast.forecast_nanos - forecast.spent_nanos


def test_a_flat_series_forecasts_flat() -> None:
    daily = series([10.0] * days_until(dt.date(2026, 3, 14)))
    fc = forecast_month_end(daily, dt.date(2026, 3, 14), MARCH)
    assert fc.spent_nanos == 140 * DOLLAR
    assert fc.forecast_nanos == pytest.approx(310 * DOLLAR, rel=1e-3)
    assert fc.low_nanos <= 310 * DOLLAR <= fc.high_nanos
    assert fc.high_nanos - fc.low_nanos < 0.3 * fc.forecast_nanos
    assert fc.method == "robust_level_weekly"


def test_figures_are_integer_nanos_in_order_and_month_to_date_is_exact() -> None:
    values = noisy(37.123456789, days_until(dt.date(2026, 3, 20)), seed=1, sigma=0.3)
    daily = series(values)
    fc = forecast_month_end(daily, dt.date(2026, 3, 20), MARCH)
    for figure in (fc.spent_nanos, fc.forecast_nanos, fc.low_nanos, fc.high_nanos):
        assert type(figure) is int
    assert fc.spent_nanos == int(daily.nanos[-20:].sum())
    assert fc.spent_nanos <= fc.low_nanos <= fc.forecast_nanos <= fc.high_nanos


def test_a_burst_on_day_5_does_not_lift_the_forecast_of_days_15_to_31() -> None:
    values = noisy(50.0, days_until(dt.date(2026, 3, 14)), seed=2)
    calm = forecast_month_end(series(values), dt.date(2026, 3, 14), MARCH)
    burst = values.copy()
    burst[days_until(dt.date(2026, 3, 5)) - 1] += 1000.0  # a loop: twenty days of spend in one
    loud = forecast_month_end(series(burst), dt.date(2026, 3, 14), MARCH)
    assert loud.spent_nanos == calm.spent_nanos + 1000 * DOLLAR  # what was spent counts, once
    assert rest(loud) == pytest.approx(rest(calm), rel=0.02)  # and is not extrapolated
    assert loud.outlier_days == (dt.date(2026, 3, 5),)
    run_rate_rest = loud.spent_nanos * 31 // 14 - loud.spent_nanos
    assert run_rate_rest > 1.5 * rest(calm)  # the naive run rate would have been


def test_the_weekday_rhythm_is_carried_into_the_rest_of_the_month() -> None:
    days = days_until(dt.date(2026, 3, 14))
    weekday = np.array([(HISTORY_START + dt.timedelta(days=i)).weekday() for i in range(days + 17)])
    rhythm = np.where(weekday >= 5, 20.0, 100.0)  # weekdays $100, weekends $20
    fc = forecast_month_end(series(rhythm[:days]), dt.date(2026, 3, 14), MARCH)
    truth = int(rhythm[days:].sum()) * DOLLAR  # March 15-31: 13 weekdays, 4 weekend days
    assert rest(fc) == pytest.approx(truth, rel=0.01)
    flat_guess = rhythm[:days][-28:].mean() * 17 * DOLLAR
    assert abs(rest(fc) - truth) < abs(flat_guess - truth) / 10


def test_growth_is_followed_and_damped() -> None:
    days = days_until(dt.date(2026, 3, 14))
    growing = 20.0 * 1.005 ** np.arange(days + 17)  # +16 % a month
    fc = forecast_month_end(series(growing[:days]), dt.date(2026, 3, 14), MARCH)
    truth = growing[days:].sum() * DOLLAR
    flat = growing[days - 1] * 17 * DOLLAR
    assert flat < rest(fc) <= truth * 1.01  # above today's level, never beyond undamped growth


def test_after_a_step_change_the_new_level_is_forecast() -> None:
    values = np.concatenate([noisy(40.0, days_until(dt.date(2026, 3, 4)), seed=3),
                             noisy(100.0, 10, seed=4)])  # from March 5 on, 2.5 times the spend
    fc = forecast_month_end(series(values), dt.date(2026, 3, 14), MARCH)
    assert fc.level_shift_day is not None
    assert abs((fc.level_shift_day - dt.date(2026, 3, 5)).days) <= 1
    assert rest(fc) == pytest.approx(100 * 17 * DOLLAR, rel=0.1)


def test_the_likelihood_finds_a_step_on_its_day_and_takes_a_wandering_level_for_none() -> None:
    quiet = np.log(noisy(40.0, 60, seed=5))
    stepped = np.concatenate([quiet, np.log(noisy(60.0, 8, seed=6))])  # ×1.5 for the last 8 days
    assert abs(_likely_shift(stepped, 0.1, 0.0) - 60) <= 1
    assert _likely_shift(quiet, 0.1, 0.0) == 0
    walk = np.cumsum(np.random.default_rng(8).normal(0.0, 0.06, 91))  # drifts far, but by no single jump
    assert _likely_shift(walk, 0.02, 0.0) == 0


def test_a_workspace_paired_three_days_ago_gets_the_short_history_fallback() -> None:
    paired = dt.date(2026, 3, 12)
    fc = forecast_month_end(series([12.0, 15.0, 9.0], first_day=paired), dt.date(2026, 3, 14), MARCH)
    assert fc.method == "short_history"
    assert fc.history_days == 3
    assert fc.spent_nanos == 36 * DOLLAR
    assert fc.forecast_nanos == 36 * DOLLAR + 12 * 17 * DOLLAR  # the median day for the 17 days left
    assert fc.high_nanos - fc.low_nanos > 0.5 * rest(fc)  # three days say little: a wide interval


def test_a_burst_on_the_second_of_three_days_is_not_the_level() -> None:
    paired = dt.date(2026, 3, 12)
    fc = forecast_month_end(series([10.0, 400.0, 11.0], first_day=paired), dt.date(2026, 3, 14), MARCH)
    assert rest(fc) == 11 * 17 * DOLLAR


def test_no_history_forecasts_nothing_and_says_so() -> None:
    fc = forecast_month_end(series([], first_day=dt.date(2026, 3, 15)), dt.date(2026, 3, 14), MARCH)
    assert (fc.spent_nanos, fc.forecast_nanos, fc.low_nanos, fc.high_nanos) == (0, 0, 0, 0)
    assert fc.method == "no_history"


def test_a_month_that_is_over_is_what_was_spent() -> None:
    daily = series(noisy(10.0, days_until(dt.date(2026, 4, 2)), seed=5))
    fc = forecast_month_end(daily, dt.date(2026, 4, 2), MARCH)
    spent = daily.total(MARCH, dt.date(2026, 3, 31))
    assert (fc.spent_nanos, fc.forecast_nanos, fc.low_nanos, fc.high_nanos, fc.method) == (
        spent, spent, spent, spent, "complete")


def test_days_after_the_forecast_day_are_ignored() -> None:
    values = noisy(25.0, days_until(dt.date(2026, 3, 31)), seed=6, sigma=0.2)
    known = forecast_month_end(series(values[:days_until(dt.date(2026, 3, 10))]), dt.date(2026, 3, 10), MARCH)
    backtest = forecast_month_end(series(values), dt.date(2026, 3, 10), MARCH)
    assert known == backtest


def test_days_without_a_row_at_the_end_spent_nothing() -> None:
    values = [10.0] * days_until(dt.date(2026, 3, 10))
    daily = DailySpend.from_days({HISTORY_START + dt.timedelta(days=i): round(v * DOLLAR)
                                  for i, v in enumerate(values)})
    fc = forecast_month_end(daily, dt.date(2026, 3, 14), MARCH)  # no spend March 11-14: no rows
    assert fc.spent_nanos == 100 * DOLLAR
    assert fc.history_days == 91  # the model's window reaches March 14, the last four days at $0
    assert rest(fc) < 10 * 17 * DOLLAR


def test_a_day_still_running_counts_as_spent_and_the_rest_of_it_is_forecast() -> None:
    values = [10.0] * days_until(dt.date(2026, 3, 13)) + [4.0]  # March 14 so far: $4 of its usual $10
    fc = forecast_month_end(series(values), dt.date(2026, 3, 14), MARCH, today_share=0.4)
    assert fc.spent_nanos == 134 * DOLLAR
    assert fc.forecast_nanos == pytest.approx(310 * DOLLAR, rel=1e-3)


def test_a_project_spending_every_third_day_is_forecast_as_intermittent() -> None:
    values = [30.0 if i % 3 == 0 else 0.0 for i in range(days_until(dt.date(2026, 3, 14)))]
    fc = forecast_month_end(series(values), dt.date(2026, 3, 14), MARCH)
    assert fc.method == "intermittent"
    assert rest(fc) == pytest.approx(10 * 17 * DOLLAR, rel=0.05)
    assert fc.low_nanos < fc.forecast_nanos < fc.high_nanos


def test_next_month_can_be_forecast_before_it_starts() -> None:
    daily = series([10.0] * days_until(dt.date(2026, 2, 28)))
    fc = forecast_month_end(daily, dt.date(2026, 2, 28), MARCH)
    assert fc.spent_nanos == 0
    assert fc.forecast_nanos == pytest.approx(310 * DOLLAR, rel=1e-3)


@pytest.mark.parametrize(("month", "share", "message"), [
    (dt.date(2026, 3, 2), 1.0, "first day"),
    (MARCH, 0.0, "today_share"),
    (MARCH, 1.5, "today_share"),
])
def test_a_bad_month_or_share_is_refused(month: dt.date, share: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        forecast_month_end(series([1.0] * 30), dt.date(2026, 3, 14), month, today_share=share)


def test_negative_spend_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        DailySpend(MARCH, np.array([1, -1], dtype=np.int64))


def test_the_share_of_today_gone_follows_the_hours_or_the_scopes_own_day() -> None:
    noon = dt.datetime(2026, 3, 14, 12, 0, tzinfo=dt.UTC)
    assert day_share(noon) == 0.5
    office = np.zeros(24, dtype=np.int64)
    office[8:18] = 1  # all spend between 08:00 and 18:00 UTC
    assert day_share(noon, office) == pytest.approx(0.4)
    assert day_share(dt.datetime(2026, 3, 14, 0, 5, tzinfo=dt.UTC), office) == 0.01  # never 0
    assert day_share(dt.datetime(2026, 3, 14, 23, 0, tzinfo=dt.UTC), office) == 1.0


def test_three_days_with_spend_on_one_forecast_its_mean_not_nothing() -> None:
    fc = forecast_month_end(series([0.0, 0.0, 6.0], first_day=dt.date(2026, 3, 12)), dt.date(2026, 3, 14), MARCH)
    assert (fc.method, rest(fc)) == ("short_history", 2 * 17 * DOLLAR)


def test_a_burst_on_one_monday_does_not_lift_every_monday_after_it() -> None:
    days = days_until(dt.date(2026, 3, 14))
    weekday = np.array([(HISTORY_START + dt.timedelta(days=i)).weekday() for i in range(days + 17)])
    rhythm = np.where(weekday >= 5, 20.0, 100.0) * noisy(1.0, days + 17, seed=7, sigma=0.05)
    burst = rhythm[:days].copy()
    burst[days_until(dt.date(2026, 2, 2)) - 1] += 3000.0  # a Monday: a month of spend in one day
    fc = forecast_month_end(series(burst), dt.date(2026, 3, 14), MARCH)
    truth = rhythm[days:].sum() * DOLLAR  # March 15-31 holds three Mondays
    assert rest(fc) == pytest.approx(truth, rel=0.03)


def test_a_level_that_wanders_is_followed_and_a_noisy_flat_one_is_averaged() -> None:
    days = days_until(dt.date(2026, 3, 14))
    rng = np.random.default_rng(8)
    walk = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.06, days)))  # a random walk: its last day is the best guess
    followed = forecast_month_end(series(walk), dt.date(2026, 3, 14), MARCH)
    last_day = walk[-1] * 17 * DOLLAR
    assert rest(followed) == pytest.approx(last_day, rel=0.05)
    assert abs(rest(followed) - last_day) < abs(walk[-91:].mean() * 17 * DOLLAR - last_day) / 3
    model_errors, last_week_errors = [], []
    for seed in range(100, 120):  # one level, loud days (35 %): the last week alone says little
        flat = noisy(50.0, days, seed=seed, sigma=0.35)
        averaged = forecast_month_end(series(flat), dt.date(2026, 3, 14), MARCH)
        model_errors.append(abs(rest(averaged) / (17 * DOLLAR) - 50) / 50)
        last_week_errors.append(abs(flat[-7:].mean() - 50) / 50)
    assert np.mean(model_errors) < 0.8 * np.mean(last_week_errors)
    assert np.mean(model_errors) < 0.12


def test_on_seeded_workspaces_the_day_14_forecast_beats_the_run_rate_and_its_interval_holds() -> None:
    # synthetic workspaces as the benchmark makes them (tuning seed 11); a guard, not the benchmark
    start, march, may = dt.date(2026, 1, 1), dt.date(2026, 3, 1), dt.date(2026, 5, 1)
    errors, naive, inside = [], [], []
    for story in daily_stories(100, 11, start, 152, events_from=(march - start).days):
        daily = DailySpend(story.first_day, story.nanos)
        for month in (march, dt.date(2026, 4, 1), may):
            last = next_month(month) - dt.timedelta(days=1)
            actual, as_of = daily.total(month, last), month + dt.timedelta(days=13)
            fc = forecast_month_end(daily, as_of, month)
            errors.append(abs(fc.forecast_nanos - actual) / actual)
            naive.append(abs(fc.spent_nanos * last.day // 14 - actual) / actual)
            inside.append(fc.low_nanos <= actual <= fc.high_nanos)
    assert np.mean(errors) < 0.85 * np.mean(naive)
    assert 0.7 <= np.mean(inside) <= 0.9


@pytest.mark.parametrize(("values", "share"), [
    ([1000.0, 0.0, 0.0, 1000.0, 0.0], 0.5),  # $1,000 on two days of four: the logs' spread was 4 (exp overflowed)
    ([0.0, 0.001, 0.001, 1.0, 0.0], 1.0),  # a tenth of a cent twice, then a dollar: the same
    ([0.0, 0.001, 0.001, 1.0, 0.0], 0.5),  # the same a day earlier: its top was 4e48 dollars
    ([5.0, 0.000001] * 10, 0.5),  # $5 and a micro-dollar day by day: three weeks, the weekly model overflowed
])
def test_an_odd_short_series_gets_a_finite_interval_not_an_overflow(values: list[float], share: float) -> None:
    today = dt.date(2026, 11, 16)
    fc = forecast_month_end(series(values, first_day=today - dt.timedelta(days=len(values) - 1)), today,
                            today_share=share)
    assert fc.method in ("short_history", "robust_level", "robust_level_weekly")
    assert fc.spent_nanos <= fc.low_nanos <= fc.forecast_nanos <= fc.high_nanos < 2**63
    # an 80 % interval says no more than 1/20 to 20 times the rest of the month's forecast
    assert fc.high_nanos - fc.spent_nanos <= 20 * rest(fc) + 1


def test_the_point_never_leaves_its_interval_where_the_spread_is_capped() -> None:
    rest = _lognormal(100.0, 40.0, "robust_level", [], None, mean=math.exp(20.0))  # log spread past the cap
    assert rest.high == pytest.approx(100.0 * math.exp(MAX_SPREAD))
    assert rest.low <= rest.expected <= rest.high


def test_the_models_median_and_mean_are_numpys_bit_for_bit() -> None:
    # the model's figures must not move with the faster median and mean: same bits as numpy's, odd and even lengths,
    # ties, a nan; the running median likewise
    rng = np.random.default_rng(5)
    for n in range(1, 95):
        for values in (rng.normal(size=n), rng.integers(0, 4, n).astype(np.float64), rng.lognormal(3, 2, n)):
            assert np.float64(_median(values)).tobytes() == np.float64(np.median(values)).tobytes()
            assert np.float64(_mean(values)).tobytes() == np.float64(np.mean(values)).tobytes()
            if n >= 7:
                windows = np.lib.stride_tricks.sliding_window_view(values, 7)
                assert np.array_equal(_running_median(values)[3:n - 3], np.median(windows, axis=1))
    assert math.isnan(_median(np.array([1.0, np.nan, 2.0])))
