"""A scope's spend per UTC day, as the rollup sums it: the input of every forecast.

Days before `first_day` are unknown (the workspace or project did not exist yet); days from it on that
have no entry spent nothing. Money stays integer nanos here; only the model turns it into floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.periods import month_start, next_month

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, eq=False)
class DailySpend:
    """Spend per UTC day from `first_day` on: nanos[i] is the spend of first_day + i days."""

    first_day: dt.date
    nanos: NDArray[np.int64]

    def __post_init__(self) -> None:
        if self.nanos.ndim != 1 or self.nanos.dtype != np.int64:
            raise ValueError(f"daily spend must be a 1-d int64 array of nanos, got {self.nanos.dtype} "
                             f"with shape {self.nanos.shape}")
        if len(self.nanos) and int(self.nanos.min()) < 0:
            raise ValueError(f"daily spend from {self.first_day} has a negative day; spend is never negative")

    @classmethod
    def from_days(cls, days: Mapping[dt.date, int], first_day: dt.date | None = None) -> DailySpend:
        """From {day: nanos} (the rows of a rollup); days missing in between spent nothing. `first_day`
        (the day the scope started, e.g. the pairing day) defaults to the earliest day given."""
        if not days:
            return cls(first_day or dt.date(1970, 1, 1), np.zeros(0, dtype=np.int64))
        start = min(days) if first_day is None else first_day
        if min(days) < start:
            raise ValueError(f"spend on {min(days)} is before the scope's first day {start}")
        nanos = np.zeros((max(days) - start).days + 1, dtype=np.int64)
        for day, amount in days.items():
            nanos[(day - start).days] += int(amount)
        return cls(start, nanos)

    @property
    def last_day(self) -> dt.date:
        """The last day with a figure (the day before first_day when there is none)."""
        return self.first_day + dt.timedelta(days=len(self.nanos) - 1)

    def between(self, first: dt.date, last: dt.date) -> NDArray[np.int64]:
        """The spend of each day of first..last (inclusive) from the series' first day on: days before
        first_day are left out (unknown), days after its last figure spent nothing (a rollup has no row
        for a day without requests)."""
        start = max(first, self.first_day)
        if last < start:
            return np.zeros(0, dtype=np.int64)
        lo, hi = (start - self.first_day).days, (last - self.first_day).days + 1
        held = self.nanos[lo:hi]
        if len(held) == hi - lo:
            return held
        return np.concatenate([held, np.zeros(hi - lo - len(held), dtype=np.int64)])

    def total(self, first: dt.date, last: dt.date) -> int:
        """Exact sum of first..last in nanos (a Python int: no float)."""
        return int(self.between(first, last).sum(dtype=np.int64))


def sum_daily(parts: Iterable[DailySpend]) -> DailySpend:
    """The day-by-day sum of several series (a cost center's projects), from the earliest first day:
    a part that started later counts nothing before its start, which is what it spent then."""
    series = list(parts)
    if not series:
        return DailySpend(dt.date(1970, 1, 1), np.zeros(0, dtype=np.int64))
    start = min(s.first_day for s in series)
    end = max(s.last_day for s in series)
    total = np.zeros(max((end - start).days + 1, 0), dtype=np.int64)
    for s in series:
        offset = (s.first_day - start).days
        total[offset:offset + len(s.nanos)] += s.nanos
    return DailySpend(start, total)


def month_days(month: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last UTC day of the month that `month` names (its first day)."""
    if month != month_start(month):
        raise ValueError(f"a month is named by its first day; got {month}")
    return month, next_month(month) - ONE_DAY


def day_share(moment: dt.datetime, hourly_nanos: NDArray[np.int64] | None = None) -> float:
    """The share of a UTC day's usual spend that falls before `moment` (`today_share` for a pulse's forecast):
    from the scope's spend per UTC hour of day (24 figures, e.g. summed over the last 14 days) when given, else
    the share of the day's hours gone. At least 1 % (a forecast needs some of today behind it), at most 1."""
    if moment.tzinfo is None:
        raise ValueError("the moment must be a UTC datetime, not a naive one")
    utc = moment.astimezone(dt.UTC)
    hours = utc.hour + (utc.minute * 60 + utc.second + utc.microsecond / 1e6) / 3600
    if hourly_nanos is None or int(hourly_nanos.sum()) <= 0:
        share = hours / 24
    else:
        if hourly_nanos.shape != (24,):
            raise ValueError("hourly spend must have one figure per UTC hour of day (24)")
        weights = hourly_nanos.astype(np.float64) / float(hourly_nanos.sum())
        whole = int(hours)
        share = float(weights[:whole].sum()) + (weights[whole] * (hours - whole) if whole < 24 else 0.0)
    return min(max(share, 0.01), 1.0)
