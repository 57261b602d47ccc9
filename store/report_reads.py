"""The reads behind the PDF reports: a pending request, and each report's data as pdf.model dataclasses.

Sums run in Postgres over analysis.daily_spend (the rollup) and come back as integer nanos, so the figures
a report prints are the figures these tables hold. Every query is scoped to one workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from checks.overlap import attainable_total, monthly_headline
from core.db import Conn
from core.errors import UserError, present
from core.periods import month_start, next_month, previous_month, utc_midnight
from forecast import Forecast, budget_status
from pdf.model import (
    MAX_LOGO_BYTES,
    Branding,
    CatalogHeadline,
    Counting,
    DaySpend,
    DeviceSpend,
    ExecutiveData,
    ModelSpend,
    MonthBudget,
    MonthForecast,
    MonthProviderSpend,
    OpenRecommendation,
    ProjectReportData,
    ProjectShare,
    RealisedTotal,
    ReconciliationLine,
    SavingsMonth,
    SpanSpend,
)
from pdf.periods import Period
from store.budgets import read_budgets
from store.recommendations import read_combination


@dataclass(frozen=True)
class ReportRequest:
    """A meter.report_requests row, or the same fields for a report asked for on the command line."""

    id: int | None
    workspace_id: int
    kind: str  # 'project' | 'executive'
    project_id: int | None
    period_start: date
    period_end: date  # exclusive
    requested_by: str
    requested_at: datetime

    def period(self) -> Period:
        return Period(self.period_start, self.period_end)  # UserError for a reversed or too long range


def report_request(conn: Conn, request_id: int) -> ReportRequest:
    row = conn.execute(
        """select id, workspace_id, kind, project_id, period_start, period_end, requested_by, requested_at
           from meter.report_requests where id = %s""",
        (request_id,),
    ).fetchone()
    if row is None:
        raise UserError(f"no report request with id {request_id}")
    return ReportRequest(*row)


def project_id_by_slug(conn: Conn, workspace_id: int, slug: str) -> int:
    row = conn.execute("select id from meter.projects where workspace_id = %s and slug = %s",
                       (workspace_id, slug)).fetchone()
    if row is None:
        raise UserError(f"no project with slug '{slug}' in this workspace; check the slug")
    return int(row[0])


def project_slug(conn: Conn, workspace_id: int, project_id: int) -> str:
    row = conn.execute("select slug from meter.projects where workspace_id = %s and id = %s",
                       (workspace_id, project_id)).fetchone()
    if row is None:
        raise UserError(f"project {project_id} is not a project of this workspace")
    return str(row[0])


def top_project(conn: Conn, workspace_id: int, start: date, end: date) -> int | None:
    """The project that spent most in [start, end) by the rollup, if any spent anything."""
    row = conn.execute(
        """select project_id from analysis.daily_spend where workspace_id = %s and day >= %s and day < %s
           and project_id is not null group by project_id order by sum(cost_nanos) desc limit 1""",
        (workspace_id, start, end),
    ).fetchone()
    return None if row is None else int(row[0])


def branding(conn: Conn, workspace_id: int) -> Branding:
    """The workspace's name and logo; a logo over MAX_LOGO_BYTES never leaves the database, only its size."""
    row = conn.execute(
        """select slug, name, case when octet_length(logo_png) <= %(cap)s then logo_png end,
                  case when octet_length(logo_png) > %(cap)s then octet_length(logo_png) end
           from meter.workspaces where id = %(id)s""", {"cap": MAX_LOGO_BYTES, "id": workspace_id}).fetchone()
    if row is None:
        raise UserError(f"no workspace with id {workspace_id}")
    return Branding(row[0], row[1], bytes(row[2]) if row[2] is not None else None, row[3])


def _spend(conn: Conn, workspace_id: int, start: date, end: date, project_id: int | None = None) -> tuple[int, int]:
    """(requests, cost_nanos) over [start, end), for the workspace or one project."""
    row = conn.execute(
        """select coalesce(sum(requests), 0)::bigint, coalesce(sum(cost_nanos), 0)::bigint
           from analysis.daily_spend
           where workspace_id = %s and day >= %s and day < %s and (%s::bigint is null or project_id = %s)""",
        (workspace_id, start, end, project_id, project_id),
    ).fetchone()
    row = present(row, "the sums' row")
    return int(row[0]), int(row[1])


