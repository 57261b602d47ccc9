"""Forecasts per scope (the workspace, each project, each cost center) and their status against a budget.

A cost center is forecast from the day-by-day sum of its projects' spend, not as the sum of its projects'
forecasts: the month end would be nearly the same, but intervals do not add up (the projects' errors are
not all at their 90th percentile at once, so adding the highs overstates the center's risk), a burst
capped in one project's series must stay capped in the sum, and a project that started last week would
bring a short-history fallback into a center with months of history. The workspace is forecast from its own
series (which also holds unattributed spend), never from its projects.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from core.periods import month_start
from forecast.model import WINDOW_DAYS, Forecast, forecast_month_end
from forecast.series import DailySpend, month_days, sum_daily

log = logging.getLogger(__name__)

SCOPES = ("workspace", "project", "cost_center")
STATUSES = ("no_budget", "on_track", "at_risk", "over_forecast", "over_budget")
FALLBACK_METHOD = "run_rate_fallback"  # `method` of a scope the model could not forecast
BIGINT_MAX = 2**63 - 1  # analysis.spend_forecasts holds nanos in bigints


def budget_status(forecast: Forecast, budget_nanos: int | None) -> str:
    """`over_budget`: month to date is already above the budget; `over_forecast`: the month-end forecast is;
    `at_risk`: the interval's top is; `on_track`: none is; `no_budget` when none is set. "Above" is strict:
    spending exactly the budget is on track."""
    if budget_nanos is None:
        return "no_budget"
    if forecast.spent_nanos > budget_nanos:
        return "over_budget"
    if forecast.forecast_nanos > budget_nanos:
        return "over_forecast"
    if forecast.high_nanos > budget_nanos:
        return "at_risk"
    return "on_track"


@dataclass(frozen=True)
class ScopeForecast:
    """One row of analysis.spend_forecasts, less workspace_id, as_of and run_id."""

    scope: str  # one of SCOPES
    scope_id: int | None  # None for the workspace
    period: dt.date  # the month's first day
    forecast: Forecast
    budget_nanos: int | None
    status: str  # one of STATUSES

    def row(self) -> dict[str, Any]:
        f = self.forecast
        return {"scope": self.scope, "scope_id": self.scope_id, "period": self.period,
                "spent_nanos": f.spent_nanos, "forecast_nanos": f.forecast_nanos, "low_nanos": f.low_nanos,
                "high_nanos": f.high_nanos, "budget_nanos": self.budget_nanos, "status": self.status,
                "method": f.method}


@dataclass(frozen=True)
class Budgets:
    """Monthly budgets in nanos: the workspace's (meter.workspaces.monthly_budget_nanos) and meter.budgets'."""

    workspace: int | None = None
    projects: Mapping[int, int] | None = None
    cost_centers: Mapping[int, int] | None = None


def forecast_scope(scope: str, scope_id: int | None, daily: DailySpend, budget_nanos: int | None,
                   as_of_day: dt.date, month: dt.date | None = None, *, today_share: float = 1.0,
                   seen: dict[tuple[dt.date, bytes], Forecast] | None = None) -> ScopeForecast:
    """One scope's forecast and status. A scope the model cannot forecast (an arithmetic error on a strange
    series, or an interval beyond what a bigint holds) gets the run rate instead (`run_rate_fallback`), rather
    than leaving the other scopes unforecast. `seen`: the model's forecasts of series already forecast for the
    same day, month and share of today (forecast_scopes), by first day and spend."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got '{scope}'")
    if (scope_id is None) != (scope == "workspace"):
        raise ValueError(f"the {scope} scope {'has no' if scope == 'workspace' else 'needs an'} id")
    period = month_start(as_of_day) if month is None else month
    key = (daily.first_day, daily.nanos.tobytes())
    try:
        known = None if seen is None else seen.get(key)
        forecast = forecast_month_end(daily, as_of_day, period, today_share=today_share) if known is None else known
        if forecast.high_nanos > BIGINT_MAX:
            raise ArithmeticError(f"the interval's top ({forecast.high_nanos:.3e} nanos) is beyond a bigint")
        if seen is not None:
            seen[key] = forecast
    except ArithmeticError:
        log.warning("the forecast model failed on %s %s; its run rate is used instead", scope, scope_id or "",
                    exc_info=True)
        forecast = run_rate_forecast(daily, as_of_day, period, today_share)
    return ScopeForecast(scope, scope_id, period, forecast, budget_nanos, budget_status(forecast, budget_nanos))


def run_rate_forecast(daily: DailySpend, as_of_day: dt.date, month: dt.date, today_share: float = 1.0) -> Forecast:
    """The month at the run rate of its days so far, its interval from what is spent to every day left costing
    the dearest day of the model's window; exact in nanos (a float loses them past 2**53, about $9M): the
    share of today gone, to the second, is a Fraction."""
    first, last = month_days(month)
    through = min(as_of_day, last)
    spent = daily.total(first, through)
    gone = Fraction(today_share).limit_denominator(86_400) if through == as_of_day else Fraction(1)
    elapsed = (through - first).days + gone
    left = (last - through).days + (1 - gone)
    expected = spent + round(spent * left / elapsed) if elapsed > 0 else spent
    dearest = int(daily.between(through - dt.timedelta(days=WINDOW_DAYS), through).max(initial=0))
    high = max(expected, spent + round(dearest * left))
    return Forecast(spent, expected, spent, high, FALLBACK_METHOD, len(daily.between(first, through)))


def cost_center_spend(projects: Mapping[int, DailySpend], members: Mapping[int, Sequence[int]]
                      ) -> dict[int, DailySpend]:
    """Each cost center's daily spend: the sum of its projects' series (a project without spend adds nothing)."""
    return {center: sum_daily(projects[p] for p in project_ids if p in projects)
            for center, project_ids in members.items()}


def forecast_scopes(workspace: DailySpend, projects: Mapping[int, DailySpend],
                    cost_center_projects: Mapping[int, Sequence[int]], budgets: Budgets, as_of_day: dt.date,
                    month: dt.date | None = None, *, today_share: float = 1.0) -> list[ScopeForecast]:
    """Every scope's forecast and status for one month: the workspace first, then projects and cost centers
    by id. A cost center with no project (or none that spent) is still forecast: at zero."""
    project_budgets = budgets.projects or {}
    center_budgets = budgets.cost_centers or {}
    centers = cost_center_spend(projects, cost_center_projects)
    # the model is a pure function of the series (for one day, month and share of today): scopes with the same
    # spend (the projects that spent nothing, a cost center of one project) share one forecast, which is the
    # one each would get (a failed one is not kept: each such scope falls back and warns on its own)
    seen: dict[tuple[dt.date, bytes], Forecast] = {}
    rows = [forecast_scope("workspace", None, workspace, budgets.workspace, as_of_day, month, today_share=today_share,
                           seen=seen)]
    rows += [forecast_scope("project", pid, projects[pid], project_budgets.get(pid), as_of_day, month,
                            today_share=today_share, seen=seen) for pid in sorted(projects)]
    rows += [forecast_scope("cost_center", cid, centers[cid], center_budgets.get(cid), as_of_day, month,
                            today_share=today_share, seen=seen) for cid in sorted(centers)]
    return rows
