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

import logging
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from core.db import Conn
from core.periods import month_start
from forecast import (
    DailySpend,
    Forecast,
    ScopeForecast,
    budget_status,
    cost_center_spend,
    day_share,
    forecast_scope,
    month_days,
)
from forecast.model import WINDOW_DAYS
from store import forecasts
from store.runs import Run
from workers.jobs.stage import Stage, StageContext

log = logging.getLogger(__name__)
FALLBACK_METHOD = "run_rate_fallback"
BIGINT_MAX = 2**63 - 1


def forecast_rows(conn: Conn, workspace_id: int, as_of: datetime) -> tuple[date, list[ScopeForecast]]:
    """The month of as_of and every scope's forecast for it, from the rollup as it stands."""
    today = as_of.astimezone(UTC).date()
    period = month_start(today)
    first = min(period, today - timedelta(days=WINDOW_DAYS))
    inputs = forecasts.read_inputs(conn, workspace_id, first, today)
    # a scope's series starts at its first day with spend in what was read (a project begun last week has a
    # short history, not weeks of zeros); days after it without a row spent nothing
    workspace = DailySpend.from_days(inputs.workspace)
    projects = {pid: DailySpend.from_days(days, None if days else today) for pid, days in inputs.projects.items()}
    centers = cost_center_spend(projects, inputs.cost_centers)
    share, budgets = day_share(as_of), inputs.budgets
    # as forecast.forecast_scopes orders them: the workspace, then projects and cost centers by id
    return period, [
        forecast_one_scope("workspace", None, workspace, budgets.workspace, today, share),
        *(forecast_one_scope("project", pid, projects[pid], (budgets.projects or {}).get(pid), today, share)
          for pid in sorted(projects)),
        *(forecast_one_scope("cost_center", cid, centers[cid], (budgets.cost_centers or {}).get(cid), today, share)
          for cid in sorted(centers)),
    ]


def forecast_one_scope(scope: str, scope_id: int | None, daily: DailySpend, budget: int | None, today: date,
           share: float) -> ScopeForecast:
    """One scope's forecast. A scope the model cannot forecast (an arithmetic error on a strange series, or
    an interval beyond what a bigint holds) gets the run rate instead, its interval from what is spent to every
    day left costing the dearest day seen, and says so in `method`, rather than leaving the other scopes
    unforecast."""
    try:
        row = forecast_scope(scope, scope_id, daily, budget, today, today_share=share)
        if row.forecast.high_nanos > BIGINT_MAX:
            raise ArithmeticError(f"the interval's top ({row.forecast.high_nanos:.3e} nanos) is beyond a bigint")
        return row
    except ArithmeticError:
        log.warning("the forecast model failed on %s %s; its run rate is used instead", scope, scope_id or "",
                    exc_info=True)
    first, last = month_days(month_start(today))
    spent = daily.total(first, today)
    # exact in nanos (a float loses them past 2**53, about $9M): the day's share to the second, as a Fraction
    gone = Fraction(share).limit_denominator(86_400)
    elapsed = (today - first).days + gone
    left = (last - today).days + (1 - gone)
    expected = spent + round(spent * left / elapsed)
    dearest = int(daily.between(today - timedelta(days=WINDOW_DAYS), today).max(initial=0))
    high = max(expected, spent + round(dearest * left))
    forecast = Forecast(spent, expected, spent, high, FALLBACK_METHOD, len(daily.between(first, today)))
    return ScopeForecast(scope, scope_id, first, forecast, budget, budget_status(forecast, budget))


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


# current to the latest forecast written, by this stage or a pulse: a refresh that waited in the queue must
# not replace a pulse's later forecast (Stage.current_to)
STAGE = Stage(name="forecast", needs=("rollup",), run=run_forecast, current_to=forecasts.forecasts_current_to)