def _rates_versions(conn: Conn, workspace_id: int, period: Period, project_id: int | None = None) -> list[str]:
    rows = conn.execute(
        """select distinct rates_version from meter.requests
           where workspace_id = %s and started_at >= %s and started_at < %s
             and (%s::bigint is null or project_id = %s)
           order by 1""",
        (workspace_id, utc_midnight(period.start), utc_midnight(period.end), project_id, project_id),
    ).fetchall()
    return [str(r[0]) for r in rows]


def project_report_data(conn: Conn, workspace_id: int, project_id: int, period: Period,
                        counting: Counting | None = None) -> ProjectReportData:
    project = conn.execute(
        "select slug, name, hourly_rate_nanos from meter.projects where id = %s and workspace_id = %s",
        (project_id, workspace_id),
    ).fetchone()
    if project is None:
        raise UserError(f"project {project_id} is not a project of this workspace; a report covers one "
                        "workspace's own projects")
    scope = (workspace_id, project_id, period.start, period.end)
    days = conn.execute(
        """select day, provider, sum(requests)::bigint, sum(errors)::bigint, sum(cost_nanos)::bigint
           from analysis.daily_spend where workspace_id = %s and project_id = %s and day >= %s and day < %s
           group by day, provider order by day, provider""",
        scope,
    ).fetchall()
    devices = conn.execute(
        """select coalesce(d.name, 'device ' || s.device_id::text), d.owner, sum(s.requests)::bigint,
                  sum(s.cost_nanos)::bigint
           from analysis.daily_spend s
           left join meter.devices d on d.id = s.device_id and d.workspace_id = s.workspace_id
           where s.workspace_id = %s and s.project_id = %s and s.day >= %s and s.day < %s
           group by s.device_id, d.name, d.owner order by 4 desc, 1""",
        scope,
    ).fetchall()
    models = conn.execute(
        """select provider, model, sum(requests)::bigint, sum(input_tokens)::bigint, sum(output_tokens)::bigint,
                  sum(cost_nanos)::bigint
           from analysis.daily_spend where workspace_id = %s and project_id = %s and day >= %s and day < %s
           group by provider, model order by 6 desc, 1, 2""",
        scope,
    ).fetchall()
    recommendations = conn.execute(
        """select title, rationale, monthly_saving_nanos, confidence, recurrence, impact_nanos, fingerprint
           from analysis.recommendations
           where workspace_id = %s and project_id = %s and status = 'open'
           order by array_position(array['monthly', 'one_off', 'anomaly'], recurrence),
                    case when recurrence = 'monthly' then monthly_saving_nanos else impact_nanos end desc,
                    fingerprint""",
        (workspace_id, project_id),
    ).fetchall()
    previous_start, previous_end = period.previous()
    return ProjectReportData(
        branding=branding(conn, workspace_id), project_slug=project[0], project_name=project[1],
        hourly_rate_nanos=project[2], period=period,
        previous_cost_nanos=_spend(conn, workspace_id, previous_start, previous_end, project_id)[1],
        days=[DaySpend(*row) for row in days],
        devices=[DeviceSpend(*row) for row in devices],
        models=[ModelSpend(*row) for row in models],
        rates_versions=_rates_versions(conn, workspace_id, period, project_id),
        recommendations=[OpenRecommendation(*row[:6]) for row in recommendations],
        recommendations_total_nanos=_monthly_together(conn, workspace_id, project_id, {
            str(row[6]): int(row[2]) for row in recommendations if row[4] == "monthly"}),
        counting=counting or Counting(),
    )


def _monthly_together(conn: Conn, workspace_id: int, project_id: int, quotes: dict[str, int]) -> int:
    """What the project's open monthly recommendations save taken together, as the catalog's headline
    combines them (levers on the same requests on one counterfactual bill per model, checks.overlap); quotes
    of findings the latest catalog run did not combine (none, or rows written before it kept combinations)
    count with alternative swaps of one model once."""
    combination = read_combination(conn, workspace_id)
    scopes = [scope for scope in combination.scopes if scope.project_id == project_id]
    combined = {fp for scope in scopes for fp in scope.fingerprints}
    return (monthly_headline(scopes, {fp: q for fp, q in quotes.items() if fp in combined}, combination.days_observed)
            + attainable_total((fp, q) for fp, q in quotes.items() if fp not in combined))


def project_days_read(period: Period) -> tuple[date, date]:
    """The days a project report sums: the period and the one it is compared with."""
    return min(period.previous()[0], period.start), period.end


