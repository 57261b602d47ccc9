"""Billing statements that differ from the logged spend by a chosen ratio, as pasted by a person."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

NANOS_PER_CENT = 10_000_000
NANOS_PER_DOLLAR = 1_000_000_000

# analysis.reconciliation's bands on |logged - billed| / billed
GREEN_BELOW = Decimal("0.005")
AMBER_UP_TO = Decimal("0.02")


@dataclass(frozen=True)
class Statement:
    provider: str
    period: dt.date
    logged_nanos: int
    billed_nanos: int  # what raw_text says, to the cent
    raw_text: str  # e.g. '$1,342.04'

    @property
    def variance_ratio(self) -> Decimal:
        """|logged - billed| / billed, as the reconciliation computes it."""
        if self.billed_nanos == 0:
            return Decimal(0)
        return abs(Decimal(self.logged_nanos - self.billed_nanos)) / Decimal(self.billed_nanos)

    @property
    def band(self) -> str:
        ratio = self.variance_ratio
        return "green" if ratio < GREEN_BELOW else "amber" if ratio <= AMBER_UP_TO else "red"


def statements(logged: Mapping[tuple[str, dt.date], int], variance: Mapping[str, Decimal]) -> list[Statement]:
    """One statement per provider and month with logged spend: billed = logged x (1 + variance)."""
    out = []
    for (provider, period), logged_nanos in sorted(logged.items()):
        if provider in variance:
            billed = billed_nanos(logged_nanos, variance[provider])
            out.append(Statement(provider, period, logged_nanos, billed, dollars_text(billed)))
    return out


def billed_nanos(logged_nanos: int, variance: Decimal) -> int:
    """The billed amount to the cent, as a provider's invoice states it."""
    cents = (Decimal(logged_nanos) * (1 + variance) / NANOS_PER_CENT).quantize(Decimal(1), ROUND_HALF_UP)
    return int(cents) * NANOS_PER_CENT


def dollars_text(nanos: int) -> str:
    return f"${Decimal(nanos) / NANOS_PER_DOLLAR:,.2f}"


def report_entry(statement: Statement, month_to_date: bool, variance: Decimal) -> dict[str, Any]:
    scope = "month to date" if month_to_date else "month"
    return {
        "pattern": "billing_variance",
        "what": f"{statement.provider} statement for the {scope} {statement.period:%Y-%m}: "
                f"{statement.raw_text} billed, {dollars_text(statement.logged_nanos)} logged "
                f"({float(variance):+.1%}, {statement.band})",
        "where": {"provider": statement.provider, "period": statement.period.isoformat()},
        "rows": 1,
        "expected_nanos": statement.billed_nanos - statement.logged_nanos,
        "detail": {"logged_nanos": statement.logged_nanos, "billed_nanos": statement.billed_nanos,
                   "raw_text": statement.raw_text, "variance": str(variance),
                   "variance_ratio": str(statement.variance_ratio.quantize(Decimal("0.000001"))),
                   "band": statement.band, "month_to_date": month_to_date},
    }
