"""Backtest of the month-end forecast, its speed, and the spend-anomaly rule on steady traffic (issue 17).

Forecast: synthetic workspaces (synthetic.spend: weekly rhythm, growth, a wandering level, noise, one step
change and one one-off burst each, some paired late), January to May 2026; the step and the burst fall in
March to May. The workspaces come from seeds, in two sets: the model's figures were chosen looking only at
TUNING_SEEDS; HELD_OUT_SEEDS are the out-of-sample check and were never used to choose anything (a change
made because of them would make them tuning seeds: add new held-out ones then). The scenario mix is the
one the model was first built against, unchanged: one step (×0.5 to ×2.2) and one burst (2 to 12 days of
spend in a day) per workspace in the three backtested months, so about a third of the day-14 forecasts
have one still to come, which no model can see.

For forecasts made on days 7, 14 and 21 of March, April and May, per seed set: the mean absolute
percentage error of the month-end figure, the same error for the naive run rate (month to date ÷ days
elapsed × days in the month), their ratio, and the share of months whose actual lies inside the 80 %
interval, each next to its target; the day-14 ratio of each seed; then the day-14 forecasts whose month has
a step or a burst still to come apart from the others; and the floor under those figures: an
"informed filter", the optimal (Kalman) filter told each workspace's true noise, wander, growth and weekly
rhythm and the day of any past step and burst: a practical floor (not a proof) for a forecast from the
spend alone, which must estimate all of that.
Speed: every forecast timed in this process, per
series and extrapolated to 10,000 workspaces × 20 projects on one core.

Anomaly rule: months of steady 10-minute traffic (synthetic.spend.steady_hourly) of devices and projects
from $0.50 to $2,000 a day, the rule applied at every 10-minute pulse after two weeks of history: how many
alerts (distinct fingerprints) it raises; then the same series with a loop burning $80 in 20 minutes
planted in each: how many it catches.

Usage: python -m bench.bench_forecast [--workspaces N] [--series N] [--statsmodels N]
(--statsmodels N also runs statsmodels' ETSModel on N of the first tuning seed's forecasts when it is
installed; it is not a dependency: see forecast/model.py for why.)
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
from synthetic.rhythm import WEEKDAY_FACTORS
from synthetic.spend import SpendStory, daily_stories, steady_hourly

START = dt.date(2026, 1, 1)
MONTHS = (dt.date(2026, 3, 1), dt.date(2026, 4, 1), dt.date(2026, 5, 1))
END = dt.date(2026, 6, 1)
FORECAST_DAYS = (7, 14, 21)
TUNING_SEEDS = (11, 17, 23)  # the model's figures were chosen on these
HELD_OUT_SEEDS = (2026, 4099, 7919)  # and checked on these (2026: the seed of the first version's figures)
ANOMALY_SEED = 2026
NANOS = 1_000_000_000
TARGET_RATIO = 0.7  # day 14: at most 0.7x the run rate's error
TARGET_COVERAGE = (0.7, 0.9)
TARGET_MS = 5.0


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


def cases(workspaces: int, seed: int) -> list[Case]:
    stories = daily_stories(workspaces, seed, START, (END - START).days, events_from=(MONTHS[0] - START).days)
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


@dataclass(frozen=True)
class Scored:
    case: Case
    seed: int
    error: float  # |forecast - actual| / actual
    naive_error: float  # the same for the run rate
    inside: bool  # the actual lies in the 80 % interval
    informed_error: float  # the same for the informed filter


def score(seeds: tuple[int, ...], workspaces: int) -> tuple[list[Scored], float, dict[str, int]]:
    """Every forecast of the seeds' workspaces, scored; the seconds spent forecasting; the methods used."""
    scored, elapsed, methods = [], 0.0, dict[str, int]()
    for seed in seeds:
        for c in cases(workspaces, seed):
            daily = DailySpend(c.story.first_day, c.story.nanos)
            started = time.perf_counter()
            f = forecast_month_end(daily, c.as_of, c.month)
            elapsed += time.perf_counter() - started
            methods[f.method] = methods.get(f.method, 0) + 1
            scored.append(Scored(c, seed, abs(f.forecast_nanos - c.actual) / c.actual,
                                 abs(run_rate(c) - c.actual) / c.actual, f.low_nanos <= c.actual <= f.high_nanos,
                                 abs(informed_filter(c) - c.actual) / c.actual))
    return scored, elapsed, methods


