"""A planted Gemini Cloud Billing export for a seeded workspace, with the causes reconciliation must find.

What the export says was billed, per UTC day and model, is what Google would bill for the logged
traffic, except for three planted differences, each reported with the amount it moves logged − billed:
- promo_credit: a promotion credit on the month's busiest day (PROMO_SHARE of the month's charges);
- unlogged_spend: charges on a day of the month the seed logged no traffic (UNLOGGED_SHARE), spend
  from a machine the daemon does not watch;
- unattributed: the rows no attribution rule matched went through a key billed to another account,
  so they are logged here but absent from this bill.
Written after the seed, from the seeded rows, priced by synthetic.billing_prices at the rates in force each
day: a reference of its own, not pricing/, so that a mistake in the re-pricing the findings rest on
(reconciliation.findings.reprice) shows as findings that differ from what was planted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from core.db import Conn
from core.money import NANOS_PER_CENT, NANOS_PER_DOLLAR, money
from core.periods import utc_midnight
from store.reconciliation import month_requests, provider_months
from synthetic.billing_prices import ReferencePrices

PROVIDER = "gemini"
PROMO_SHARE = Decimal("0.05")
UNLOGGED_SHARE = Decimal("0.01")
HEADER = ["billing_account_id", "service.id", "service.description", "sku.id", "sku.description",
          "usage_start_time", "usage_end_time", "project.id", "cost", "currency", "usage.amount", "usage.unit",
          "credits", "invoice.month", "cost_type"]


@dataclass
class PlantedExport:
    provider: str
    text: str
    planted: list[dict[str, Any]] = field(default_factory=list)

    def expected(self, period: dt.date) -> dict[str, int]:
        """cause → delta_nanos planted for the month."""
        return {entry["pattern"]: int(entry["expected_nanos"]) for entry in self.planted
                if entry["where"]["period"] == period.isoformat()}


def gemini_billing_export(conn: Conn, workspace_id: int, prices: ReferencePrices | None = None) -> PlantedExport:
    table = prices or ReferencePrices.load()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    export = PlantedExport(PROVIDER, "")
    for period in provider_months(conn, workspace_id, PROVIDER):
        rows = month_requests(conn, workspace_id, PROVIDER, period)
        if not rows.empty:
            _month(writer, export, period, rows, table)
    export.text = out.getvalue()
    return export


def _month(writer: Any, export: PlantedExport, period: dt.date, rows: pd.DataFrame, table: ReferencePrices) -> None:
    started = pd.to_datetime(rows["started_at"], utc=True)
    # what the provider bills: the rates in force, whatever the daemon stamped; a row the table cannot
    # price is not on the bill (reconciliation lists it as an unpriced model)
    cost = np.array([table.cost_nanos(row) or 0 for row in rows.to_dict("records")], dtype=np.int64)
    elsewhere = rows["project_id"].isna().to_numpy()
    days = started.dt.date.to_numpy()
    billed: dict[tuple[dt.date, str], int] = defaultdict(int)
    for day, model, nanos in zip(days[~elsewhere], rows["model"].astype(str).to_numpy()[~elsewhere],
                                 cost[~elsewhere], strict=True):
        billed[(day, model)] += int(nanos)
    for (day, model), nanos in sorted(billed.items()):
        _line(writer, day, f"{model} usage", nanos)
    charges = sum(billed.values())
    busiest = max({d for d, _ in billed}, key=lambda d: sum(n for (x, _), n in billed.items() if x == d))
    credit = int(Decimal(charges) * PROMO_SHARE) // NANOS_PER_CENT * NANOS_PER_CENT  # whole cents, as credits are
    promotion = {"name": "Gemini API launch promotion", "amount": -Decimal(credit) / NANOS_PER_DOLLAR,
                 "type": "PROMOTION"}
    _line(writer, busiest, "Gemini API promotion", 0, [promotion])
    export.planted.append(_entry("promo_credit", f"a {money(credit)} promotion credit, {busiest}",
                                 period, busiest, credit))
    free = _free_day(period, set(days))
    if free is not None:
        unlogged = int(Decimal(charges) * UNLOGGED_SHARE) // NANOS_PER_CENT * NANOS_PER_CENT
        _line(writer, free, "gemini-2.5-pro usage (a machine the daemon does not watch)", unlogged)
        export.planted.append(_entry("unlogged_spend", f"{money(unlogged)} billed on {free}, nothing "
                                     "logged that day", period, free, -unlogged))
    away = int(cost[elsewhere].sum())
    export.planted.append(_entry("unattributed", f"{int(elsewhere.sum())} unattributed requests billed to "
                                 "another account", period, None, away))


def _line(writer: Any, day: dt.date, sku: str, nanos: int, credits: list[dict[str, Any]] | None = None) -> None:
    start = utc_midnight(day)
    writer.writerow(["01A2B3-C4D5E6-F7A8B9", "AEFD-7695-64FA", "Gemini API", "", sku,
                     start.isoformat().replace("+00:00", "Z"),
                     (start + dt.timedelta(days=1)).isoformat().replace("+00:00", "Z"), "acme-prod",
                     f"{Decimal(nanos) / NANOS_PER_DOLLAR:.9f}", "USD", "1", "request",
                     json.dumps(credits or [], default=str), f"{day:%Y%m}", "regular"])


def _free_day(period: dt.date, logged: set[dt.date]) -> dt.date | None:
    day = period
    while day.month == period.month:
        if day not in logged:
            return day
        day += dt.timedelta(days=1)
    return None


def _entry(cause: str, what: str, period: dt.date, day: dt.date | None, expected: int) -> dict[str, Any]:
    return {"pattern": cause, "what": f"gemini {period:%Y-%m}: {what}",
            "where": {"provider": PROVIDER, "period": period.isoformat(), "day": day.isoformat() if day else None},
            "rows": 1, "expected_nanos": expected, "detail": {}}
