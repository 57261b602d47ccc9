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

from datetime import UTC, date, datetime, timedelta

from core.db import Conn
from core.periods import month_start
from forecast import DailySpend, ScopeForecast, day_share, forecast_scopes
from forecast.model import WINDOW_DAYS
from store import forecasts
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


# current to the latest forecast written, by this stage or a pulse: a refresh that waited in the queue must
# not replace a pulse's later forecast (Stage.current_to)
STAGE = Stage(name="forecast", needs=("rollup",), run=run_forecast, current_to=forecasts.forecasts_current_to)
