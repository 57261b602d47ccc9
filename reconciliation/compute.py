"""The reconciliation of one workspace, provider and UTC month: logged against billed, banded, per day,
with the findings that explain the variance. Pure: the caller reads the rows and writes the result."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd

from core.periods import next_month
from pricing import RateTable
from reconciliation.findings import explain
from reconciliation.model import Bill, BillUnusable, DayLine, Reconciliation

GREEN_BELOW = Fraction(5, 1000)  # green: |variance| / billed < 0.5 %
AMBER_UP_TO = Fraction(2, 100)  # amber: 0.5 % to 2 % inclusive; red above
RATIO_PLACES = Decimal("1e-12")

REQUEST_COLUMNS = ("id", "started_at", "model", "service_tier", "input_tokens", "cache_read_tokens",
                   "cache_write_tokens", "output_tokens", "cost_nanos", "status_code", "project_id",
                   "attribution_tier", "rates_version")


def band(variance_nanos: int, billed_nanos: int) -> str:
    """green < 0.5 %, amber 0.5 %–2 % (both ends included), red > 2 %, compared exactly (no rounding)."""
    if billed_nanos <= 0:
        return "green" if variance_nanos == 0 else "red"
    ratio = Fraction(abs(variance_nanos), billed_nanos)
    return "green" if ratio < GREEN_BELOW else "amber" if ratio <= AMBER_UP_TO else "red"


def variance_ratio(variance_nanos: int, billed_nanos: int) -> Decimal | None:
    """|variance| / billed to 12 places (the band is decided on the exact fraction, not on this)."""
    if billed_nanos <= 0:
        return None
    return (Decimal(abs(variance_nanos)) / Decimal(billed_nanos)).quantize(RATIO_PLACES, ROUND_HALF_UP)


def reconcile(provider: str, period: dt.date, requests: pd.DataFrame, bill: Bill | BillUnusable | None,
              table: RateTable, notice: str | None = None) -> Reconciliation:
    """Reconcile one month. `requests`: the month's rows of meter.requests (REQUEST_COLUMNS, started_at
    in UTC); `bill`: what was billed, a bill that cannot be used, or None while nothing is billed yet;
    `notice`: what a person should know about the bill used (a later paste that was refused)."""
    logged_by_day = _logged_by_day(requests)
    logged = int(sum(logged_by_day.values()))
    if not isinstance(bill, Bill):
        days = tuple(DayLine(day, nanos, None, None) for day, nanos in sorted(logged_by_day.items()))
        status, error = ("error", bill.reason) if isinstance(bill, BillUnusable) else ("awaiting_bill", None)
        return Reconciliation(provider, period, logged, None, bill.source if bill else None, None, None, None,
                              status, error, days, ())
    variance = logged - bill.total_nanos
    findings = explain(period, requests, bill, variance, table)
    return Reconciliation(
        provider, period, logged, bill.total_nanos, bill.source, variance,
        variance_ratio(variance, bill.total_nanos), band(variance, bill.total_nanos), "ok", None,
        _days(period, logged_by_day, bill), tuple(findings), notice,
    )


def _logged_by_day(requests: pd.DataFrame) -> dict[dt.date, int]:
    if requests.empty:
        return {}
    days = pd.to_datetime(requests["started_at"], utc=True).dt.date
    sums = requests["cost_nanos"].astype("int64").groupby(days).sum()
    return {day: int(nanos) for day, nanos in zip(sums.index, sums.to_numpy(), strict=True)}


def _days(period: dt.date, logged: dict[dt.date, int], bill: Bill) -> tuple[DayLine, ...]:
    """Per day where the source gives days; a paste has only a month, so its days carry no bill."""
    end = next_month(period)
    billed = {d.day: d.net_nanos for d in bill.days if period <= d.day < end}
    out = []
    for day in sorted(set(logged) | set(billed)):
        logged_nanos = logged.get(day, 0)
        if bill.days:
            day_billed = billed.get(day, 0)
            out.append(DayLine(day, logged_nanos, day_billed, logged_nanos - day_billed))
        else:
            out.append(DayLine(day, logged_nanos, None, None))
    return tuple(out)
