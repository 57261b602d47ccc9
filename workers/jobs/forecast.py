"""Stage 2: the month-end forecast of every scope against its budget (issue 17 item 2), right after the rollup.

Reads the rollup's daily totals of the last 13 weeks and of the month, today so far included (store/forecasts.py),
forecasts the workspace, each project and each cost center (its projects' spend summed day by day) with
forecast.forecast_scopes, and replaces the month's rows of analysis.spend_forecasts with the run. The pulse
calls `forecast_rows` and `write` too, in its own transaction, after adding the new requests.

Today is not over at as_of: the share of a day gone (by the clock: an hourly profile would need the requests
of past days, which the pulse must not read) says how much of today's usual spend is already counted, so a
forecast at 02:00 does not read today's two hours as a whole day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.db import Conn
from core.errors import UserError
from core.periods import month_start, next_month
from forecast import DailySpend, Forecast, ScopeForecast, budget_status, day_share, forecast_scopes, month_days
from forecast.model import WINDOW_DAYS
from store import forecasts
from store.budgets import read_budgets
from store.report_coverage import rollup_coverage
from store.runs import Run
from workers.jobs.stage import Stage, StageContext


def forecast_rows(conn: Conn, workspace_id: int, as_of: datetime) -> tuple[date, list[ScopeForecast]]:
    """The month of as_of and every scope's forecast for it, from the rollup as it stands (a scope the model
    cannot forecast gets its run rate: forecast.forecast_scope)."""
    today = as_of.astimezone(UTC).date()
    period = month_start(today)
    first = min(period, today - timedelta(days=WINDOW_DAYS))
    inputs = forecasts.read_inputs(conn, workspace_id, first, today)
    # a scope's series starts at its first day with spend in what was read (a project begun last week has a
    # short history, not weeks of zeros); days after it without a row spent nothing
    workspace = DailySpend.from_days(inputs.workspace)
    projects = {pid: DailySpend.from_days(days, None if days else today) for pid, days in inputs.projects.items()}
    return period, forecast_scopes(workspace, projects, inputs.cost_centers, inputs.budgets, today,
                                   today_share=day_share(as_of))


def write(tx: Conn, workspace_id: int, as_of: datetime, run: Run) -> None:
    """Forecast and write the month's rows in the caller's results transaction; the run's stats count them."""
    period, rows = forecast_rows(tx, workspace_id, as_of)
    written = forecasts.write_forecasts(tx, workspace_id, period, as_of, rows, run.id)
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row.status] = statuses.get(row.status, 0) + 1
    headline = rows[0].forecast
    run.stats.update({"forecast_period": period.isoformat(), "forecast_rows": written, "forecast_statuses": statuses,
                      "forecast_nanos": headline.forecast_nanos, "forecast_spent_nanos": headline.spent_nanos,
                      "forecast_status": rows[0].status})


def run_forecast(ctx: StageContext, run: Run) -> None:
    with run.results() as tx:
        write(tx, ctx.workspace_id, ctx.as_of, run)


@dataclass(frozen=True)
class BudgetLine:
    """One scope's month against the budget in force, as `halton-workers budget` prints it; `status` is
    forecast.budget_status of exactly these figures and this budget, never a status stored with a forecast."""

    scope: str
    scope_id: int | None
    name: str
    spent_nanos: int  # a running month: month to date at the forecast's moment; a month over: all it spent
    forecast_nanos: int  # a month over: what it spent (its month end), and so are low and high
    low_nanos: int
    high_nanos: int
    budget_nanos: int | None
    status: str
    method: str  # 'complete' for a month over
    run_id: int | None  # the run that wrote the forecast; None for a month over (read from the rollup)


@dataclass(frozen=True)
class MonthBudgets:
    period: date  # the month's first day
    over: bool  # the month had ended at the moment asked about: its figures are what it spent in all
    as_of: datetime  # running: the forecasts' moment; over: the rollup counts the requests received by then
    lines: list[BudgetLine]


SCOPE_ORDER = {"workspace": 0, "cost_center": 1, "project": 2}  # as store.forecasts.read_forecasts orders them


def month_budgets(conn: Conn, workspace_id: int, period: date | None, as_of: datetime) -> MonthBudgets | None:
    """Every scope's month against its budget in force, as of `as_of`: for a month still running (or to come)
    the latest forecasts; for a month over, what each scope spent in all, from the rollup (a forecast made while
    it ran is not what it spent). `period` None: the latest month forecast. None when there is nothing to show
    (no forecast of a running month yet). UserError for a month the rollup does not hold whole."""
    month = period if period is not None else forecasts.latest_period(conn, workspace_id)
    if month is None:
        return None
    budgets = read_budgets(conn, workspace_id)
    if next_month(month) > as_of.astimezone(UTC).date():
        stored = forecasts.read_forecasts(conn, workspace_id, month)
        if not stored:
            return None
        lines = []
        for row in stored:
            budget = budgets.budget(row.scope, row.scope_id)
            figures = Forecast(row.spent_nanos, row.forecast_nanos, row.low_nanos, row.high_nanos, row.method, 0)
            lines.append(BudgetLine(row.scope, row.scope_id, row.name, row.spent_nanos, row.forecast_nanos,
                                    row.low_nanos, row.high_nanos, budget, budget_status(figures, budget), row.method,
                                    row.run_id))
        return MonthBudgets(month, False, stored[0].as_of, lines)
    first, last = month_days(month)
    coverage = rollup_coverage(conn, workspace_id)
    if coverage is None or coverage.first_day > first or coverage.end_day <= last:
        held = ("has not run for this workspace" if coverage is None else
                f"holds {coverage.first_day} to {coverage.end_day - timedelta(days=1)}")
        raise UserError(f"{month:%B %Y} is over, and what it spent comes from the daily rollup, which {held}; "
                        "run `halton-workers refresh` for the workspace, or ask for a month it holds")
    inputs = forecasts.read_inputs(conn, workspace_id, first, last)
    workspace = DailySpend.from_days(inputs.workspace)
    projects = {pid: DailySpend.from_days(days) for pid, days in inputs.projects.items()}
    rows = forecast_scopes(workspace, projects, inputs.cost_centers, budgets.amounts(), as_of.astimezone(UTC).date(),
                           month)  # a month over: each forecast is 'complete', what the scope spent
    names = forecasts.scope_names(conn, workspace_id)
    lines = [BudgetLine(r.scope, r.scope_id, names.get((r.scope, r.scope_id), str(r.scope_id)), r.forecast.spent_nanos,
                        r.forecast.forecast_nanos, r.forecast.low_nanos, r.forecast.high_nanos, r.budget_nanos,
                        r.status, r.forecast.method, None) for r in rows]
    lines.sort(key=lambda line: (SCOPE_ORDER[line.scope], line.name))
    return MonthBudgets(month, True, coverage.synced_through, lines)


# current to the latest forecast written, by this stage or a pulse: a refresh that waited in the queue must
# not replace a pulse's later forecast (Stage.current_to)
STAGE = Stage(name="forecast", needs=("rollup",), run=run_forecast, current_to=forecasts.forecasts_current_to)
