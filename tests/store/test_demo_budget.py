"""The demo's budgets (issue 17 item 6): what it plants (a month heading over the workspace's budget, a cost
center over its budget, a project on track, a loop burning about $80 in 20 minutes within the last hour) and
the forecasts it prints next to them, in 80 columns."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rich.console import Console

from core.money import NANOS_PER_DOLLAR
from store.forecasts import read_forecasts
from store.workspaces import workspace_by_slug
from synthetic import SeedOptions, seed_workspace
from tests.factories import Conn
from workers.demo.budget import plant_budgets, print_budgets
from workers.jobs import refresh_workspace

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)


def test_the_planted_budgets_and_burst_give_the_statuses_the_demo_prints_in_80_columns(db_conn: Conn) -> None:
    seed_workspace(db_conn, SeedOptions(slug="acme", days=30, requests_per_day=300, end_date=NOW.date()))
    workspace = workspace_by_slug(db_conn, "acme")
    planted = plant_budgets(db_conn, workspace, NOW)
    refresh_workspace(db_conn, workspace.id, NOW + timedelta(minutes=1), stage="rollup")
    refresh_workspace(db_conn, workspace.id, NOW + timedelta(minutes=1), stage="forecast")
    refresh_workspace(db_conn, workspace.id, NOW + timedelta(minutes=1), stage="alerts")

    burst = planted.burst
    assert burst is not None and 80 * NANOS_PER_DOLLAR <= burst.cost_nanos < 81 * NANOS_PER_DOLLAR
    assert burst.end - burst.start == timedelta(minutes=20) and NOW - timedelta(hours=1) <= burst.start
    in_burst = db_conn.execute(
        """select count(distinct device_id), count(*), sum(cost_nanos) from meter.requests
           where workspace_id = %s and started_at >= %s and started_at <= %s""",
        (workspace.id, burst.start, burst.end)).fetchone()
    assert in_burst is not None and in_burst[0] == 1 and in_burst[1] == burst.requests  # one device, alone then
    # the provider bills the loop: the month's latest paste is the one before it plus the loop, to the cent
    pastes = db_conn.execute(
        """select raw_text from meter.billing_statements where workspace_id = %s and provider = %s
             and period = %s order by entered_at desc limit 2""",
        (workspace.id, burst.provider, burst.start.date().replace(day=1))).fetchall()
    assert len(pastes) == 2 and burst.billed_nanos is not None
    before = Decimal(pastes[1][0].replace("$", "").replace(",", "")) * NANOS_PER_DOLLAR
    assert burst.billed_nanos == round((before + burst.cost_nanos) / NANOS_PER_DOLLAR, 2) * NANOS_PER_DOLLAR
    assert pastes[0][0] == f"${Decimal(burst.billed_nanos) / NANOS_PER_DOLLAR:.2f}"

    statuses = {(r.scope, r.scope_id): r.status for r in read_forecasts(db_conn, workspace.id)}
    assert statuses[("workspace", None)] == "over_forecast"  # heading over its budget, not over it yet
    assert planted.center is not None and statuses[("cost_center", planted.center[0])] == "over_budget"
    assert planted.project is not None and statuses[("project", planted.project[0])] == "on_track"

    out = io.StringIO()
    print_budgets(db_conn, workspace, planted, Console(file=out, width=80, color_system=None),
                  NOW + timedelta(minutes=1))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "acme: month-end forecasts for November 2026, as of 2026-11-16 12:01 UTC" in text
    assert planted.center[1] in text and "OVER BUDGET" in text and "on track" in text
    assert f"a loop on {burst.device}" in text
    # the alerts the plants raise, next to them: the cost center over budget, the workspace's forecast over
    # its budget, and the loop as an anomaly of its device (one alert, naming its project)
    raised = {(kind, scope) for kind, scope in db_conn.execute(
        "select kind, scope from analysis.alerts where workspace_id = %s", (workspace.id,)).fetchall()}
    assert {("budget_threshold", "cost_center"), ("forecast_over_budget", "workspace"),
            ("spend_anomaly", "device")} <= raised
    assert db_conn.execute("select count(*) from analysis.alerts where kind = 'spend_anomaly'").fetchone() == (1,)
    assert "alerts of 'acme', newest first" in text and "forecast over budget, workspace" in text
    # by the names people know them by: the loop's device, the cost center
    assert f"anomaly, device {burst.device}" in text
    assert f"forecast over budget, cost center {planted.center[1]}" in text
