"""Spend anomalies: a project's or a device's spend in the last hour, far outside what its history predicts
(issue 17 item 4). Pure: spend per bucket in, anomalies out.

The rule. Let S be the spend of the last hour (the last 60 minutes of buckets, so a pulse every 10 minutes
sees a sliding hour), B the busiest hour of the history before it (its 99th percentile hourly spend over
the last 14 days, sliding hours too, so one earlier loop does not raise the bar for the next) and E what
this hour usually costs (the median of the same clock hour on the previous days). S is an anomaly when

    S > 2.5 × B      far above anything the history shows, at any time of day, and
    S − E ≥ $20      worth a person's attention (`min_excess_nanos`, a setting), and
    n ≥ 5            when request counts are given, the hour holds at least 5 requests: one expensive
                     prompt on a device that sends a few a day is not a runaway (`min_requests`).

With less than a day of history there is nothing to predict from and the rule says nothing. A $5 blip on
a $0.10/hour device passes the first test and fails the second; a loop burning $80 in 20 minutes on a
device or project whose busiest hour is under $32 passes both. A project's loop smaller than its busiest
hour is not an anomaly of the project, but it is one of the device it runs on, which is checked too.
When both are, the loop is still one alert, its device's (forecast.alerts.spend_anomaly_alerts).

False positives on steady traffic (bench/bench_forecast.py, seed 2026): 200 devices and projects from
$0.50 to $2,000 a day, a month each of 10-minute spend after two weeks of history, requests arriving on the
working-day curve of synthetic.rhythm with log-normal costs (σ = 1: a few requests cost ten times the
median) averaging $0.005 to $2, busy and quiet days (σ = 0.25), a weekly rhythm; the rule applied at every
10-minute pulse (4,320 per month). With request counts: 5 alerts in 200 series-months (0.025 per
series-month, 6e-6 per pulse), all five on series whose requests average $2 (a few dozen a day, where an
hour with a handful of $20 prompts is 2.5× the usual busiest one); none on cheaper requests. Without
counts: 13. On another seed (17, 300 series): 4 with counts. The same bench plants a loop of $80 in 20
minutes in each series: caught within the hour in every one whose busiest hour is under $32 (156 of 156).
The test suite checks that a seeded month of steady traffic stays silent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.money import NANOS_PER_DOLLAR, money


@dataclass(frozen=True)
class AnomalyRule:
    """The rule's settings; the defaults are the ones the false-positive rate was measured with."""

    min_excess_nanos: int = 20 * NANOS_PER_DOLLAR  # below this much over the usual hour, never an alert
    busiest_factor: float = 2.5  # S must exceed this multiple of the history's busiest hour
    busiest_quantile: float = 0.99  # "busiest hour": this quantile of the history's sliding hours
    history_days: int = 14  # how far back the history reaches
    min_history_hours: int = 24  # less history than this: no verdict
    min_requests: int = 5  # with request counts: fewer requests in the hour is one big prompt, not a loop


@dataclass(frozen=True, eq=False)
class SpendBuckets:
    """A project's or device's spend per bucket of `bucket_minutes` (a divisor of 60), oldest first; the
    last bucket ends at `end` (UTC, exclusive). It should reach back history_days + 1 hour; more is ignored."""

    scope: str  # 'project' or 'device'
    scope_id: int
    end: dt.datetime
    bucket_minutes: int
    nanos: NDArray[np.int64]
    requests: NDArray[np.int64] | None = None  # requests per bucket, when known (recommended)

    def __post_init__(self) -> None:
        if self.bucket_minutes <= 0 or 60 % self.bucket_minutes:
            raise ValueError(f"bucket_minutes must divide an hour, got {self.bucket_minutes}")
        if self.requests is not None and self.requests.shape != self.nanos.shape:
            raise ValueError("requests and nanos must have one figure per bucket each")
        if self.end.tzinfo is None:
            raise ValueError("the end of the buckets must be a UTC datetime, not a naive one")


@dataclass(frozen=True)
class Anomaly:
    scope: str
    scope_id: int
    window_start: dt.datetime
    window_end: dt.datetime
    amount_nanos: int  # spent in the window
    expected_nanos: int  # what this hour usually costs (E)
    ceiling_nanos: int  # the bar it went over (busiest_factor × the busiest hour)
    why: str  # the rule's reading, for a person

    @property
    def hour(self) -> dt.datetime:
        """The UTC clock hour the window ends in: one alert per scope and hour (the fingerprint's key)."""
        last = (self.window_end - dt.timedelta(microseconds=1)).astimezone(dt.UTC)
        return last.replace(minute=0, second=0, microsecond=0)


def detect_anomaly(spend: SpendBuckets, rule: AnomalyRule | None = None) -> Anomaly | None:
    """The anomaly of the last hour of `spend`, or None when it is within what its history predicts."""
    rule = rule or AnomalyRule()
    per_hour = 60 // spend.bucket_minutes
    per_day = 24 * per_hour
    amount = int(spend.nanos[-per_hour:].sum(dtype=np.int64))
    if amount < rule.min_excess_nanos:  # the usual hour costs at least 0: S - E < the minimum already
        return None
    if spend.requests is not None and int(spend.requests[-per_hour:].sum()) < rule.min_requests:
        return None
    history = spend.nanos[max(len(spend.nanos) - per_hour - rule.history_days * per_day, 0):-per_hour]
    if len(spend.nanos) < per_hour or len(history) < rule.min_history_hours * per_hour:
        return None
    hours = _sliding_hours(history, per_hour)
    busiest = float(np.quantile(hours, rule.busiest_quantile))
    ceiling = rule.busiest_factor * busiest
    if amount <= ceiling:
        return None
    day_before = len(history) - per_day  # the window starting exactly a day before the last hour does
    same_hour = hours[day_before::-per_day] if day_before >= 0 else hours[:0]
    expected = int(np.median(same_hour)) if len(same_hour) else 0
    if amount - expected < rule.min_excess_nanos:
        return None
    start = spend.end - dt.timedelta(hours=1)
    days = len(history) // per_day
    why = (f"{money(amount)} in the hour to {spend.end.astimezone(dt.UTC):%H:%M} UTC: "
           f"{_times(amount, busiest)} the busiest hour of the last {days or 1} "
           f"day{'s' if days > 1 else ''} ({money(round(busiest))}), {money(amount - expected)} above "
           f"what this hour usually costs ({money(expected)})")
    return Anomaly(spend.scope, spend.scope_id, start, spend.end, amount, expected, round(ceiling), why)


def detect_anomalies(series: Iterable[SpendBuckets], rule: AnomalyRule | None = None) -> list[Anomaly]:
    return [a for s in series if (a := detect_anomaly(s, rule)) is not None]


def _sliding_hours(buckets: NDArray[np.int64], per_hour: int) -> NDArray[np.int64]:
    """Spend of every window of `per_hour` consecutive buckets (exact integer sums)."""
    sums = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(buckets, dtype=np.int64)])
    hours: NDArray[np.int64] = sums[per_hour:] - sums[:-per_hour]
    return hours


def _times(amount: int, busiest: float) -> str:
    return "more than 100×" if busiest * 100 < amount else f"{amount / busiest:.1f}×"
