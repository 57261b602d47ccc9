"""The demo's budgets (issue 17 item 6): after the seed, budgets are planted (the workspace's below the month's
pace, so the month heads over it; a cost center's below what it has already spent; a project's well above its
pace) and a loop burns about $80 in 20 minutes on one device within the last hour; after the nightly refresh,
the month-end forecasts are printed next to what was planted."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table

from core.db import Conn
from core.money import NANOS_PER_DOLLAR, money
from core.periods import month_start, utc_midnight
from store import demo_plants as plants
from store.alert_deliveries import workspace_alerts
from store.workspaces import Workspace
from workers.cli.alerts import alert_lines
from workers.cli.pulse import budget_lines, dollars
from workers.jobs.forecast import month_budgets

BURST_NANOS = 80 * NANOS_PER_DOLLAR  # a loop burning about $80 …
BURST_MINUTES = 20  # … in 20 minutes …
BURST_ENDS_BEFORE = timedelta(minutes=25)  # … ending this long before the demo starts: in the last hour


@dataclass(frozen=True)
class Burst:
    device: str
    requests: int
    cost_nanos: int
    start: datetime
    end: datetime
    provider: str = ""
    billed_nanos: int | None = None  # the month's new paste, the loop included


@dataclass(frozen=True)
class PlantedBudgets:
    by_tonight_nanos: int  # the month to date by tonight at the last 14 days' pace, the burst too
    heading_nanos: int  # the month's end at that pace
    workspace_nanos: int
    center: tuple[int, str, int, int] | None  # id, name, budget, spent this month before today
    project: tuple[int, str, int] | None  # id, slug, budget
    burst: Burst | None


def _round(nanos: int, step_dollars: int, up: bool) -> int:
    step = step_dollars * NANOS_PER_DOLLAR
    return max(step, (-(-nanos // step) if up else nanos // step) * step)


def plant_budgets(conn: Conn, workspace: Workspace, now: datetime) -> PlantedBudgets:
    """Write the budgets and the burst as the dashboard and the daemons would (the owner's connection)."""
    today = now.astimezone(UTC).date()
    month, midnight = month_start(today), utc_midnight(today)
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    pace = plants.spend_between(conn, workspace.id, midnight - timedelta(days=14), midnight) * days_in_month // 14
    spent = plants.spend_between(conn, workspace.id, utc_midnight(month), midnight)
    # halfway between what the month will have spent by tonight (the burst too) and where its pace takes it:
    # not over yet, but heading over
    by_tonight = spent + BURST_NANOS + pace // days_in_month
    heading = by_tonight + pace * (days_in_month - today.day) // days_in_month
    budget = _round((by_tonight + heading) // 2, 10, up=False)
    plants.set_workspace_budget(conn, workspace.id, budget)
    center = plants.costliest_cost_center(conn, workspace.id, utc_midnight(month), midnight)
    planted_center = None
    if center is not None and center[2] > 20 * NANOS_PER_DOLLAR:  # spent enough this month to be over
        center_budget = _round(center[2] * 8 // 10, 10, up=False)
        plants.set_budget(conn, workspace.id, "cost_center", center[0], center_budget)
        planted_center = (center[0], center[1], center_budget, center[2])
    project = plants.costliest_project(conn, workspace.id, midnight - timedelta(days=14), midnight)
    planted_project = None
    if project is not None:
        # twice its pace, and room for the burst should it land there: on track
        project_budget = _round(project[2] * days_in_month // 14 * 2 + BURST_NANOS, 100, up=True)
        plants.set_budget(conn, workspace.id, "project", project[0], project_budget)
        planted_project = (project[0], project[1], project_budget)
    burst = _plant_burst(conn, workspace, now)
    return PlantedBudgets(by_tonight, heading, budget, planted_center, planted_project, burst)


def _plant_burst(conn: Conn, workspace: Workspace, now: datetime) -> Burst | None:
    """One request of the seed, priced as the daemon priced it, repeated by one device until about $80 is spent
    in 20 minutes: the same prompt, every few seconds (an agent stuck in a loop)."""
    model = plants.recent_priced_request(conn, workspace.id, NANOS_PER_DOLLAR // 20, NANOS_PER_DOLLAR // 2)
    if model is None:
        return None
    request_id, cost, device, provider = model
    count = -(-BURST_NANOS // cost)
    end = now.astimezone(UTC).replace(microsecond=0) - BURST_ENDS_BEFORE
    start = end - timedelta(minutes=BURST_MINUTES)
    plants.repeat_request(conn, request_id, start, timedelta(minutes=BURST_MINUTES) / count, count)
    # the provider bills the loop too: without it the month's reconciliation would turn red on a variance
    # nobody planted (the loop logged, not billed)
    billed = plants.bill_more(conn, workspace.id, provider, month_start(start.date()), count * cost)
    return Burst(device, count, count * cost, start, end, provider, billed)


def print_budgets(conn: Conn, workspace: Workspace, planted: PlantedBudgets, console: Console, now: datetime) -> None:
    console.rule("Budgets and the month-end forecast: what was planted, what was found")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(ratio=1)
    grid.add_row("workspace", f"budget {dollars(planted.workspace_nanos)} a month, between the "
                              f"about {dollars(planted.by_tonight_nanos)} spent by tonight (the burst too) and the "
                              f"{dollars(planted.heading_nanos)} the month's pace leads to: heading over it")
    if planted.center is not None:
        _, name, budget, spent = planted.center
        grid.add_row("cost center", f"{name}: budget {dollars(budget)}, less than the {dollars(spent)} it had "
                                    "spent this month by yesterday: over budget already")
    if planted.project is not None:
        grid.add_row("project", f"{planted.project[1]}: budget {dollars(planted.project[2])}, "
                                "twice its pace: on track")
    if planted.burst is not None:
        burst = planted.burst
        grid.add_row("burst", f"a loop on {burst.device}: {burst.requests:,} requests, {money(burst.cost_nanos)}, "
                              f"{burst.start:%H:%M}-{burst.end:%H:%M} UTC today (for the spend-anomaly alert)"
                              + (f"; {burst.provider} bills it: the month's paste raised to "
                                 f"{money(burst.billed_nanos)}" if burst.billed_nanos is not None else ""))
    console.print(grid)
    month = month_budgets(conn, workspace.id, None, now)
    rows = [] if month is None else month.lines
    shown = [r for r in rows if r.scope == "workspace" or r.budget_nanos is not None]
    console.print()
    for line in budget_lines(None if month is None else replace(month, lines=shown), workspace.slug):
        console.print(line, highlight=False, soft_wrap=True)
    others = len(rows) - len(shown)
    if others:
        console.print(f"… and {others} scopes without a budget: `halton-workers budget --workspace {workspace.slug}`",
                      highlight=False)
    # what the refresh's alerts stage raised from the plants above (each once: a rerun raises none again);
    # the demo plants no channel, so nothing is delivered (`halton-workers alerts --deliver` sends them)
    console.print()
    for line in alert_lines(workspace.slug, workspace_alerts(conn, workspace.id, 10)):
        console.print(line, highlight=False, soft_wrap=True)
    console.print()
