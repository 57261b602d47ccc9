"""Spend series for the forecast backtest and the anomaly rule: numbers only, no rows, no database.

`daily_stories` makes workspaces' daily spend as the meter would sum it per UTC day: a base level,
a weekday/weekend rhythm, growth, a wandering level, daily noise, one step change and one one-off
burst (a loop), some workspaces paired late. Each story says what was planted, so a test or the
benchmark can compare a forecast with the truth.

`steady_hourly` makes a device's or project's spend per 10-minute bucket with no anomaly in it:
requests arrive as a Poisson process following the working-day curve of synthetic.rhythm, each with a
heavy-tailed (log-normal) cost, and busy and quiet days vary. It is what the anomaly rule must stay
silent on.

Everything is seeded: the same arguments give the same arrays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthetic.rhythm import LOCAL_HOUR_WEIGHTS, WEEKDAY_FACTORS

NANOS_PER_DOLLAR = 1_000_000_000


@dataclass(frozen=True)
class SpendStory:
    """One workspace's daily spend from `first_day` on (nanos per UTC day) and what shaped it."""

    first_day: dt.date
    nanos: NDArray[np.int64]
    base_dollars_per_day: float
    weekly_strength: float  # 0: flat week, 1: the seed's rhythm (weekdays 1.2, weekends 0.5)
    growth_per_month: float  # e.g. 0.05: +5 % a month, compounding daily
    noise: float  # standard deviation of the daily log-normal noise
    wander: float  # standard deviation of the log level's daily random walk
    step_day: dt.date
    step_factor: float  # the level is multiplied by it from step_day on
    burst_day: dt.date
    burst_nanos: int  # spent on top of the day's usual spend, that day only


def daily_stories(count: int, seed: int, start: dt.date, days: int, *, late_share: float = 0.15,
                  events_from: int = 0) -> list[SpendStory]:
    """`count` workspaces over `days` days from `start`; a `late_share` of them paired later (their series
    starts 3 to 40 days before the end of the first stretch of `events_from` days). The step and the burst
    fall on days `events_from` .. `days - 1` (uniformly), so a backtest can place them where it forecasts."""
    rng = np.random.default_rng(seed)
    return [_story(rng, start, days, late_share, events_from) for _ in range(count)]


def _story(rng: np.random.Generator, start: dt.date, days: int, late_share: float, events_from: int) -> SpendStory:
    base = float(np.exp(rng.uniform(np.log(2.0), np.log(3000.0))))  # $2 to $3,000 a day
    strength = float(rng.choice([0.0, 0.5, 1.0, 1.0, 1.0]) * rng.uniform(0.6, 1.0))
    growth = float(rng.normal(0.03, 0.06))
    noise = float(rng.uniform(0.05, 0.35))
    wander = float(rng.uniform(0.0, 0.03))  # daily random walk of the log level
    offset = int(rng.integers(max(events_from - 40, 0), max(events_from - 3, 1))) if rng.random() < late_share else 0
    first = start + dt.timedelta(days=offset)
    n = days - offset
    t = np.arange(n)
    weekdays = np.array([(first + dt.timedelta(days=int(i))).weekday() for i in range(7)])[t % 7]
    rhythm = 1.0 + strength * (np.array(WEEKDAY_FACTORS)[weekdays] - 1.0)
    level = np.log(base) + t * np.log1p(growth) / 30.0 + np.cumsum(rng.normal(0.0, wander, n))
    step_at = int(rng.integers(max(events_from - offset, 1), n))
    step = float(np.exp(rng.uniform(np.log(0.5), np.log(2.2))))
    level = level + np.where(t >= step_at, np.log(step), 0.0)
    spend = np.exp(level + rng.normal(-noise**2 / 2, noise, n)) * rhythm
    burst_at = int(rng.integers(max(events_from - offset, 0), n))
    burst = float(np.exp(level[burst_at]) * rng.uniform(2.0, 12.0))
    spend[burst_at] += burst
    nanos = np.round(spend * NANOS_PER_DOLLAR).astype(np.int64)
    return SpendStory(first_day=first, nanos=nanos, base_dollars_per_day=base, weekly_strength=strength,
                      growth_per_month=growth, noise=noise, wander=wander, step_day=first + dt.timedelta(days=step_at),
                      step_factor=step, burst_day=first + dt.timedelta(days=burst_at),
                      burst_nanos=round(burst * NANOS_PER_DOLLAR))


def steady_hourly(rng: np.random.Generator, start: dt.date, days: int, dollars_per_day: float, *,
                  dollars_per_request: float = 0.02, bucket_minutes: int = 10, cost_sigma: float = 1.0,
                  busy_day_sigma: float = 0.25, weekly_strength: float = 1.0, utc_offset_hours: int = 0
                  ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Spend (nanos) and requests per bucket over `days` days from `start` at midnight UTC: `dollars_per_day` on an
    average day, in requests of `dollars_per_request` on average with a log-normal spread `cost_sigma`
    (a few requests cost many times the median), on the working-day curve of a team `utc_offset_hours`
    east of UTC, with busy and quiet days (log-normal day factor `busy_day_sigma`)."""
    per_hour = 60 // bucket_minutes
    buckets = days * 24 * per_hour
    local_hour = (np.arange(buckets) // per_hour + utc_offset_hours) % 24
    day = np.arange(buckets) // (24 * per_hour)
    weekday = np.array([(start + dt.timedelta(days=int(d))).weekday() for d in range(days)])
    rhythm = 1.0 + weekly_strength * (np.array(WEEKDAY_FACTORS)[weekday] - 1.0)
    day_factor = rhythm * np.exp(rng.normal(-busy_day_sigma**2 / 2, busy_day_sigma, days))
    shape = LOCAL_HOUR_WEIGHTS[local_hour] / LOCAL_HOUR_WEIGHTS.sum() / per_hour
    requests_per_bucket = dollars_per_day / dollars_per_request * shape * day_factor[day]
    counts = rng.poisson(requests_per_bucket)
    mu = np.log(dollars_per_request) - cost_sigma**2 / 2  # mean cost per request = dollars_per_request
    costs = np.exp(rng.normal(mu, cost_sigma, int(counts.sum())))
    owner = np.repeat(np.arange(buckets), counts)
    spend = np.bincount(owner, weights=costs, minlength=buckets)
    return np.round(spend * NANOS_PER_DOLLAR).astype(np.int64), counts.astype(np.int64)
