"""The pulse (issue 17 item 1): today's rollup and the month's forecasts brought forward with the requests synced
since the last refresh or pulse, each counted once, and nothing done when nothing arrived."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet

from core.money import NANOS_PER_DOLLAR
from store.pulse import workspaces_with_new_requests
from tests.factories import Conn, Scene, add_request, make_workspace, table_rows
from tests.store.alert_scene import add_channel, burst, steady_history
from tests.store.rollup_sums import assert_rollup_equals_requests
from workers.jobs import refresh_workspace
from workers.jobs.pulse import pulse_workspace

AS_OF = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
ORDER = "day, project_id nulls first, device_id, model"


def history(conn: Conn, scene: Scene, days: int = 20) -> None:
    """A request every 3 hours for `days` days up to AS_OF, synced 30 s after it started."""
    moment = AS_OF - days * DAY
    while moment < AS_OF:
        add_request(conn, scene, moment, cost_nanos=2_000_000_000 + moment.hour, project=moment.day % 2,
                    device=moment.hour % 2)
        moment += timedelta(hours=3)


def today(conn: Conn, workspace_id: int) -> tuple[int, int]:
    row = conn.execute("select coalesce(sum(requests), 0), coalesce(sum(cost_nanos), 0) from analysis.daily_spend "
                       "where workspace_id = %s and day = %s", (workspace_id, AS_OF.date())).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def forecast_of_workspace(conn: Conn, workspace_id: int) -> tuple[datetime, int, int]:
    row = conn.execute("select as_of, spent_nanos, forecast_nanos from analysis.spend_forecasts "
                       "where workspace_id = %s and scope = 'workspace'", (workspace_id,)).fetchone()
    assert row is not None
    return row[0], int(row[1]), int(row[2])


def test_a_pulse_after_new_requests_adds_them_to_today_and_updates_the_forecasts(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    history(db_conn, scene)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    before = today(db_conn, scene.workspace_id)
    spent_before = forecast_of_workspace(db_conn, scene.workspace_id)[1]
    for minute in (1, 4, 8):
        add_request(db_conn, scene, AS_OF + minute * MINUTE, cost_nanos=5_000_000_000, project=1)
    later = AS_OF + 10 * MINUTE

    outcome = pulse_workspace(db_conn, scene.workspace_id, later)

    assert outcome.status == "succeeded" and outcome.stats["pulse_requests_added"] == 3
    assert today(db_conn, scene.workspace_id) == (before[0] + 3, before[1] + 15_000_000_000)
    assert_rollup_equals_requests(db_conn, scene.workspace_id, later)  # every day, the totals and the margins too
    as_of, spent, _ = forecast_of_workspace(db_conn, scene.workspace_id)
    assert (as_of, spent) == (later, spent_before + 15_000_000_000)
    scopes = db_conn.execute("select scope, count(*) from analysis.spend_forecasts group by 1 order by 1").fetchall()
    assert scopes == [("project", 2), ("workspace", 1)]
    assert db_conn.execute("select job, status from analysis.runs where id = %s",
                           (outcome.run_id,)).fetchone() == ("pulse", "succeeded")


def test_a_pulse_with_no_new_requests_does_nothing(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    history(db_conn, scene)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    rollup, forecasts = table_rows(db_conn, "analysis.daily_spend", ORDER), table_rows(
        db_conn, "analysis.spend_forecasts", "scope, scope_id")
    runs = db_conn.execute("select count(*) from analysis.runs").fetchone()

    outcome = pulse_workspace(db_conn, scene.workspace_id, AS_OF + 10 * MINUTE)

    assert outcome.status == "nothing_new" and outcome.run_id is None
    assert db_conn.execute("select count(*) from analysis.runs").fetchone() == runs
    assert table_rows(db_conn, "analysis.daily_spend", ORDER) == rollup
    assert table_rows(db_conn, "analysis.spend_forecasts", "scope, scope_id") == forecasts
    assert workspaces_with_new_requests(db_conn, AS_OF + 10 * MINUTE) == []


def test_a_request_committed_late_within_the_margin_is_counted_once(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    history(db_conn, scene, days=3)
    add_request(db_conn, scene, AS_OF - 5 * MINUTE, cost_nanos=7_000_000_000, synced_at=AS_OF - 4 * MINUTE)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)  # counts it, within the margin: listed
    # its sync transaction began before the refresh and committed after it read
    add_request(db_conn, scene, AS_OF - 3 * MINUTE, cost_nanos=11_000_000_000, synced_at=AS_OF - 2 * MINUTE)
    add_request(db_conn, scene, AS_OF + 2 * MINUTE, cost_nanos=13_000_000_000)
    moments = [AS_OF + 5 * MINUTE, AS_OF + 9 * MINUTE, AS_OF + 25 * MINUTE]
    for moment in moments:
        pulse_workspace(db_conn, scene.workspace_id, moment)
        add_request(db_conn, scene, moment - MINUTE, cost_nanos=1_000_000_000, project=None, synced_at=moment)
    final = AS_OF + 40 * MINUTE
    pulse_workspace(db_conn, scene.workspace_id, final)
    assert_rollup_equals_requests(db_conn, scene.workspace_id, final)
    pulsed = table_rows(db_conn, "analysis.daily_spend", ORDER)
    db_conn.execute("delete from analysis.rollup_state")
    db_conn.execute("delete from analysis.daily_spend")
    refresh_workspace(db_conn, scene.workspace_id, final)
    assert table_rows(db_conn, "analysis.daily_spend", ORDER) == pulsed  # margins and latest arrivals too


def test_a_pulse_after_midnight_builds_the_new_day_and_finishes_yesterday(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    history(db_conn, scene, days=2)
    late_evening = datetime.combine(AS_OF.date(), datetime.min.time(), UTC) + timedelta(hours=23, minutes=50)
    refresh_workspace(db_conn, scene.workspace_id, late_evening)
    add_request(db_conn, scene, late_evening + 5 * MINUTE, cost_nanos=3_000_000_000)
    add_request(db_conn, scene, late_evening + 12 * MINUTE, cost_nanos=4_000_000_000)
    after_midnight = late_evening + 20 * MINUTE

    outcome = pulse_workspace(db_conn, scene.workspace_id, after_midnight)

    assert outcome.stats["pulse_days_built"] == 1
    assert_rollup_equals_requests(db_conn, scene.workspace_id, after_midnight)
    state = db_conn.execute("select window_end, synced_through from analysis.rollup_state").fetchone()
    assert state == (AS_OF.date() + 2 * DAY, after_midnight)
    # the forecast is of the new day's month, with its first minutes behind it
    assert forecast_of_workspace(db_conn, scene.workspace_id)[0] == after_midnight


def test_the_fanout_lists_only_workspaces_with_requests_not_yet_counted(db_conn: Conn) -> None:
    quiet, busy, never = (make_workspace(db_conn, slug) for slug in ("quiet", "busy", "never"))
    for scene in (quiet, busy, never):
        history(db_conn, scene, days=2)
    for scene in (quiet, busy):
        refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    add_request(db_conn, busy, AS_OF + MINUTE)
    # never: not rolled up at all, left to the nightly refresh
    assert workspaces_with_new_requests(db_conn, AS_OF + 10 * MINUTE) == [busy.workspace_id]
    pulse_workspace(db_conn, busy.workspace_id, AS_OF + 10 * MINUTE)
    assert workspaces_with_new_requests(db_conn, AS_OF + 10 * MINUTE) == []


def test_a_loop_starting_after_the_nightly_is_raised_by_the_next_pulse_once(db_conn: Conn) -> None:
    """A runaway caught within the hour: the pulse raises the anomaly (one alert: the loop's device's, naming
    its project, also anomalous) and queues its delivery; the next pulse raises nothing again."""
    scene = make_workspace(db_conn)
    night = AS_OF - 7 * timedelta(hours=1)
    steady_history(db_conn, scene, night, days=14, per_hour=6, cost=20_000_000)  # $0.12 an hour
    refresh_workspace(db_conn, scene.workspace_id, night)
    channel = add_channel(db_conn, Fernet(Fernet.generate_key()), scene.workspace_id, "webhook",
                          "https://hooks.example.com/halton", "s3cret")
    burst(db_conn, scene, AS_OF, minutes=20, total=80 * NANOS_PER_DOLLAR, requests=160)

    outcome = pulse_workspace(db_conn, scene.workspace_id, AS_OF)

    assert outcome.stats["alerts_raised"] == 1 and outcome.deliveries_pending
    alerts = db_conn.execute("select id, kind, scope, amount_nanos from analysis.alerts where workspace_id = %s "
                             "order by scope", (scene.workspace_id,)).fetchall()
    assert [(kind, scope) for _, kind, scope, _ in alerts] == [("spend_anomaly", "device")]
    assert all(amount >= 79 * NANOS_PER_DOLLAR for *_, amount in alerts)
    details = db_conn.execute("select details from analysis.alerts").fetchone()
    assert details is not None and details[0]["project_id"] == scene.project_ids[0]
    assert details[0]["project_anomaly"]["amount_nanos"] >= 79 * NANOS_PER_DOLLAR
    deliveries = db_conn.execute("select alert_id, channel_id, status from analysis.alert_deliveries order by 1"
                                 ).fetchall()
    assert deliveries == [(alert_id, channel, "pending") for alert_id, *_ in alerts]

    add_request(db_conn, scene, AS_OF + 2 * MINUTE, cost_nanos=10_000_000)
    again = pulse_workspace(db_conn, scene.workspace_id, AS_OF + 10 * MINUTE)
    assert again.status == "succeeded" and again.stats["alerts_raised"] == 0
    assert db_conn.execute("select count(*) from analysis.alerts").fetchone() == (1,)
