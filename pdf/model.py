"""The data a report is rendered from: plain dataclasses that store/report_reads.py builds.

Money is integer nanos throughout; the renderer formats it with core.money and never adds floats, so
every figure printed equals the sum the database returns, to the cent, and the rows of a table are
rounded so that they add up to the total printed under them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from pdf.periods import Period


@dataclass(frozen=True)
class Counting:
    """Which requests the figures count: what the footer, the comparisons and the header say about them."""

    # the latest arrival (meter.requests.synced_at) among the requests of the days the report reads: every
    # request of those days received by then is counted. None: none had been received.
    through: datetime | None = None
    # the workspace's first UTC day with requests (None: it has none): a span before it has no data to
    # compare with, which is not the same as no spend (date.min: not known, every span is compared)
    first_day: date | None = date.min
    # the end (exclusive) of the period as asked, when the asked period runs into today, which is not over:
    # the rollup counts whole UTC days, so the report's period stops at the end of yesterday and says so
    asked_end: date | None = None

    def data_before(self, day: date) -> bool:
        """Whether the workspace had data on every day from `day` on (a comparison from there is fair)."""
        return self.first_day is not None and self.first_day <= day


# A logo larger than this is not read from the database at all (the cap is in the query: store/report_reads.py)
# and the report says it was left out; 1 MiB is far more than a logo at the 600×240 pixels it is shown at.
MAX_LOGO_BYTES = 1 << 20


@dataclass(frozen=True)
class Branding:
    workspace_slug: str
    workspace_name: str
    logo_png: bytes | None = None  # meter.workspaces.logo_png as stored; validated at render time
    logo_too_large: int | None = None  # the stored logo's size when over MAX_LOGO_BYTES (logo_png is then None)


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
    monthly_saving_nanos: int  # 0 unless recurrence is 'monthly'
    confidence: str
    recurrence: str = "monthly"  # 'monthly' | 'one_off' (waste already spent) | 'anomaly' (spend above the baseline)
    impact_nanos: int = 0  # the money the finding is about, whatever its kind

    @property
    def amount_nanos(self) -> int:
        """The figure shown: the monthly saving, or the one-off or anomalous money."""
        return self.monthly_saving_nanos if self.recurrence == "monthly" else self.impact_nanos


@dataclass(frozen=True)
class ProjectReportData:
    branding: Branding
    project_slug: str
    project_name: str
    hourly_rate_nanos: int | None
    period: Period
    previous_cost_nanos: int  # over period.previous(): like for like
    days: list[DaySpend] = field(default_factory=list)
    devices: list[DeviceSpend] = field(default_factory=list)
    models: list[ModelSpend] = field(default_factory=list)
    rates_versions: list[str] = field(default_factory=list)
    recommendations: list[OpenRecommendation] = field(default_factory=list)
    # what the open monthly quotes save taken together, as the catalog combines them (checks.overlap);
    # None: their plain sum
    recommendations_total_nanos: int | None = None
    counting: Counting = field(default_factory=Counting)

    @property
    def quoted_total_nanos(self) -> int:
        listed = sum(r.monthly_saving_nanos for r in self.recommendations if r.recurrence == "monthly")
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
    computed_at: datetime | None = None  # when the month was last reconciled: `logged_nanos` is as of then
    notice: str | None = None  # e.g. a later paste that could not be read, and which bill counts instead


@dataclass(frozen=True)
class SavingsMonth:
    month: date
    recommendations: int
    saved_nanos: int


@dataclass(frozen=True)
class CatalogHeadline:
    """analysis.catalog_summary: the catalog's latest run for the workspace."""

    computed_at: datetime
    open_recommendations: int
    monthly_saving_nanos: int  # every open monthly recommendation taken together (never a plain sum)
    one_off_nanos: int  # waste already spent (a runaway loop): not a monthly saving
    anomaly_nanos: int  # spend above the baseline (a spike): not a monthly saving


@dataclass(frozen=True)
class RealisedTotal:
    """analysis.realised_savings_total: what accepted recommendations have saved since the first."""

    saved_nanos: int
    recommendations: int
    first_month: date


@dataclass(frozen=True)
class ExecutiveData:
    branding: Branding
    period: Period
    this_month: SpanSpend  # the month of the period's last day, up to the period's end
    last_month: SpanSpend  # like for like: the same days of the month before (all of it for a whole month)
    year_to_date: SpanSpend
    period_spend: SpanSpend
    previous_period: SpanSpend  # period.previous()
    top_projects: list[ProjectShare]  # the three largest in the period
    months: list[MonthProviderSpend]  # year to date, for the one chart
    reconciliation: list[ReconciliationLine]
    savings: list[SavingsMonth]  # months of the year to date
    rates_versions: list[str] = field(default_factory=list)
    # the whole month before, when this month is only part of a month (shown beside the like-for-like days)
    last_month_whole: SpanSpend | None = None
    other_projects: int = 0  # projects with spend in the period beyond the top three
    unattributed_nanos: int = 0  # spend in the period the daemon could attribute to no project
    catalog: CatalogHeadline | None = None  # None: the catalog has not run for the workspace
    realised: RealisedTotal | None = None  # None: no accepted recommendation has measured savings
    counting: Counting = field(default_factory=Counting)
    # this_month's month against the workspace's budget; None when there is neither a budget nor a forecast
    month_budget: MonthBudget | None = None

    @property
    def other_projects_nanos(self) -> int:
        """The period's spend of the projects beyond the top three: the rest, so the rows add up."""
        shown = sum(p.cost_nanos for p in self.top_projects)
        return self.period_spend.cost_nanos - shown - self.unattributed_nanos


@dataclass(frozen=True)
class MonthForecast:
    """The workspace's month-end forecast (analysis.spend_forecasts, issue 17) for the summary's month while it
    runs, as of the latest refresh or pulse: its month to date counts today so far, the summary's stops at the
    end of the period's last whole day."""

    as_of: datetime
    spent_nanos: int
    forecast_nanos: int
    low_nanos: int  # the 80 % interval
    high_nanos: int


@dataclass(frozen=True)
class MonthBudget:
    """The summary's month against the budget in force (store/report_reads.py): for a month that is over, its
    whole spend from the rollup; for one still running, the latest forecast (or, before any, month to date).
    `status` is forecast.budget_status of exactly these figures and this budget, never a stored status."""

    month: date  # the month's first day
    over: bool  # the month has ended: `spent_nanos` is the whole month's spend
    budget_nanos: int | None  # None: no monthly budget is set
    status: str  # 'no_budget', 'on_track', 'at_risk', 'over_forecast', 'over_budget'
    spent_nanos: int  # over: the whole month; running: the summary's month to date (this_month)
    forecast: MonthForecast | None = None  # running: the latest forecast, when one was made this month


@dataclass(frozen=True)
class Signature:
    """How the summary is (or is not) signed; known before rendering, so the footer can say it."""

    signer: str | None  # the certificate's subject, None when unsigned
    signing_time: datetime | None
    reason: str = ""
