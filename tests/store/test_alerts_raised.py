"""Alerts raised once (issue 17 item 4): budget thresholds, a forecast over budget and a spend anomaly are
each raised once across reruns and pulses, with one audit event and one pending delivery per live channel
of their own workspace, in the transaction that raised them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.factories import Conn, make_workspace
from tests.store.alert_scene import (
    AS_OF,
    DOLLAR,
    MARCH,
    add_budget,
    add_channel,
    burst,
    put_forecast,
    set_workspace_budget,
    steady_history,
)
from workers import jobs
from workers.jobs.alerts import raise_alerts

FERNET = Fernet(Fernet.generate_key())


def raise_now(conn: Conn, workspace_id: int, as_of: dt.datetime = AS_OF) -> list[int]:
    with conn.transaction():
        return raise_alerts(conn, workspace_id, as_of, actor="worker:test").alert_ids


def one(conn: Conn, query: str) -> tuple[Any, ...]:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row


def alerts(conn: Conn) -> list[tuple[object, ...]]:
    return conn.execute("""select workspace_id, kind, scope, scope_id, period, threshold_percent, fingerprint
                             from analysis.alerts order by id""").fetchall()


def test_budget_thresholds_are_raised_once_each_across_reruns_and_pulses(db_conn: Conn) -> None:
    ws = make_workspace(db_conn, "acme").workspace_id
    set_workspace_budget(db_conn, ws, 1_000 * DOLLAR)
    put_forecast(db_conn, ws, spent=850 * DOLLAR, forecast=990 * DOLLAR)  # the forecast stays under budget
    first = raise_now(db_conn, ws)
    again = raise_now(db_conn, ws)
    put_forecast(db_conn, ws, spent=870 * DOLLAR, forecast=995 * DOLLAR, as_of=AS_OF + dt.timedelta(minutes=10))
    pulse = raise_now(db_conn, ws, AS_OF + dt.timedelta(minutes=10))
    assert len(first) == 2 and again == [] and pulse == []
    assert alerts(db_conn) == [
        (ws, "budget_threshold", "workspace", None, MARCH, 50, "budget_threshold:workspace:-:2026-03:50"),
        (ws, "budget_threshold", "workspace", None, MARCH, 80, "budget_threshold:workspace:-:2026-03:80")]
    amount, details = one(db_conn, "select amount_nanos, details from analysis.alerts order by id limit 1")
    assert amount == 850 * DOLLAR and details["budget_nanos"] == 1_000 * DOLLAR
    events = db_conn.execute("select event, resource, actor from analysis.audit_events order by id").fetchall()
    assert events == [("alert.raised", f"alert:{first[0]}", "worker:test"),
                      ("alert.raised", f"alert:{first[1]}", "worker:test")]
    # crossing 100 % later in the month raises that threshold alone
    put_forecast(db_conn, ws, spent=1_001 * DOLLAR, forecast=1_100 * DOLLAR)
    later = raise_now(db_conn, ws, AS_OF + dt.timedelta(days=2))
    assert [row[5] for row in alerts(db_conn) if row[1] == "budget_threshold"] == [50, 80, 100]
    assert len(later) == 2  # 100 % and the forecast over budget


def test_a_forecast_over_a_project_budget_is_raised_once_with_its_own_thresholds(db_conn: Conn) -> None:
    scene = make_workspace(db_conn, "acme")
    ws, project = scene.workspace_id, scene.project_ids[0]
    add_budget(db_conn, ws, "project", project, 200 * DOLLAR, thresholds=[90])
    put_forecast(db_conn, ws, spent=120 * DOLLAR, forecast=240 * DOLLAR, low=200 * DOLLAR, high=290 * DOLLAR,
                 scope="project", scope_id=project)
    put_forecast(db_conn, ws, spent=120 * DOLLAR, forecast=240 * DOLLAR)  # the workspace has no budget
    assert len(raise_now(db_conn, ws)) == 1
    put_forecast(db_conn, ws, spent=150 * DOLLAR, forecast=260 * DOLLAR, scope="project", scope_id=project)
    assert raise_now(db_conn, ws, AS_OF + dt.timedelta(hours=3)) == []
    assert alerts(db_conn) == [(ws, "forecast_over_budget", "project", project, MARCH, None,
                                f"forecast_over_budget:project:{project}:2026-03")]
    amount, details = one(db_conn, "select amount_nanos, details from analysis.alerts")
    assert amount == 240 * DOLLAR
    assert (details["low_nanos"], details["high_nanos"], details["budget_nanos"]) == (
        200 * DOLLAR, 290 * DOLLAR, 200 * DOLLAR)


def test_a_budget_raised_since_the_forecast_is_judged_at_its_new_figure(db_conn: Conn) -> None:
    ws = make_workspace(db_conn, "acme").workspace_id
    put_forecast(db_conn, ws, spent=600 * DOLLAR, forecast=900 * DOLLAR)
    set_workspace_budget(db_conn, ws, 2_000 * DOLLAR)
    assert raise_now(db_conn, ws) == [] and alerts(db_conn) == []


def anomaly_alerts(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute("""select scope, scope_id, fingerprint, details from analysis.alerts
                            where kind = 'spend_anomaly' order by id""").fetchall()


def test_one_loop_raises_one_alert_of_its_device_naming_its_project_across_reruns(db_conn: Conn) -> None:
    """The loop makes its device and its project anomalous in the same hour: one alert, the device's (where
    the loop runs), with the project's figures in its details; reruns and the next pulses raise nothing."""
    scene = make_workspace(db_conn, "acme")
    ws, device, project = scene.workspace_id, scene.device_ids[0], scene.project_ids[0]
    end = AS_OF.replace(minute=40)
    steady_history(db_conn, scene, end - dt.timedelta(minutes=20), days=3, per_hour=6, cost=DOLLAR // 60)
    burst(db_conn, scene, end, minutes=20, total=80 * DOLLAR, requests=400)  # $80 in 20 minutes
    first = raise_now(db_conn, ws, end)
    again = raise_now(db_conn, ws, end)
    later = [raise_now(db_conn, ws, end + dt.timedelta(minutes=m)) for m in (10, 20, 30)]  # 15:10: a new hour
    assert len(first) == 1 and again == [] and later == [[], [], []]
    [(scope, scope_id, fingerprint, details)] = anomaly_alerts(db_conn)
    assert (scope, scope_id, fingerprint) == ("device", device, f"spend_anomaly:device:{device}:2026-03-19T14")
    assert details["project_id"] == project and details["project_nanos"] >= 80 * DOLLAR
    assert details["project_anomaly"]["excess_nanos"] >= 79 * DOLLAR and details["expected_nanos"] < DOLLAR
    assert f"project {project}, billed $" in details["summary"]
    amount = one(db_conn, "select amount_nanos from analysis.alerts")[0]
    assert amount >= 80 * DOLLAR


def test_two_loops_on_two_devices_in_two_projects_raise_two_alerts_once(db_conn: Conn) -> None:
    scene = make_workspace(db_conn, "acme")
    ws = scene.workspace_id
    end = AS_OF.replace(minute=40)
    for i in (0, 1):
        steady_history(db_conn, scene, end - dt.timedelta(minutes=20), days=3, per_hour=6, cost=DOLLAR // 60,
                       project=i, device=i)
        burst(db_conn, scene, end, minutes=20, total=(80 + 40 * i) * DOLLAR, requests=400, project=i, device=i)
    first = raise_now(db_conn, ws, end)
    later = [raise_now(db_conn, ws, end + dt.timedelta(minutes=m)) for m in (0, 10)]
    assert len(first) == 2 and later == [[], []]
    assert [(scope, scope_id, details["project_id"]) for scope, scope_id, _, details in anomaly_alerts(db_conn)] == [
        ("device", scene.device_ids[0], scene.project_ids[0]), ("device", scene.device_ids[1], scene.project_ids[1])]


def test_a_five_dollar_blip_on_a_ten_cent_an_hour_device_is_not_an_alert(db_conn: Conn) -> None:
    scene = make_workspace(db_conn, "acme")
    end = AS_OF.replace(minute=40)
    steady_history(db_conn, scene, end - dt.timedelta(minutes=20), days=3, per_hour=4, cost=DOLLAR // 40)
    burst(db_conn, scene, end, minutes=20, total=5 * DOLLAR, requests=10)
    assert raise_now(db_conn, scene.workspace_id, end) == []


def test_a_new_device_spending_in_its_first_hour_is_not_judged_without_history(db_conn: Conn) -> None:
    scene = make_workspace(db_conn, "acme")
    end = AS_OF.replace(minute=40)
    burst(db_conn, scene, end, minutes=20, total=80 * DOLLAR, requests=400)
    assert raise_now(db_conn, scene.workspace_id, end) == []


def test_each_new_alert_queues_one_delivery_per_live_channel_of_its_own_workspace_only(db_conn: Conn) -> None:
    ws = make_workspace(db_conn, "acme").workspace_id
    other = make_workspace(db_conn, "globex").workspace_id
    live = add_channel(db_conn, FERNET, ws, "webhook", "https://hooks.acme.example/a", "whsec_acme_0123456789abcdef")
    slack = add_channel(db_conn, FERNET, ws, "slack", "https://hooks.slack.com/services/T1/B1/x")
    add_channel(db_conn, FERNET, ws, "webhook", "https://old.acme.example/a", "whsec_old", revoked=True)
    add_channel(db_conn, FERNET, other, "webhook", "https://hooks.globex.example/g", "whsec_globex_0123456789")
    set_workspace_budget(db_conn, ws, 100 * DOLLAR)
    set_workspace_budget(db_conn, other, 100 * DOLLAR)
    put_forecast(db_conn, ws, spent=60 * DOLLAR, forecast=90 * DOLLAR)
    put_forecast(db_conn, other, spent=10 * DOLLAR, forecast=20 * DOLLAR)
    with db_conn.transaction():
        raised = raise_alerts(db_conn, ws, AS_OF, actor="worker:test")
    with db_conn.transaction():
        rerun = raise_alerts(db_conn, ws, AS_OF, actor="worker:test")
    assert (len(raised.alert_ids), raised.deliveries, raised.pending) == (1, 2, 2)
    assert (rerun.alert_ids, rerun.deliveries, rerun.pending) == ([], 0, 2)
    assert db_conn.execute("""select alert_id, channel_id, status, attempts from analysis.alert_deliveries
                               order by channel_id""").fetchall() == [
        (raised.alert_ids[0], live, "pending", 0), (raised.alert_ids[0], slack, "pending", 0)]


def test_nothing_of_a_raise_is_visible_when_its_transaction_rolls_back(db_conn: Conn) -> None:
    ws = make_workspace(db_conn, "acme").workspace_id
    add_channel(db_conn, FERNET, ws, "webhook", "https://hooks.acme.example/a", "whsec_acme_0123456789abcdef")
    set_workspace_budget(db_conn, ws, 100 * DOLLAR)
    put_forecast(db_conn, ws, spent=60 * DOLLAR, forecast=90 * DOLLAR)
    with pytest.raises(RuntimeError), db_conn.transaction():
        raise_alerts(db_conn, ws, AS_OF, actor="worker:test")
        raise RuntimeError("the run failed after raising")
    for table in ("alerts", "alert_deliveries", "audit_events"):
        assert db_conn.execute(f"select count(*) from analysis.{table}").fetchone() == (0,)
    assert len(raise_now(db_conn, ws)) == 1  # and the next run raises it


def test_the_nightly_alerts_stage_raises_with_a_run_of_its_own(db_conn: Conn) -> None:
    ws = make_workspace(db_conn, "acme").workspace_id
    set_workspace_budget(db_conn, ws, 100 * DOLLAR)
    put_forecast(db_conn, ws, spent=60 * DOLLAR, forecast=90 * DOLLAR)
    outcome = jobs.refresh_workspace(db_conn, ws, AS_OF, stage="alerts")
    again = jobs.refresh_workspace(db_conn, ws, AS_OF, stage="alerts")
    assert outcome.stage("alerts").stats["alerts_raised"] == 1
    assert again.stage("alerts").stats["alerts_raised"] == 0
    assert db_conn.execute("select job, status from analysis.runs order by id").fetchall() == [
        ("alerts", "succeeded"), ("alerts", "succeeded")]
    assert one(db_conn, "select count(*) from analysis.alerts") == (1,)
