"""When requests happen: a working-day curve in the workspace's timezone and a quieter weekend.

Times are int64 microseconds since the Unix epoch (UTC) until they are written.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

MICROS_PER_SECOND = 1_000_000
MICROS_PER_HOUR = 3600 * MICROS_PER_SECOND
MICROS_PER_DAY = 24 * MICROS_PER_HOUR

# Relative traffic per local hour: quiet nights, a morning ramp, a lunch dip, a long afternoon.
LOCAL_HOUR_WEIGHTS = np.array(
    [0.12, 0.08, 0.06, 0.06, 0.08, 0.15, 0.35, 0.75, 1.35, 1.9, 2.1, 2.0,
     1.55, 1.8, 2.0, 1.95, 1.75, 1.45, 1.05, 0.8, 0.6, 0.45, 0.3, 0.2],
)  # fmt: skip

# Monday..Sunday; averages to 1 over a week so requests_per_day stays the mean.
WEEKDAY_FACTORS = (1.2, 1.2, 1.2, 1.2, 1.2, 0.5, 0.5)

NIGHT_HOURS = range(0, 5)  # local 00:00-05:00, when the nightly jobs run


def day_start_micros(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * MICROS_PER_DAY


def local_hours(day: dt.date, timezone: str) -> NDArray[np.int64]:
    """The local hour at the start of each of the 24 UTC hours of `day` (DST-aware)."""
    zone = ZoneInfo(timezone)
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return np.array([(start + dt.timedelta(hours=h)).astimezone(zone).hour for h in range(24)])


def weekday_factor(day: dt.date) -> float:
    return WEEKDAY_FACTORS[day.weekday()]


def daytime_starts(rng: np.random.Generator, day: dt.date, timezone: str, count: int) -> NDArray[np.int64]:
    """`count` start times on UTC `day`, following the local working-day curve."""
    weights = LOCAL_HOUR_WEIGHTS[local_hours(day, timezone)]
    hours = rng.choice(24, size=count, p=weights / weights.sum())
    return _within_hours(rng, day, hours)


def night_starts(rng: np.random.Generator, day: dt.date, timezone: str, count: int) -> NDArray[np.int64]:
    """`count` start times spread evenly over the UTC hours of `day` that are local night."""
    night = np.flatnonzero(np.isin(local_hours(day, timezone), NIGHT_HOURS))
    hours = rng.choice(night, size=count)
    return _within_hours(rng, day, hours)


def _within_hours(rng: np.random.Generator, day: dt.date, hours: NDArray[np.int64]) -> NDArray[np.int64]:
    offsets = rng.integers(0, MICROS_PER_HOUR, size=len(hours))
    return day_start_micros(day) + hours.astype(np.int64) * MICROS_PER_HOUR + offsets
