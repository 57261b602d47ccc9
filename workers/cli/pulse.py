"""`halton-workers pulse | budget`: today's rollup brought forward in this process, and the month-end forecasts
against the budgets (issue 17 items 1, 2, 6)."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from core.money import NANOS_PER_DOLLAR, money

if TYPE_CHECKING:
    from workers.jobs.forecast import BudgetLine, MonthBudgets

Workspace = Annotated[str, typer.Option("--workspace", help="slug of the workspace")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON for scripts (figures in nanos)")]

STATUS_WORDS = {"no_budget": "no budget", "on_track": "on track", "at_risk": "at risk",
                "over_forecast": "over forecast", "over_budget": "OVER BUDGET"}
SCOPE_WORDS = {"workspace": "", "cost_center": "center ", "project": ""}


def pulse(workspace: Workspace,
          as_of: Annotated[str | None, typer.Option(help="ISO moment to pulse for (default now, UTC)")] = None,
          as_json: AsJson = False) -> None:
    """Bring today's rollup and the month's forecasts up to date with the requests synced since the last
    refresh or pulse, in this process (what halton.pulse does for every workspace every 10 minutes)."""
    from store.tenancy import enter_workspace
    from workers import jobs
    from workers.jobs import pulse as pulse_jobs
    from workers.runtime.db import connect
    from workers.settings import database_url_only

    moment = jobs.parse_as_of(as_of)
    with connect(database_url_only()) as conn:
        ws = enter_workspace(conn, workspace)
        outcome = pulse_jobs.pulse_workspace(conn, ws.id, moment)
    if as_json:
        typer.echo(json.dumps(outcome.to_dict(), default=str))
        return
    stats = outcome.stats
    if outcome.status == "nothing_new":
        typer.echo(f"{ws.slug}: nothing synced since the last pulse or refresh; nothing to do "
                   f"(as of {moment:%Y-%m-%d %H:%M} UTC)")
        return
    typer.echo(f"{ws.slug}: pulse as of {moment:%Y-%m-%d %H:%M} UTC (run {outcome.run_id}): "
               f"{stats.get('pulse_requests_added', 0):,} requests added to "
               f"{len(stats.get('pulse_days_touched', []))} day(s)")
    typer.echo(f"  month to date {money(int(stats['forecast_spent_nanos']))}, forecast "
               f"{money(int(stats['forecast_nanos']))}: {STATUS_WORDS[str(stats['forecast_status'])]}")


def budget(workspace: Workspace,
           period: Annotated[str | None, typer.Option(help="the UTC month, YYYY-MM (default: the latest forecast)")]
           = None,
           as_of: Annotated[str | None, typer.Option(help="ISO moment to judge the month at (default now, UTC)")]
           = None,
           as_json: AsJson = False) -> None:
    """Print the workspace, its cost centers and projects against their budgets: for a month still running,
    the month-end forecasts (from the latest refresh or pulse); for a month that is over, what each spent in
    all (from the daily rollup). The status is worked out from the figures printed and the budgets in force."""
    import datetime as dt

    from store.tenancy import enter_workspace
    from workers import jobs
    from workers.jobs.forecast import month_budgets
    from workers.runtime.db import connect
    from workers.settings import database_url_only

    moment = jobs.parse_as_of(as_of)
    month = None
    if period is not None:
        try:
            month = dt.datetime.strptime(period, "%Y-%m").date()
        except ValueError:
            raise typer.BadParameter(f"'{period}' is not a month like 2026-03", param_hint="--period") from None
    with connect(database_url_only()) as conn:
        ws = enter_workspace(conn, workspace)
        shown = month_budgets(conn, ws.id, month, moment)
    if as_json:
        typer.echo(json.dumps([] if shown is None else [_json(shown, line) for line in shown.lines], default=str))
        return
    for line in budget_lines(shown, ws.slug):
        typer.echo(line)


def _json(shown: MonthBudgets, line: BudgetLine) -> dict[str, Any]:
    return {"scope": line.scope, "scope_id": line.scope_id, "name": line.name, "period": shown.period.isoformat(),
            "as_of": shown.as_of.isoformat(), "month_over": shown.over, "spent_nanos": line.spent_nanos,
            "forecast_nanos": line.forecast_nanos, "low_nanos": line.low_nanos, "high_nanos": line.high_nanos,
            "budget_nanos": line.budget_nanos, "status": line.status, "method": line.method, "run_id": line.run_id}


def dollars(nanos: int, cents: bool = False) -> str:
    """Whole dollars ('$12,346') for a forecast, an estimate; with `cents`, '$12,345.68'."""
    if cents:
        return money(nanos)
    whole = (Decimal(nanos) / NANOS_PER_DOLLAR).quantize(Decimal(1), ROUND_HALF_UP)
    return f"${whole:,}"


CENTS_BELOW = 1_000 * NANOS_PER_DOLLAR  # a table whose amounts are all below $1,000 shows cents (they still count)
SPENT_WORDS = {"no_budget": "no budget", "on_track": "within budget", "over_budget": "OVER BUDGET"}


def budget_lines(shown: MonthBudgets | None, slug: str) -> list[str]:
    """The month against the budgets as a table of 80 columns: the forecasts of a running month, or what a
    month that is over spent in all."""
    if shown is None or not shown.lines:
        return [f"{slug}: no forecast yet; run `halton-workers refresh --workspace {slug}` or a pulse"]
    return spent_lines(shown, slug) if shown.over else forecast_lines(shown, slug)


def _name(line: BudgetLine) -> str:
    name = f"{SCOPE_WORDS[line.scope]}{line.name}"
    return name if len(name) <= 19 else name[:18] + "…"


def forecast_lines(shown: MonthBudgets, slug: str) -> list[str]:
    """The forecasts as a table of 80 columns: scope, month to date, forecast, 80 % interval, budget, status;
    whole dollars, or cents when every amount is below $1,000."""
    rows = shown.lines
    lines = [f"{slug}: month-end forecasts for {shown.period:%B %Y}, as of {shown.as_of:%Y-%m-%d %H:%M} UTC",
             f"{'':<19} {'to date':>9} {'forecast':>9} {'80 % interval':>15} {'budget':>9}  status"]
    cents = all(max(r.high_nanos, r.budget_nanos or 0) < CENTS_BELOW for r in rows)
    for row in rows:
        interval = f"{dollars(row.low_nanos, cents)}-{dollars(row.high_nanos, cents)}"
        budget_text = "-" if row.budget_nanos is None else dollars(row.budget_nanos, cents)
        lines.append(f"{_name(row):<19} {dollars(row.spent_nanos, cents):>9} {dollars(row.forecast_nanos, cents):>9} "
                     f"{interval:>15} {budget_text:>9}  {STATUS_WORDS[row.status]}")
    return lines


def spent_lines(shown: MonthBudgets, slug: str) -> list[str]:
    """A month that is over: what each scope spent in all against its budget, to the cent (a figure to send
    on, not an estimate), and the share of the budget it used."""
    lines = [f"{slug}: {shown.period:%B %Y} is over: what it spent against the budgets",
             f"(the daily rollup, counting the requests received by {shown.as_of:%Y-%m-%d %H:%M} UTC)",
             f"{'':<19} {'spent':>16} {'budget':>16} {'used':>7}  status"]
    for row in shown.lines:
        budget_text, used = "-", "-"
        if row.budget_nanos is not None:
            budget_text = money(row.budget_nanos)
            used = f"{(Decimal(row.spent_nanos) * 100 / row.budget_nanos).quantize(Decimal(1), ROUND_HALF_UP)} %"
        lines.append(f"{_name(row):<19} {money(row.spent_nanos):>16} {budget_text:>16} {used:>7}  "
                     f"{SPENT_WORDS[row.status]}")
    return lines


def register(cli: typer.Typer) -> None:
    cli.command()(pulse)
    cli.command()(budget)
