"""The budgets are read in one place (store/budgets.py): the forecast, the alert rules and the executive summary
see the same figures, thresholds a person left null or non-positive dropped."""

from __future__ import annotations

from datetime import date

from pdf.periods import Period
from store import forecasts, report_reads
from store.budgets import read_budgets
from tests.factories import Conn, make_workspace
from tests.store.alert_scene import DOLLAR, add_budget, set_workspace_budget


def test_one_read_gives_every_budget_and_its_thresholds_to_every_reader(db_conn: Conn) -> None:
    scene = make_workspace(db_conn, projects=2)
    ws, (p0, p1) = scene.workspace_id, scene.project_ids
    center = db_conn.execute("insert into meter.cost_centers (workspace_id, name) values (%s, 'growth') returning id",
                             (ws,)).fetchone()
    assert center is not None
    set_workspace_budget(db_conn, ws, 900 * DOLLAR)
    add_budget(db_conn, ws, "project", p0, 100 * DOLLAR, thresholds=[80, None, 0, 50, 80])  # type: ignore[list-item]
    add_budget(db_conn, ws, "cost_center", int(center[0]), 300 * DOLLAR)

    budgets = read_budgets(db_conn, ws)
    assert budgets.workspace_nanos == 900 * DOLLAR
    assert budgets.budget("project", p0) == 100 * DOLLAR and budgets.thresholds("project", p0) == (50, 80)
    assert budgets.budget("project", p1) is None and budgets.thresholds("project", p1) == (50, 80, 100)
    assert budgets.budget("cost_center", int(center[0])) == 300 * DOLLAR
    assert budgets.thresholds("cost_center", int(center[0])) == (50, 80, 100)  # the column's default

    inputs = forecasts.read_inputs(db_conn, ws, date(2026, 11, 1), date(2026, 11, 30))
    assert inputs.budgets == budgets.amounts()
    assert inputs.budgets.projects == {p0: 100 * DOLLAR}
    assert inputs.budgets.cost_centers == {int(center[0]): 300 * DOLLAR}
    summary = report_reads.executive_data(db_conn, ws, Period(date(2026, 11, 1), date(2026, 12, 1)), date(2026, 12, 7))
    assert summary.month_budget is not None
    assert summary.month_budget.budget_nanos == 900 * DOLLAR

    set_workspace_budget(db_conn, ws, None)
    assert read_budgets(db_conn, ws).workspace_nanos is None


def test_a_workspace_budget_of_zero_or_less_is_no_budget_for_every_reader(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    ws = scene.workspace_id
    for nanos in (0, -5 * DOLLAR):
        set_workspace_budget(db_conn, ws, nanos)
        assert read_budgets(db_conn, ws).workspace_nanos is None
        assert forecasts.read_inputs(db_conn, ws, date(2026, 11, 1), date(2026, 11, 30)).budgets.workspace is None
        summary = report_reads.executive_data(db_conn, ws, Period(date(2026, 11, 1), date(2026, 12, 1)),
                                              date(2026, 12, 7))
        assert summary.month_budget is None or summary.month_budget.budget_nanos is None
