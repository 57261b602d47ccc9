"""`halton-workers alerts --workspace SLUG [--deliver]`: a workspace's alerts, and delivering the pending ones
in this process exactly as the `deliver_alerts` task does (same claims, same checks, same records)."""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import Annotated

import typer

from core.money import money
from store.alert_deliveries import ListedAlert

WIDTH = 80
KIND_WORDS = {"budget_threshold": "budget", "forecast_over_budget": "forecast over budget",
              "spend_anomaly": "anomaly"}


def alerts(
    workspace: Annotated[str, typer.Option(help="slug of the workspace")],
    deliver: Annotated[bool, typer.Option("--deliver", help="deliver the pending alerts now, in this process "
                                                             "(needs HALTON_ENCRYPTION_KEYS)")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500, help="alerts listed, newest first")] = 20,
) -> None:
    """List a workspace's alerts and how their deliveries stand; --deliver sends the pending ones first."""
    from store.alert_deliveries import workspace_alerts
    from store.tenancy import enter_workspace
    from workers.runtime.db import connect
    from workers.settings import database_url_only

    with connect(database_url_only()) as conn:
        ws = enter_workspace(conn, workspace)
        if deliver:
            from workers.jobs.alert_delivery import deliver_pending

            result = deliver_pending(conn, ws.id)
            typer.echo(f"delivered {result.delivered}, failed {result.failed}, to try again {result.retry_later}"
                       + (f", {result.revoked} to revoked channels" if result.revoked else ""))
            for error in result.errors:
                for line in textwrap.wrap(error, WIDTH, initial_indent="  ", subsequent_indent="    "):
                    typer.echo(line)
        listed = workspace_alerts(conn, ws.id, limit)
    for line in alert_lines(ws.slug, listed):
        typer.echo(line)


def alert_lines(slug: str, listed: list[ListedAlert]) -> list[str]:
    """The table, at most 80 columns, nothing cut: when, what, how much, deliveries; a failure's reason below
    its row."""
    if not listed:
        return [f"no alerts in '{slug}'"]
    lines = [f"alerts of '{slug}', newest first (UTC); deliveries sent/pending/failed",
             f"{'opened':<11}  {'alert':<38} {'amount':>12}  {'deliveries':>12}"]
    for alert in listed:
        sent = f"{alert.delivered}/{alert.pending}/{alert.failed}"
        what = _what(alert)
        if len(what) > 38:  # a long scope name: on a line of its own, in full
            lines.append(f"{_moment(alert.opened_at):<11}  {what}")
            what = ""
        lines.append(f"{'' if not what else _moment(alert.opened_at):<11}  {what:<38} "
                     f"{money(alert.amount_nanos):>12}  {sent:>12}")
        if alert.last_error and (alert.failed or alert.pending):
            lines += textwrap.wrap(alert.last_error, WIDTH, initial_indent="    ", subsequent_indent="    ")
    return lines


def _what(alert: ListedAlert) -> str:
    kind = KIND_WORDS.get(alert.kind, alert.kind)
    if alert.threshold_percent is not None:
        kind += f" {alert.threshold_percent}%"
    # by name where it has one (the project's slug, the device's name), else by id
    named = alert.scope_name or alert.scope_id
    scope = "workspace" if alert.scope_id is None else f"{alert.scope.replace('_', ' ')} {named}"
    return f"{kind}, {scope}"


def _moment(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%m-%d %H:%M}"
