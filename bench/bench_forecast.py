"""Backtest of the month-end forecast, its speed, and the spend-anomaly rule on steady traffic (issue 17).

Forecast: synthetic workspaces (synthetic.spend: weekly rhythm, growth, a wandering level, noise, one step
change and one one-off burst each, some paired late), January to May 2026; the step and the burst fall in
March to May. For forecasts made on days 7, 14 and 21 of March, April and May it prints the mean absolute
percentage error of the month-end figure, the share of months whose actual lies inside the 80 % interval,
the same error for the naive run rate (month to date ÷ days elapsed × days in the month), and the ratio,
each next to its target; then the forecasts whose month has a step or a burst still to come (which no
model can see) apart from the others. Speed: every forecast timed in this process, per series and
extrapolated to 10,000 workspaces × 20 projects on one core.

Anomaly rule: months of steady 10-minute traffic (synthetic.spend.steady_hourly) of devices and projects
from $0.50 to $2,000 a day, the rule applied at every 10-minute pulse after two weeks of history: how many
alerts (distinct fingerprints) it raises; then the same series with a loop burning $80 in 20 minutes
planted in each: how many it catches.

Usage: python -m bench.bench_forecast [--workspaces N] [--series N] [--statsmodels]
(--statsmodels also runs statsmodels' ETSModel on 600 of the forecasts when it is installed; it is not a
dependency: see forecast/model.py for why.)
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import importlib
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from forecast import AnomalyRule, DailySpend, SpendBuckets, detect_anomaly, forecast_month_end, spend_anomaly_alert
from synthetic.spend import SpendStory, daily_stories, steady_hourly

START = dt.date(2026, 1, 1)
MONTHS = (dt.date(2026, 3, 1), dt.date(2026, 4, 1), dt.date(2026, 5, 1))
END = dt.date(2026, 6, 1)
FORECAST_DAYS = (7, 14, 21)
SEED = 2026  # the model's one calibrated figure was fitted on seed 17: this backtest is out of sample
NANOS = 1_000_000_000


@dataclass(frozen=True)
class Case:
    story: SpendStory
    month: dt.date
    day: int  # the forecast is made with days 1..day of the month known
    actual: int

    @property
    def as_of(self) -> dt.date:
        return self.month + dt.timedelta(days=self.day - 1)

    @property
    def event_ahead(self) -> bool:
        last = self.month + dt.timedelta(days=calendar.monthrange(self.month.year, self.month.month)[1] - 1)
        return any(self.as_of < d <= last for d in (self.story.step_day, self.story.burst_day))


def cases(workspaces: int) -> list[Case]:
    stories = daily_stories(workspaces, SEED, START, (END - START).days, events_from=(MONTHS[0] - START).days)
    out = []
    for story in stories:
        series = DailySpend(story.first_day, story.nanos)
        for month in MONTHS:
            last = month + dt.timedelta(days=calendar.monthrange(month.year, month.month)[1] - 1)
            actual = series.total(month, last)
            out += [Case(story, month, day, actual) for day in FORECAST_DAYS]
    return out


def run_rate(case: Case) -> int:
    days = calendar.monthrange(case.month.year, case.month.month)[1]
    spent = DailySpend(case.story.first_day, case.story.nanos).total(case.month, case.as_of)
    return spent * days // case.day


def backtest(all_cases: list[Case]) -> None:
    started = time.perf_counter()
    forecasts = [forecast_month_end(DailySpend(c.story.first_day, c.story.nanos), c.as_of, c.month)
                 for c in all_cases]
    elapsed = time.perf_counter() - started
    naive = [run_rate(c) for c in all_cases]
    print(f"{len({id(c.story) for c in all_cases})} workspaces, {len(all_cases)} forecasts "
          f"(months {MONTHS[0]:%b}-{MONTHS[-1]:%b} {MONTHS[0]:%Y}, days {', '.join(map(str, FORECAST_DAYS))})")
    print("day  model MAPE  run-rate MAPE  ratio (target <= 0.7 on day 14)  80% coverage (target 70-90%)")
    for day in FORECAST_DAYS:
        rows = [i for i, c in enumerate(all_cases) if c.day == day]
        model = _mape([forecasts[i].forecast_nanos for i in rows], [all_cases[i].actual for i in rows])
        base = _mape([naive[i] for i in rows], [all_cases[i].actual for i in rows])
        inside = np.mean([forecasts[i].low_nanos <= all_cases[i].actual <= forecasts[i].high_nanos for i in rows])
        ratio = model / base
        ratio_note = ("meets target" if ratio <= 0.7 else "MISSES target") if day == 14 else "(no target)"
        cover_note = "meets target" if 0.7 <= inside <= 0.9 else "MISSES target"
        print(f"{day:>3}  {100 * model:9.2f}%  {100 * base:12.2f}%  {ratio:5.2f} {ratio_note:<26} "
              f"{100 * inside:5.1f}% {cover_note}")
    for ahead in (False, True):
        rows = [i for i, c in enumerate(all_cases) if c.day == 14 and c.event_ahead == ahead]
        model = _mape([forecasts[i].forecast_nanos for i in rows], [all_cases[i].actual for i in rows])
        base = _mape([naive[i] for i in rows], [all_cases[i].actual for i in rows])
        print(f"  day 14, {'a step or burst still to come' if ahead else 'nothing unforeseeable ahead '} "
              f"({len(rows):4} forecasts): model {100 * model:5.2f}%, run rate {100 * base:5.2f}%, "
              f"ratio {model / base:.2f}")
    methods: dict[str, int] = {}
    for f in forecasts:
        methods[f.method] = methods.get(f.method, 0) + 1
    print("methods used: " + ", ".join(f"{m} {n}" for m, n in sorted(methods.items())))
    per_series = elapsed / len(all_cases)
    fleet = per_series * 10_000 * 20
    print(f"time per forecast series: {per_series * 1000:.3f} ms (target < 5 ms: "
          f"{'meets target' if per_series < 0.005 else 'MISSES target'})")
    print(f"10,000 workspaces x 20 projects on one core: {fleet / 60:.1f} min (target < 20 min: "
          f"{'meets target' if fleet < 20 * 60 else 'MISSES target'})")


def _mape(forecast: list[int], actual: list[int]) -> float:
    return float(np.mean([abs(f - a) / a for f, a in zip(forecast, actual, strict=True)]))


def anomalies(series_count: int) -> None:
    rng = np.random.default_rng(SEED)
    rule = AnomalyRule()
    days, history_days = 44, rule.history_days
    start = dt.date(2026, 3, 2)
    steady = []
    for _ in range(series_count):
        dollars = float(np.exp(rng.uniform(np.log(0.5), np.log(2000.0))))
        per_request = min(float(rng.choice([0.005, 0.02, 0.1, 0.5, 2.0])), dollars / 3)
        steady.append(steady_hourly(rng, start, days, dollars, dollars_per_request=per_request,
                                    utc_offset_hours=int(rng.integers(-8, 10))))
    pulses = (days - history_days) * 144
    for with_counts in (True, False):
        alerts = sum(len(_alerts(spend, counts if with_counts else None, rule, history_days))
                     for spend, counts in steady)
        print(f"steady traffic, {series_count} series x {days - history_days} days, every 10-minute pulse "
              f"({'with' if with_counts else 'without'} request counts): {alerts} alerts, "
              f"{alerts / series_count:.3f} per series-month, {alerts / (series_count * pulses):.2e} per pulse")
    bar = 80 * NANOS / rule.busiest_factor  # a loop of $80 is "far outside" a history whose busiest hour is below
    caught = {True: [0, 0], False: [0, 0]}
    for spend, counts in steady:
        loop_at = int(rng.integers(history_days * 144 + 6, days * 144 - 3))
        planted_spend, planted_counts = spend.copy(), counts.copy()
        planted_spend[loop_at:loop_at + 2] += 40 * NANOS  # $80 in 20 minutes
        planted_counts[loop_at:loop_at + 2] += 200
        found = _alerts(planted_spend, planted_counts, rule, history_days, window=(loop_at, loop_at + 6))
        small = float(np.quantile(np.convolve(spend[loop_at - history_days * 144:loop_at], np.ones(6), "valid"),
                                  rule.busiest_quantile)) < bar
        caught[small][0] += bool(found)
        caught[small][1] += 1
    print(f"a loop burning $80 in 20 minutes planted in each, caught within the hour it starts: "
          f"{caught[True][0]} of the {caught[True][1]} series whose busiest hour is under ${bar / NANOS:.0f} "
          f"(target: all), {caught[False][0]} of the {caught[False][1]} busier ones (no target: the loop is within "
          f"their usual hours; the device it runs on is checked too)")


def _alerts(spend: np.ndarray, counts: np.ndarray | None, rule: AnomalyRule, history_days: int,
            window: tuple[int, int] | None = None) -> set[str]:
    """The distinct fingerprints the rule raises at each 10-minute pulse (the whole checked month, or the
    pulses ending in `window`)."""
    first = history_days * 144 + 6
    ends = range(first, len(spend) + 1) if window is None else range(window[0] + 1, min(window[1], len(spend)) + 1)
    hourly = np.concatenate([[0], np.cumsum(spend)])
    origin = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    raised = set()
    for end in ends:
        if hourly[end] - hourly[end - 6] < rule.min_excess_nanos:
            continue  # what detect_anomaly returns first too; skipped here only to keep the loop quick
        lo = end - first
        found = detect_anomaly(SpendBuckets("device", 1, origin + dt.timedelta(minutes=10 * end), 10,
                                            spend[lo:end], None if counts is None else counts[lo:end]), rule)
        if found is not None:
            raised.add(spend_anomaly_alert(found).fingerprint)
    return raised


def statsmodels_comparison(all_cases: list[Case]) -> None:
    try:
        ets = importlib.import_module("statsmodels.tsa.exponential_smoothing.ets")
    except ImportError:
        print("statsmodels is not installed: pip install statsmodels to compare")
        return
    sample = [all_cases[i] for i in np.random.default_rng(0).choice(len(all_cases), 600, replace=False)]

    def fit(case: Case) -> tuple[int, int, int]:
        history = DailySpend(case.story.first_day, case.story.nanos).between(
            case.as_of - dt.timedelta(days=90), case.as_of).astype(float) / NANOS
        spent = DailySpend(case.story.first_day, case.story.nanos).total(case.month, case.as_of)
        ahead = calendar.monthrange(case.month.year, case.month.month)[1] - case.day
        if len(history) < 21:
            return run_rate(case), run_rate(case), run_rate(case)
        result = ets.ETSModel(np.log(history + 0.01), error="add", trend="add", damped_trend=True,
                              seasonal="add", seasonal_periods=7).fit(disp=False)
        mean = float((np.exp(np.asarray(result.forecast(ahead)) + result.mse / 2) - 0.01).sum())
        paths = (np.exp(np.asarray(result.simulate(ahead, repetitions=200, anchor="end"))) - 0.01).sum(axis=0)
        low, high = np.percentile(paths, [10, 90])
        return spent + round(mean * NANOS), spent + round(low * NANOS), spent + round(high * NANOS)

    for name, method in (("statsmodels ETSModel", fit), ("this model", _ours), ("run rate", _naive)):
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = [method(c) for c in sample]
        elapsed = (time.perf_counter() - started) / len(sample)
        line = []
        for day in FORECAST_DAYS:
            rows = [i for i, c in enumerate(sample) if c.day == day]
            error = _mape([results[i][0] for i in rows], [sample[i].actual for i in rows])
            inside = np.mean([results[i][1] <= sample[i].actual <= results[i][2] for i in rows])
            line.append(f"day {day}: {100 * error:5.2f}% (inside {100 * inside:3.0f}%)")
        print(f"{name:<21} {'  '.join(line)}  {elapsed * 1000:8.2f} ms per series")


def _ours(case: Case) -> tuple[int, int, int]:
    f = forecast_month_end(DailySpend(case.story.first_day, case.story.nanos), case.as_of, case.month)
    return f.forecast_nanos, f.low_nanos, f.high_nanos


def _naive(case: Case) -> tuple[int, int, int]:
    value = run_rate(case)
    return value, value, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspaces", type=int, default=400)
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--statsmodels", action="store_true")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    all_cases = cases(args.workspaces)
    timed: list[tuple[str, Callable[[], None]]] = [("forecast backtest", lambda: backtest(all_cases)),
                                                   ("spend anomaly rule", lambda: anomalies(args.series))]
    if args.statsmodels:
        timed.append(("library comparison", lambda: statsmodels_comparison(all_cases)))
    for title, action in timed:
        print(f"-- {title}")
        action()


if __name__ == "__main__":
    main()
