"""The forecast stage (issue 17 item 2): one row per scope and month in analysis.spend_forecasts, replaced by each
run, cost centers summing their projects, budgets from the workspace and meter.budgets, and every status reachable;
and `halton-workers budget` / `pulse` printing them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from core.money import money
from tests.factories import Conn, Scene, add_request, make_workspace
from workers.jobs import refresh_workspace

AS_OF = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
DOLLAR = 1_000_000_000


def steady(conn: Conn, scene: Scene, days: int = 60) -> None:
    """$10 a day on each of the scene's projects (two requests of $5), up to AS_OF."""
    start = datetime.combine(AS_OF.date() - days * DAY, datetime.min.time(), UTC)
    for d in range(days + 1):
        for project in range(len(scene.project_ids)):
            for hour in (3, 11):
                moment = start + d * DAY + timedelta(hours=hour)
                if moment < AS_OF:
                    add_request(conn, scene, moment, cost_nanos=5 * DOLLAR, project=project)


def with_cost_center(conn: Conn, scene: Scene, projects: list[int]) -> int:
    row = conn.execute("insert into meter.cost_centers (workspace_id, name) values (%s, 'growth') returning id",
                       (scene.workspace_id,)).fetchone()
    assert row is not None
    conn.execute("update meter.projects set cost_center_id = %s where id = any(%s)",
                 (row[0], [scene.project_ids[i] for i in projects]))
    return int(row[0])


def forecasts(conn: Conn) -> dict[tuple[str, int | None], tuple[int, int, int, int, int | None, str]]:
    rows = conn.execute("""select scope, scope_id, spent_nanos, forecast_nanos, low_nanos, high_nanos, budget_nanos,
                                  status from analysis.spend_forecasts order by 1, 2""").fetchall()
    return {(r[0], r[1]): (int(r[2]), int(r[3]), int(r[4]), int(r[5]), r[6], r[7]) for r in rows}


def test_the_stage_writes_one_row_per_scope_and_cost_centers_sum_their_projects(db_conn: Conn) -> None:
    scene = make_workspace(db_conn, projects=3)
    steady(db_conn, scene)
    center = with_cost_center(db_conn, scene, [0, 1])
    outcome = refresh_workspace(db_conn, scene.workspace_id, AS_OF, stage=None)
    assert outcome.stage("forecast").status == "succeeded"
    rows = forecasts(db_conn)
    assert set(rows) == {("workspace", None), ("cost_center", center),
                         *(("project", p) for p in scene.project_ids)}
    month_to_date = (15 * 10 + 10) * DOLLAR  # 15 whole days and today's two requests so far (03:00, 11:00)
    assert rows[("workspace", None)][0] == 3 * month_to_date
    assert rows[("cost_center", center)][0] == 2 * month_to_date
    for spent, forecast, low, high, budget, status in rows.values():
        assert low <= forecast <= high and spent <= low and (budget, status) == (None, "no_budget")
    # steady spend: the month end is near $10 a day for 30 days on each project
    assert abs(rows[("project", scene.project_ids[0])][1] - 300 * DOLLAR) < 30 * DOLLAR
    # a rerun replaces, never adds
    refresh_workspace(db_conn, scene.workspace_id, AS_OF, stage="forecast")
    assert forecasts(db_conn) == rows


def test_every_status_is_reachable_from_the_budgets(db_conn: Conn) -> None:
    scene = make_workspace(db_conn, projects=4)
    steady(db_conn, scene)
    center = with_cost_center(db_conn, scene, [3])
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    first = forecasts(db_conn)
    p = scene.project_ids
    # budgets placed against what the stage forecast: a nano below each figure is "above the budget"
    spent, forecast, _, high, _, _ = first[("project", p[0])]
    budgets = {p[0]: high + DOLLAR, p[1]: high - 1, p[2]: forecast - 1}
    db_conn.execute("update meter.workspaces set monthly_budget_nanos = %s where id = %s",
                    (first[("workspace", None)][0] - 1, scene.workspace_id))
    for project_id, nanos in budgets.items():
        db_conn.execute("insert into meter.budgets (workspace_id, scope, scope_id, monthly_nanos) "
                        "values (%s, 'project', %s, %s)", (scene.workspace_id, project_id, nanos))
    refresh_workspace(db_conn, scene.workspace_id, AS_OF, stage="forecast")
    statuses = {key: row[5] for key, row in forecasts(db_conn).items()}
    assert statuses == {("workspace", None): "over_budget", ("project", p[0]): "on_track",
                        ("project", p[1]): "at_risk", ("project", p[2]): "over_forecast",
                        ("project", p[3]): "no_budget", ("cost_center", center): "no_budget"}
    assert forecasts(db_conn)[("project", p[1])][4] == high - 1
    assert spent < high


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workers.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_budget_command_prints_the_forecasts_in_80_columns_and_as_json(db_conn: Conn,
                                                                            fleet_env: dict[str, str]) -> None:
    scene = make_workspace(db_conn, projects=2)
    steady(db_conn, scene)
    db_conn.execute("update meter.workspaces set monthly_budget_nanos = %s where id = %s",
                    (400 * DOLLAR, scene.workspace_id))
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)

    at = ("--as-of", AS_OF.isoformat())  # November runs on (the clock's now is after it: see the test below)
    table = run_cli(fleet_env, "budget", "--workspace", "acme", *at)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "acme: month-end forecasts for November 2026, as of 2026-11-16 12:00 UTC"
    assert max(len(line) for line in lines) <= 80
    assert lines[2].split()[0] == "acme" and lines[2].endswith("over forecast")  # $600 forecast, $400 budget
    assert [line.split()[0] for line in lines[3:]] == ["acme-p0", "acme-p1"]

    as_json = json.loads(run_cli(fleet_env, "budget", "--workspace", "acme", "--json", *at).stdout)
    assert [(r["scope"], r["name"], r["status"]) for r in as_json] == [
        ("workspace", "acme", "over_forecast"), ("project", "acme-p0", "no_budget"),
        ("project", "acme-p1", "no_budget")]
    assert as_json[0]["spent_nanos"] == 2 * (15 * 10 + 10) * DOLLAR and as_json[0]["budget_nanos"] == 400 * DOLLAR


