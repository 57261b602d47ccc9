"""Report periods: parsing what a person types, refusing what makes no sense, and bucketing days.

Days are UTC days, as analysis.daily_spend stores them; `end` is exclusive everywhere, as in
meter.report_requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from core.errors import UserError
from core.periods import month_start, next_month, parse_month, previous_month

MAX_YEARS = 2
_MONTH = re.compile(r"\d{4}-\d{2}")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")


class PeriodSyntaxError(UserError):
    """The text is not a period at all (the command line makes it a usage error, exit 2); a well-formed
    period refused for its content stays a plain UserError."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    def __post_init__(self) -> None:
        if self.end <= self.start:
            last = self.end - timedelta(days=1)
            raise UserError(f"the period ends ({last}) before it starts ({self.start}); give an end after the start")
        if self.end > add_years(self.start, MAX_YEARS):
            raise UserError(f"the period {self.start} to {self.last_day} is longer than {MAX_YEARS} years; "
                            "pick a shorter range")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def previous(self) -> tuple[date, date]:
        """What a change is measured against, like for like (not a Period: it may be refused as one only by
        length): whole months against as many whole months just before (November against October), a
        month to date against the same days of the month before (1–6 December against 1–6 November,
        clipped to that month's length), any other range against the same number of days just before."""
        if self.start.day == 1 and self.end.day == 1:
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
            return add_months(self.start, -months), self.start
        if self.start.day == 1 and month_start(self.last_day) == self.start:
            before = previous_month(self.start)
            return before, min(before + timedelta(days=self.days), self.start)
        return self.start - timedelta(days=self.days), self.start

    def label(self) -> str:
        if self.start.day == 1 and self.end == next_month(self.start):
            return self.start.strftime("%B %Y")
        if self.days == 1:
            return f"{self.start:%d %b %Y}"
        return f"{self.start:%d %b %Y} – {self.last_day:%d %b %Y}"


def add_months(first: date, months: int) -> date:
    """The first day of the month `months` after (or before) the month starting on `first`."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def parse_period(text: str, today: date) -> Period:
    """'last-month', 'this-month' (to today, inclusive), 'YYYY-MM', or 'YYYY-MM-DD..YYYY-MM-DD' (both days
    included, as a person reads a range)."""
    value = text.strip()
    if value == "last-month":
        return Period(previous_month(today), month_start(today))
    if value == "this-month":
        return Period(month_start(today), today + timedelta(days=1))
    if _MONTH.fullmatch(value):
        try:
            first = parse_month(value)
        except ValueError:
            raise PeriodSyntaxError(f"--period '{text}' is not a month like 2026-10") from None
        return Period(first, next_month(first))
    if match := _RANGE.fullmatch(value):
        try:
            start, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
        except ValueError:
            raise PeriodSyntaxError(f"--period '{text}' has a day that does not exist") from None
        return Period(start, last + timedelta(days=1))
    raise PeriodSyntaxError(f"--period '{text}' is not one of last-month, this-month, YYYY-MM or "
                            "YYYY-MM-DD..YYYY-MM-DD")


def refuse_future(period: Period, today: date) -> None:
    """A period starting after today has no traffic yet: refused rather than rendered as 'No traffic'."""
    if period.start > today:
        raise UserError(f"the period {period.start} to {period.last_day} starts after today ({today}, UTC); "
                        "there is nothing to report yet")


def refuse_before_history(period: Period, kind: str, first_kept: date, setting: str) -> None:
    """The rollup keeps days from `first_kept` on (`setting` says why): a report reading an earlier day (its
    period, the previous period it compares with, and for the executive summary last month) is refused
    rather than printed with zeros."""
    if period.start < first_kept:
        raise UserError(f"the period {period.start} to {period.last_day} starts before {first_kept}, the first "
                        f"day the rollup keeps ({setting}); pick a later period or keep more history")
    compared = period.previous()[0]
    if kind == "executive":
        compared = min(compared, previous_month(period.last_day))
    if compared < first_kept:
        raise UserError(f"a report of {period.start} to {period.last_day} compares with days from {compared}, "
                        f"before {first_kept}, the first day the rollup keeps ({setting}); pick a later or "
                        "shorter period, or keep more history")


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def granularity_for(period: Period) -> Granularity:
    """Few enough bars to read on a page: daily up to two months, weekly up to a year, else monthly."""
    if period.days <= 62:
        return Granularity.DAY
    if period.days <= 366:
        return Granularity.WEEK
    return Granularity.MONTH


def bucket_start(day: date, granularity: Granularity, period: Period) -> date:
    """The first day of the bucket holding `day`, clipped to the period's start."""
    if granularity is Granularity.DAY:
        return day
    first = day - timedelta(days=day.weekday()) if granularity is Granularity.WEEK else month_start(day)
    return max(first, period.start)


def buckets(period: Period, granularity: Granularity) -> list[date]:
    """Every bucket of the period, empty ones included, so a chart's axis has no gaps."""
    starts: list[date] = []
    day = period.start
    while day < period.end:
        start = bucket_start(day, granularity, period)
        if not starts or starts[-1] != start:
            starts.append(start)
        day += timedelta(days=1)
    return starts