def backtest(title: str, seeds: tuple[int, ...], workspaces: int) -> float:
    """Print the seed set's figures against the targets; return the seconds per forecast series."""
    scored, elapsed, methods = score(seeds, workspaces)
    print(f"{title} seeds {', '.join(map(str, seeds))}: {workspaces} workspaces each, {len(scored)} forecasts "
          f"(months {MONTHS[0]:%b}-{MONTHS[-1]:%b} {MONTHS[0]:%Y}, days {', '.join(map(str, FORECAST_DAYS))})")
    print(f"  day  model MAPE  run-rate MAPE  ratio (target <= {TARGET_RATIO} on day 14)   "
          f"80% coverage (target {TARGET_COVERAGE[0]:.0%}-{TARGET_COVERAGE[1]:.0%})")
    for day in FORECAST_DAYS:
        rows = [s for s in scored if s.case.day == day]
        model, base = _mean(rows, "error"), _mean(rows, "naive_error")
        inside = float(np.mean([s.inside for s in rows]))
        ratio_note = _mark(model / base <= TARGET_RATIO) if day == 14 else "(no target)"
        print(f"  {day:>3}  {100 * model:9.2f}%  {100 * base:12.2f}%  {model / base:5.3f} {ratio_note:<27} "
              f"{100 * inside:5.1f}% {_mark(TARGET_COVERAGE[0] <= inside <= TARGET_COVERAGE[1])}")
    day14 = [s for s in scored if s.case.day == 14]
    floor = _mean(day14, "informed_error")
    print(f"  day 14, the informed filter (told what a forecast cannot know; a practical floor): {100 * floor:.2f}%, "
          f"ratio {floor / _mean(day14, 'naive_error'):.3f}")
    per_seed = [f"{seed}: {_mean(r, 'error') / _mean(r, 'naive_error'):.3f}"
                for seed in seeds for r in [[s for s in day14 if s.seed == seed]]]
    print(f"  day-14 ratio per seed: {', '.join(per_seed)}")
    for ahead in (False, True):
        rows = [s for s in day14 if s.case.event_ahead == ahead]
        model, base = _mean(rows, "error"), _mean(rows, "naive_error")
        print(f"  day 14, {'a step or burst still to come' if ahead else 'nothing unforeseeable ahead '} "
              f"({len(rows):4} forecasts): model {100 * model:5.2f}%, run rate {100 * base:5.2f}%, "
              f"ratio {model / base:.3f}, coverage {100 * float(np.mean([s.inside for s in rows])):.1f}%")
    print("  methods used: " + ", ".join(f"{m} {n}" for m, n in sorted(methods.items())))
    return elapsed / len(scored)


def speed(per_series: float) -> None:
    fleet = per_series * 10_000 * 20
    print(f"time per forecast series: {per_series * 1000:.3f} ms (target < {TARGET_MS:.0f} ms: "
          f"{_mark(per_series * 1000 < TARGET_MS)})")
    print(f"10,000 workspaces x 20 projects on one core: {fleet / 60:.1f} min (target < 20 min: "
          f"{_mark(fleet < 20 * 60)})")


def informed_filter(case: Case) -> int:
    """The month end forecast by a local-level Kalman filter on the log of the deseasonalised spend, told the
    story's true parameters; it starts afresh at a past step and skips a past burst (the days it knows)."""
    story = case.story
    spent = DailySpend(story.first_day, story.nanos).total(case.month, case.as_of)
    last = case.month + dt.timedelta(days=calendar.monthrange(case.month.year, case.month.month)[1] - 1)
    days = [story.first_day + dt.timedelta(days=i) for i in range((last - story.first_day).days + 1)]
    rhythm = 1.0 + story.weekly_strength * (np.array(WEEKDAY_FACTORS)[[d.weekday() for d in days]] - 1.0)
    known = (case.as_of - story.first_day).days + 1
    logs = np.log(story.nanos[:known] / NANOS / rhythm[:known]) + story.noise**2 / 2
    drift, noise_var, wander_var = np.log1p(story.growth_per_month) / 30, story.noise**2, story.wander**2
    step = (story.step_day - story.first_day).days
    level, var = float("nan"), float("inf")
    for t in range(step if step < known else max(known - 91, 0), known):
        if story.first_day + dt.timedelta(days=t) == story.burst_day:
            level, var = level + drift, var + wander_var
        elif var == float("inf"):
            level, var = float(logs[t]), noise_var
        else:
            gain = (var + wander_var) / (var + wander_var + noise_var)
            level, var = level + drift + gain * (logs[t] - level - drift), (1 - gain) * (var + wander_var)
    if var == float("inf"):
        return run_rate(case)
    ahead = np.arange(1, len(days) - known + 1)
    rest = np.exp(level + ahead * drift + (var + ahead * wander_var) / 2) * rhythm[known:]
    return spent + round(float(rest.sum()) * NANOS)


def _mean(rows: list[Scored], attribute: str) -> float:
    return float(np.mean([getattr(s, attribute) for s in rows]))


def _mark(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def _mape(forecast: list[int], actual: list[int]) -> float:
    return float(np.mean([abs(f - a) / a for f, a in zip(forecast, actual, strict=True)]))


def anomalies(series_count: int) -> None:
    rng = np.random.default_rng(ANOMALY_SEED)
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


def statsmodels_comparison(all_cases: list[Case], count: int) -> None:
    try:
        ets = importlib.import_module("statsmodels.tsa.exponential_smoothing.ets")
    except ImportError:
        print("statsmodels is not installed: pip install statsmodels to compare")
        return
    sample = [all_cases[i] for i in np.random.default_rng(0).choice(len(all_cases), count, replace=False)]

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
    parser.add_argument("--workspaces", type=int, default=400, help="workspaces per seed")
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--statsmodels", type=int, default=0, metavar="N", help="forecasts to compare with ETS")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    timed: list[tuple[str, Callable[[], None]]] = [
        ("forecast backtest", lambda: speed(max(backtest("tuning", TUNING_SEEDS, args.workspaces),
                                                backtest("held-out", HELD_OUT_SEEDS, args.workspaces)))),
        ("spend anomaly rule", lambda: anomalies(args.series))]
    if args.statsmodels:
        timed.append(("library comparison", lambda: statsmodels_comparison(cases(args.workspaces, TUNING_SEEDS[0]),
                                                                           args.statsmodels)))
    for title, action in timed:
        print(f"-- {title}")
        action()


if __name__ == "__main__":
    main()