Daily = list[tuple[date, str, int | None, int, int]]  # day, provider, project id (None: unattributed), requests, spend


def _daily(conn: Conn, workspace_id: int, start: date, end: date) -> Daily:
    """(day, provider, project, requests, spend) of the workspace over [start, end): the one read the
    summary's spans, months and top projects are summed from, of the rollup's daily totals (a year of
    analysis.daily_spend, a row per device, model and tier, took a quarter of the whole render)."""
    rows = conn.execute(
        """select day, provider, project_id, requests, cost_nanos
           from analysis.daily_totals where workspace_id = %s and day >= %s and day < %s""",
        (workspace_id, start, end),
    ).fetchall()
    return [(row[0], str(row[1]), None if row[2] is None else int(row[2]), int(row[3]), int(row[4]))
            for row in rows]


def _top_projects(conn: Conn, workspace_id: int, daily: Daily, start: date,
                  end: date) -> tuple[list[ProjectShare], int, int]:
    """The 3 projects of most spend in [start, end) (ties by slug), how many other projects spent, and the
    spend attributed to no project."""
    spend: dict[int, int] = {}
    unattributed = 0
    for day, _provider, project_id, _requests, cost in daily:
        if not start <= day < end:
            continue
        if project_id is None:  # unattributed spend is no project's
            unattributed += cost
        else:
            spend[project_id] = spend.get(project_id, 0) + cost
    names = {int(row[0]): (str(row[1]), str(row[2])) for row in conn.execute(
        "select id, slug, name from meter.projects where workspace_id = %s and id = any(%s)",
        (workspace_id, list(spend))).fetchall()}
    ranked = sorted(((-cost, names[pid][0], names[pid][1]) for pid, cost in spend.items()
                     if cost > 0 and pid in names))
    others = sum(1 for cost in spend.values() if cost > 0) - len(ranked[:3])
    return [ProjectShare(slug, name, -negative) for negative, slug, name in ranked[:3]], others, unattributed


def _span(daily: Daily, label: str, start: date, end: date) -> SpanSpend:
    inside = [(requests, cost) for day, _p, _project, requests, cost in daily if start <= day < end]
    return SpanSpend(label, start, end, sum(r for r, _ in inside), sum(c for _, c in inside))


def _months(daily: Daily, start: date, end: date) -> list[MonthProviderSpend]:
    sums: dict[tuple[date, str], int] = {}
    for day, provider, _project, _requests, cost in daily:
        if start <= day < end:
            key = (month_start(day), provider)
            sums[key] = sums.get(key, 0) + cost
    return [MonthProviderSpend(month, provider, cost) for (month, provider), cost in sorted(sums.items())]


WHOLE_MONTH = "This month (whole)"  # a span of the summary's data only: what a month that is over spent in all


def executive_spans(period: Period, today: date, budgeted: bool) -> dict[str, tuple[date, date]]:
    """The spans the summary shows, like for like. This month is the month of the period's last day, up to
    the period's end; last month the same days of the month before (all of it when this month is whole),
    and all of last month beside it when this month is not; the year to date runs from 1 January of that
    year to the period's end; the period is compared with `Period.previous()`. When this month is over by
    `today` (UTC), the period stops before its end and the workspace has a budget (`budgeted`), the whole
    month too: it is what the budget is held to."""
    reference = period.last_day
    this_month = month_start(reference)
    spans = {"This month": (this_month, period.end),
             "Last month": Period(this_month, period.end).previous(),
             "Year to date": (date(reference.year, 1, 1), period.end),
             "Period": (period.start, period.end),
             "Previous period": period.previous()}
    if period.end != next_month(this_month):
        spans["Last month (whole)"] = (previous_month(reference), this_month)
        if budgeted and next_month(this_month) <= today:
            spans[WHOLE_MONTH] = (this_month, next_month(this_month))
    return spans


def executive_days_read(period: Period, today: date, budgeted: bool) -> tuple[date, date]:
    spans = executive_spans(period, today, budgeted).values()
    return min(start for start, _ in spans), max(end for _, end in spans)


