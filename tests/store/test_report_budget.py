"""The executive summary holds its month to the budget in force with figures it prints: a month that is over by
its whole spend from the rollup (never a forecast made while it ran), a month still running by its latest
forecast, the status worked out from those figures (never the status stored with the forecast)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.money import money
from pdf.periods import Period
from store import report_reads
from store.report_reads import ReportRequest
from tests.factories import Conn
from tests.store.alert_scene import put_forecast, set_workspace_budget
from tests.store.report_scene import PERIOD_END, PERIOD_START, REQUESTED_AT, make_report_scene
from tests.unit.pdf_text import pdf_text
from workers.jobs import refresh_workspace
from workers.jobs.reports import build_artifact
from workers.settings import SigningSettings

DOLLAR = 1_000_000_000
NOVEMBER = date(2026, 11, 1)
DECEMBER_7 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # November is over


def test_a_past_month_shows_its_whole_spend_against_the_budget_not_the_forecast_made_while_it_ran(
        db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)  # 1 to 20 November asked for; November is over by 7 December
    scene.add(db_conn, datetime(2026, 11, 25, 9, tzinfo=UTC), cost_nanos=40 * DOLLAR)  # after the period's end
    # the forecast the last pulse of November left: stored before the budget was set, so 'no_budget'
    put_forecast(db_conn, scene.workspace_id, spent=11 * DOLLAR, forecast=19 * DOLLAR, period=NOVEMBER,
                 as_of=datetime(2026, 11, 19, 12, tzinfo=UTC))
    set_workspace_budget(db_conn, scene.workspace_id, 50 * DOLLAR)
    whole = scene.spend(NOVEMBER, date(2026, 12, 1))
    assert whole > 50 * DOLLAR > scene.spend(PERIOD_START, PERIOD_END)  # the period's part alone is within it

    request = ReportRequest(None, scene.workspace_id, "executive", None, PERIOD_START, PERIOD_END, "test",
                            REQUESTED_AT)
    artifact = build_artifact(db_conn, request, SigningSettings(), now=DECEMBER_7)
    text = " ".join(pdf_text(artifact.pdf).split())
    assert (f"Budget $50.00 a month: November 2026 spent {money(whole)} in all (the whole month), "
            f"{round(whole * 100 / (50 * DOLLAR))} % of it: over the budget.") in text
    assert "Month-end forecast" not in text and "$19.00" not in text and "on track" not in text
    # the stored report counts the days it printed: to the end of November
    assert artifact.counted is not None and artifact.counted.end_day == date(2026, 12, 1)
    assert artifact.counted.cost_nanos == scene.spend(artifact.counted.first_day, date(2026, 12, 1))


def test_a_running_month_judges_the_latest_forecast_against_the_budget_printed_beside_it(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    put_forecast(db_conn, scene.workspace_id, spent=11 * DOLLAR, forecast=19 * DOLLAR, low=17 * DOLLAR,
                 high=25 * DOLLAR, period=NOVEMBER, as_of=datetime(2026, 11, 20, 1, tzinfo=UTC))
    period = Period(PERIOD_START, PERIOD_END)
    today = PERIOD_END  # 20 November: the month runs on
    for budget, status in [(None, "no_budget"), (30 * DOLLAR, "on_track"), (20 * DOLLAR, "at_risk"),
                           (18 * DOLLAR, "over_forecast"), (10 * DOLLAR, "over_budget")]:
        set_workspace_budget(db_conn, scene.workspace_id, budget)
        held = report_reads.executive_data(db_conn, scene.workspace_id, period, today).month_budget
        assert held is not None and not held.over and held.forecast is not None
        assert (held.budget_nanos, held.status, held.forecast.forecast_nanos) == (budget, status, 19 * DOLLAR)


def test_a_summary_reads_past_its_period_only_for_the_whole_of_a_month_over_held_to_a_budget(db_conn: Conn) -> None:
    part, today = Period(PERIOD_START, PERIOD_END), DECEMBER_7.date()
    assert report_reads.executive_days_read(part, today, budgeted=True)[1] == date(2026, 12, 1)
    assert report_reads.executive_days_read(part, today, budgeted=False)[1] == PERIOD_END  # nothing to hold it to
    assert report_reads.executive_days_read(part, PERIOD_END, budgeted=True)[1] == PERIOD_END  # November runs on
    scene = make_report_scene(db_conn)
    refresh_workspace(db_conn, scene.workspace_id, DECEMBER_7, stage="rollup")
    october = Period(date(2026, 10, 1), NOVEMBER)
    assert report_reads.executive_days_read(october, today, budgeted=True)[1] == NOVEMBER  # a whole month: itself
    set_workspace_budget(db_conn, scene.workspace_id, 50 * DOLLAR)
    held = report_reads.executive_data(db_conn, scene.workspace_id, october, DECEMBER_7.date()).month_budget
    assert held is not None and held.over and held.spent_nanos == scene.spend(date(2026, 10, 1), NOVEMBER)
