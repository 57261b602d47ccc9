"""The data reconciliation works on: what a provider billed (per day when the source says) and what
the computation gives back (one row per workspace, provider and month, its days and its findings)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

PROVIDERS = ("anthropic", "openai", "gemini", "xai")

# where the billed figures came from (analysis.billing_days.origin); billed_source is 'api' for all of them
ORIGINS = ("openai_costs_api", "anthropic_cost_report", "gemini_billing_export", "xai_usage_export")

CAUSES = ("stale_rate", "unpriced_model", "unattributed", "promo_credit", "unlogged_spend", "unexplained")


@dataclass(frozen=True)
class LineItem:
    """One priced line of a day's bill (a model's input tokens, a web search, a credit)."""

    description: str
    amount_nanos: int  # negative for a credit


@dataclass(frozen=True)
class DayBill:
    """One UTC day of a provider's billing data: the charges, the credits (≤ 0) and the lines behind them."""

    day: dt.date
    charges_nanos: int
    credits_nanos: int = 0
    lines: tuple[LineItem, ...] = ()

    @property
    def net_nanos(self) -> int:
        return self.charges_nanos + self.credits_nanos


@dataclass(frozen=True)
class Bill:
    """What the provider billed for one month, from a paste (no days) or from daily billing data."""

    source: str  # 'manual' or 'api' (analysis.reconciliation.billed_source)
    origin: str  # 'paste' or one of ORIGINS
    total_nanos: int
    days: tuple[DayBill, ...] = ()
    reference: str = ""  # the statement id or the pull it came from, for the audit log

    def __post_init__(self) -> None:
        if self.origin != "paste" and self.origin not in ORIGINS:  # analysis.billing_days.origin's values
            raise ValueError(f"unknown billing origin {self.origin!r}")


@dataclass(frozen=True)
class BillUnusable:
    """A bill that exists but cannot be used (a malformed paste) and nothing readable to fall back on:
    the month is reconciled as 'error'."""

    source: str
    reason: str
    reference: str = ""


@dataclass(frozen=True)
class Finding:
    cause: str
    delta_nanos: int  # this finding's part of logged − billed
    request_id: int | None = None
    day: dt.date | None = None
    attribution_tier: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.cause not in CAUSES:  # the dashboard groups findings by these names
            raise ValueError(f"unknown finding cause {self.cause!r}; one of {', '.join(CAUSES)}")


@dataclass(frozen=True)
class DayLine:
    day: dt.date
    logged_nanos: int
    billed_nanos: int | None
    variance_nanos: int | None


@dataclass(frozen=True)
class Reconciliation:
    provider: str
    period: dt.date
    logged_nanos: int
    billed_nanos: int | None
    billed_source: str | None
    variance_nanos: int | None
    variance_ratio: Decimal | None
    band: str | None
    status: str  # 'ok', 'awaiting_bill', 'error'
    error: str | None
    days: tuple[DayLine, ...]
    findings: tuple[Finding, ...]
    notice: str | None = None  # a later paste was refused and this bill used instead (sources.refusal_notice)

    def summary(self) -> dict[str, Any]:
        """What the audit log and the run's stats say about it."""
        by_cause: dict[str, int] = {}
        for finding in self.findings:
            by_cause[finding.cause] = by_cause.get(finding.cause, 0) + finding.delta_nanos
        return {"provider": self.provider, "period": self.period.isoformat(), "status": self.status,
                "logged_nanos": self.logged_nanos, "billed_nanos": self.billed_nanos,
                "variance_nanos": self.variance_nanos, "band": self.band, "error": self.error,
                "findings": len(self.findings), "delta_by_cause": by_cause, "notice": self.notice}