def test_the_budget_command_holds_a_month_that_is_over_to_what_it_spent_not_to_its_last_forecast(
        db_conn: Conn, fleet_env: dict[str, str]) -> None:
    scene = make_workspace(db_conn, projects=2)
    steady(db_conn, scene)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)  # 16 November: the forecast, before any budget
    for d in range(16, 30):  # the rest of November: $50 a day on project 0, above its pace
        add_request(db_conn, scene, datetime(2026, 11, 1, 12, tzinfo=UTC) + d * DAY, cost_nanos=50 * DOLLAR)
    december = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    refresh_workspace(db_conn, scene.workspace_id, december, stage="rollup")
    db_conn.execute("update meter.workspaces set monthly_budget_nanos = %s where id = %s",
                    (1_000 * DOLLAR, scene.workspace_id))
    db_conn.execute("insert into meter.budgets (workspace_id, scope, scope_id, monthly_nanos) "
                    "values (%s, 'project', %s, %s)", (scene.workspace_id, scene.project_ids[1], 500 * DOLLAR))
    whole = {p: 16 * 10 * DOLLAR for p in (0, 1)}  # $10 a day each on 1 to 16 November
    whole[0] += 14 * 50 * DOLLAR  # and project 0's 17 to 30 November

    as_json = json.loads(run_cli(fleet_env, "budget", "--workspace", "acme", "--period", "2026-11", "--json",
                                 "--as-of", december.isoformat()).stdout)
    assert [(r["name"], r["spent_nanos"], r["forecast_nanos"], r["budget_nanos"], r["status"], r["month_over"])
            for r in as_json] == [
        ("acme", whole[0] + whole[1], whole[0] + whole[1], 1_000 * DOLLAR, "over_budget", True),
        ("acme-p0", whole[0], whole[0], None, "no_budget", True),
        ("acme-p1", whole[1], whole[1], 500 * DOLLAR, "on_track", True)]
    table = run_cli(fleet_env, "budget", "--workspace", "acme", "--period", "2026-11", "--as-of", december.isoformat())
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "acme: November 2026 is over: what it spent against the budgets"
    assert max(len(line) for line in lines) <= 80
    assert lines[3].split() == ["acme", money(whole[0] + whole[1]), "$1,000.00", "102", "%", "OVER", "BUDGET"]
    assert lines[4].split() == ["acme-p0", money(whole[0]), "-", "-", "no", "budget"]
    assert lines[5].split() == ["acme-p1", money(whole[1]), "$500.00", "32", "%", "within", "budget"]
    # a month before the history the rollup keeps is refused, not printed as $0
    refused = run_cli(fleet_env, "budget", "--workspace", "acme", "--period", "2020-01", "--as-of",
                      december.isoformat())
    assert refused.returncode != 0 and "daily rollup" in refused.stderr


def test_the_pulse_command_runs_in_this_process_and_says_when_there_is_nothing_new(
        db_conn: Conn, fleet_env: dict[str, str]) -> None:
    scene = make_workspace(db_conn, projects=1)
    steady(db_conn, scene, days=10)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    add_request(db_conn, scene, AS_OF + timedelta(minutes=3), cost_nanos=20 * DOLLAR)
    later = (AS_OF + timedelta(minutes=10)).isoformat()

    done = run_cli(fleet_env, "pulse", "--workspace", "acme", "--as-of", later, "--json")
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["status"], outcome["stats"]["pulse_requests_added"]) == ("succeeded", 1)
    assert outcome["stats"]["forecast_spent_nanos"] == (10 * 10 + 10 + 20) * DOLLAR  # from 6 November on

    again = run_cli(fleet_env, "pulse", "--workspace", "acme", "--as-of", later)
    assert again.returncode == 0
    assert again.stdout.startswith("acme: nothing synced since the last pulse or refresh")


def test_a_budget_whose_thresholds_hold_a_null_still_gets_its_forecast(db_conn: Conn) -> None:
    """The dashboard writes thresholds_percent; an element may be null (the alert rules skip it), and the
    forecast, which does not use thresholds, must not fail on it."""
    scene = make_workspace(db_conn, projects=1)
    steady(db_conn, scene, days=20)
    db_conn.execute("insert into meter.budgets (workspace_id, scope, scope_id, monthly_nanos, thresholds_percent) "
                    "values (%s, 'project', %s, %s, '{50,null}')",
                    (scene.workspace_id, scene.project_ids[0], 1_000 * DOLLAR))
    outcome = refresh_workspace(db_conn, scene.workspace_id, AS_OF, stage=None)
    assert outcome.stage("forecast").status == "succeeded"
    assert forecasts(db_conn)[("project", scene.project_ids[0])][4] == 1_000 * DOLLAR
