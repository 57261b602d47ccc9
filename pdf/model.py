"""The data a report is rendered from: plain dataclasses that store/report_reads.py builds.

Money is integer nanos throughout; the renderer formats it with core.money and never adds floats, so
every figure printed equals the sum the database returns, to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from pdf.periods import Period


@dataclass(frozen=True)
class Branding:
    workspace_slug: str
    workspace_name: str
    logo_png: bytes | None = None  # meter.workspaces.logo_png as stored; validated at render time


@dataclass(frozen=True)
class DaySpend:
    """One UTC day and provider of the rollup (analysis.daily_spend summed)."""

    day: date
    provider: str
    requests: int
    errors: int
    cost_nanos: int


@dataclass(frozen=True)
class DeviceSpend:
    device_name: str
    owner: str | None
    requests: int
    cost_nanos: int


@dataclass(frozen=True)
class ModelSpend:
    provider: str
    model: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_nanos: int


@dataclass(frozen=True)
class OpenRecommendation:
    title: str
    rationale: str
    monthly_saving_nanos: int
    confidence: str


@dataclass(frozen=True)
class ProjectReportData:
    branding: Branding
    project_slug: str
    project_name: str
    hourly_rate_nanos: int | None
    period: Period
    previous_cost_nanos: int  # the same number of days just before the period
    days: list[DaySpend] = field(default_factory=list)
    devices: list[DeviceSpend] = field(default_factory=list)
    models: list[ModelSpend] = field(default_factory=list)
    rates_versions: list[str] = field(default_factory=list)
    recommendations: list[OpenRecommendation] = field(default_factory=list)
    # what the open quotes add up to, alternative swaps of one model counted once (checks.overlap);
    # None: their plain sum
    recommendations_total_nanos: int | None = None

    @property
    def quoted_total_nanos(self) -> int:
        listed = sum(r.monthly_saving_nanos for r in self.recommendations)
        return listed if self.recommendations_total_nanos is None else self.recommendations_total_nanos

    @property
    def cost_nanos(self) -> int:
        return sum(d.cost_nanos for d in self.days)

    @property
    def requests(self) -> int:
        return sum(d.requests for d in self.days)

    @property
    def errors(self) -> int:
        return sum(d.errors for d in self.days)


@dataclass(frozen=True)
class SpanSpend:
    """Spend over one span of the executive summary (this month, last month, year to date)."""

    label: str
    start: date
    end: date  # exclusive
    requests: int
    cost_nanos: int


@dataclass(frozen=True)
class ProjectShare:
    slug: str
    name: str
    cost_nanos: int


@dataclass(frozen=True)
class MonthProviderSpend:
    month: date
    provider: str
    cost_nanos: int


@dataclass(frozen=True)
class ReconciliationLine:
    provider: str
    period: date  # first day of the month
    logged_nanos: int
    billed_nanos: int | None
    variance_nanos: int | None
    variance_ratio: str | None  # numeric as text, e.g. '0.0123'; never a float
    band: str | None
    status: str


@dataclass(frozen=True)
class SavingsMonth:
    month: date
    recommendations: int
    saved_nanos: int


@dataclass(frozen=True)
class ExecutiveData:
    branding: Branding
    period: Period
    this_month: SpanSpend
    last_month: SpanSpend
    year_to_date: SpanSpend
    period_spend: SpanSpend
    previous_period: SpanSpend
    top_projects: list[ProjectShare]  # the three largest in the period
    months: list[MonthProviderSpend]  # year to date, for the one chart
    reconciliation: list[ReconciliationLine]
    savings: list[SavingsMonth]  # months of the year to date
    rates_versions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Signature:
    """How the summary is (or is not) signed; known before rendering, so the footer can say it."""

    signer: str | None  # the certificate's subject, None when unsigned
    signing_time: datetime | None
    reason: str = ""
