"""`halton-workers pulse | budget`: today's rollup brought forward in this process, and the month-end forecasts
against the budgets (issue 17 items 1, 2, 6)."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from core.money import NANOS_PER_DOLLAR, money

if TYPE_CHECKING:
    from store.forecasts import StoredForecast

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
           period: Annotated[str | None, typer.Option(help="the UTC month, YYYY-MM (default: the latest)")] = None,
           as_json: AsJson = False) -> None:
    """Print the month-end forecasts of the workspace, its cost centers and projects against their budgets
    (from the latest refresh or pulse)."""
    import datetime as dt

    from store.forecasts import read_forecasts
    from store.tenancy import enter_workspace
    from workers.runtime.db import connect
    from workers.settings import database_url_only

    month = None
    if period is not None:
        try:
            month = dt.datetime.strptime(period, "%Y-%m").date()
        except ValueError:
            raise typer.BadParameter(f"'{period}' is not a month like 2026-03", param_hint="--period") from None
    with connect(database_url_only()) as conn:
        ws = enter_workspace(conn, workspace)
        rows = read_forecasts(conn, ws.id, month)
    if as_json:
        typer.echo(json.dumps([_json(row) for row in rows], default=str))
        return
    for line in forecast_lines(rows, ws.slug):
        typer.echo(line)


def _json(row: StoredForecast) -> dict[str, Any]:
    return {"scope": row.scope, "scope_id": row.scope_id, "name": row.name, "period": row.period.isoformat(),
            "as_of": row.as_of.isoformat(), "spent_nanos": row.spent_nanos, "forecast_nanos": row.forecast_nanos,
            "low_nanos": row.low_nanos, "high_nanos": row.high_nanos, "budget_nanos": row.budget_nanos,
            "status": row.status, "method": row.method, "run_id": row.run_id}


def dollars(nanos: int, cents: bool = False) -> str:
    """Whole dollars ('$12,346') for a forecast, an estimate; with `cents`, '$12,345.68'."""
    if cents:
        return money(nanos)
    whole = (Decimal(nanos) / NANOS_PER_DOLLAR).quantize(Decimal(1), ROUND_HALF_UP)
    return f"${whole:,}"


CENTS_BELOW = 1_000 * NANOS_PER_DOLLAR  # a table whose amounts are all below $1,000 shows cents (they still count)


def forecast_lines(rows: list[StoredForecast], slug: str) -> list[str]:
    """The forecasts as a table of 80 columns: scope, month to date, forecast, 80 % interval, budget, status;
    whole dollars, or cents when every amount is below $1,000."""
    if not rows:
        return [f"{slug}: no forecast yet; run `halton-workers refresh --workspace {slug}` or a pulse"]
    first = rows[0]
    lines = [f"{slug}: month-end forecasts for {first.period:%B %Y}, as of {first.as_of:%Y-%m-%d %H:%M} UTC",
             f"{'':<19} {'to date':>9} {'forecast':>9} {'80 % interval':>15} {'budget':>9}  status"]
    cents = all(max(r.high_nanos, r.budget_nanos or 0) < CENTS_BELOW for r in rows)
    for row in rows:
        name = f"{SCOPE_WORDS[row.scope]}{row.name}"
        name = name if len(name) <= 19 else name[:18] + "…"
        interval = f"{dollars(row.low_nanos, cents)}-{dollars(row.high_nanos, cents)}"
        budget_text = "-" if row.budget_nanos is None else dollars(row.budget_nanos, cents)
        lines.append(f"{name:<19} {dollars(row.spent_nanos, cents):>9} {dollars(row.forecast_nanos, cents):>9} "
                     f"{interval:>15} {budget_text:>9}  {STATUS_WORDS[row.status]}")
    return lines


def register(cli: typer.Typer) -> None:
    cli.command()(pulse)
    cli.command()(budget)