def executive_data(conn: Conn, workspace_id: int, period: Period, today: date,
                   counting: Counting | None = None) -> ExecutiveData:
    """The summary of `period` as of `today` (the UTC day of the report's moment: it decides whether the
    period's last month is over)."""
    budget = read_budgets(conn, workspace_id).workspace_nanos
    wanted = executive_spans(period, today, budget is not None)
    year_start = wanted["Year to date"][0]
    daily = _daily(conn, workspace_id, *executive_days_read(period, today, budget is not None))
    spans = {label: _span(daily, label, start, end) for label, (start, end) in wanted.items()}
    reconciliation = conn.execute(
        """select provider, period, logged_nanos, billed_nanos, variance_nanos, variance_ratio::text, band, status,
                  computed_at, notice
           from analysis.reconciliation where workspace_id = %s and period >= %s and period < %s
           order by period, provider""",
        (workspace_id, month_start(period.start), period.end),
    ).fetchall()
    savings = conn.execute(
        """select month, count(*)::bigint, sum(saved_nanos)::bigint from analysis.realised_savings
           where workspace_id = %s and month >= %s and month < %s group by month order by month""",
        (workspace_id, year_start, period.end),
    ).fetchall()
    top, others, unattributed = _top_projects(conn, workspace_id, daily, period.start, period.end)
    this_month = spans["This month"]
    over = next_month(this_month.start) <= today
    return ExecutiveData(
        branding=branding(conn, workspace_id), period=period,
        this_month=this_month, last_month=spans["Last month"], year_to_date=spans["Year to date"],
        period_spend=spans["Period"], previous_period=spans["Previous period"],
        last_month_whole=spans.get("Last month (whole)"),
        top_projects=top, other_projects=others, unattributed_nanos=unattributed,
        months=_months(daily, year_start, period.end),
        reconciliation=[ReconciliationLine(*row) for row in reconciliation],
        savings=[SavingsMonth(*row) for row in savings],
        rates_versions=_rates_versions(conn, workspace_id, period),
        catalog=_catalog_headline(conn, workspace_id), realised=_realised_total(conn, workspace_id),
        counting=counting or Counting(),
        month_budget=month_budget(this_month.start, budget,
                                  spans.get(WHOLE_MONTH, this_month).cost_nanos if over else this_month.cost_nanos,
                                  None if over else _month_forecast(conn, workspace_id, this_month.start), over=over),
    )


def month_budget(month: date, budget_nanos: int | None, spent_nanos: int, forecast: MonthForecast | None, *,
                 over: bool) -> MonthBudget | None:
    """The month against its budget, its status by forecast.budget_status from the very figures the summary
    prints: a month that is over from its whole spend (what it spent is its month end, to the nanodollar), one
    still running from its forecast, or, before any forecast, from month to date alone. None when there is
    nothing to hold to a budget: no budget and no forecast of a running month."""
    if over or forecast is None:
        if budget_nanos is None:
            return None
        status = budget_status(Forecast(spent_nanos, spent_nanos, spent_nanos, spent_nanos, "complete", 0),
                               budget_nanos)
        return MonthBudget(month, over, budget_nanos, status, spent_nanos)
    figures = Forecast(forecast.spent_nanos, forecast.forecast_nanos, forecast.low_nanos, forecast.high_nanos,
                       "stored", 0)
    return MonthBudget(month, over, budget_nanos, budget_status(figures, budget_nanos), spent_nanos, forecast)


def _month_forecast(conn: Conn, workspace_id: int, month: date) -> MonthForecast | None:
    """The workspace's latest month-end forecast of `month` (issue 17), from the latest refresh or pulse; its
    figures only (the stored status was judged against the budget of its moment)."""
    row = conn.execute(
        """select as_of, spent_nanos, forecast_nanos, low_nanos, high_nanos from analysis.spend_forecasts
           where workspace_id = %s and scope = 'workspace' and period = %s""",
        (workspace_id, month),
    ).fetchone()
    if row is None:
        return None
    return MonthForecast(row[0], int(row[1]), int(row[2]), int(row[3]), int(row[4]))


def _catalog_headline(conn: Conn, workspace_id: int) -> CatalogHeadline | None:
    row = conn.execute(
        """select computed_at, open_recommendations, monthly_saving_nanos, one_off_nanos, anomaly_nanos
           from analysis.catalog_summary where workspace_id = %s""",
        (workspace_id,),
    ).fetchone()
    return None if row is None else CatalogHeadline(*row)


def _realised_total(conn: Conn, workspace_id: int) -> RealisedTotal | None:
    row = conn.execute(
        """select saved_nanos, recommendations, first_month from analysis.realised_savings_total
           where workspace_id = %s""",
        (workspace_id,),
    ).fetchone()
    return None if row is None else RealisedTotal(int(row[0]), int(row[1]), row[2])
