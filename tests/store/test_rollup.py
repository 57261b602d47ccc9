"""analysis.daily_spend: exact sums, idempotent reruns, incremental days, late rows, replays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.errors import UserError
from tests.factories import Conn, Scene, add_request, make_workspace, table_rows
from workers.jobs import refresh_workspace

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)

TOTALS = """select count(*), coalesce(sum(cost_nanos), 0), coalesce(sum(input_tokens), 0),
                   coalesce(sum(output_tokens), 0), count(*) filter (where status_code >= 400)
            from meter.requests where workspace_id = %s and started_at >= %s and started_at < %s
              and synced_at <= %s"""
ROLLUP_TOTALS = """select coalesce(sum(requests), 0), coalesce(sum(cost_nanos), 0), coalesce(sum(input_tokens), 0),
                          coalesce(sum(output_tokens), 0), coalesce(sum(errors), 0)
                   from analysis.daily_spend where workspace_id = %s"""


def fill(conn: Conn, scene: Scene, first_day: datetime, days: int) -> None:
    for d in range(days):
        start = first_day + d * DAY
        for hour in (0, 7, 13, 23):
            add_request(conn, scene, start + timedelta(hours=hour, minutes=5), cost_nanos=1_234_567 + d * 1000 + hour,
                        project=hour % 2, device=d % 2)
        add_request(conn, scene, start + timedelta(hours=9), project=None, cost_nanos=999)
        add_request(conn, scene, start + timedelta(hours=10), status_code=529, output_tokens=0, cost_nanos=0)


def days_recomputed(conn: Conn) -> int:
    row = conn.execute("select stats->>'rollup_days_recomputed' from analysis.runs where job = 'rollup'"
                       " order by id desc limit 1").fetchone()
    assert row is not None
    return int(row[0])


def window_start(as_of: datetime) -> datetime:
    return datetime.combine(as_of.date() - 30 * DAY, datetime.min.time(), tzinfo=UTC)


def test_rollup_sums_equal_the_requests_exactly(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF) - 2 * DAY, 34)  # some days outside the window on both sides
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    midnight = datetime.combine(AS_OF.date(), datetime.min.time(), tzinfo=UTC)
    expected = db_conn.execute(TOTALS, (scene.workspace_id, window_start(AS_OF), midnight, AS_OF)).fetchone()
    assert db_conn.execute(ROLLUP_TOTALS, (scene.workspace_id,)).fetchone() == expected
    days = db_conn.execute("select min(day), max(day), count(distinct day) from analysis.daily_spend").fetchone()
    assert days == (date(2026, 10, 21), date(2026, 11, 19), 30)


def test_unattributed_rows_roll_up_under_a_null_project(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF), 1)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    row = db_conn.execute("select sum(requests), sum(cost_nanos) from analysis.daily_spend where project_id is null")
    assert row.fetchone() == (1, 999)


ORDER = "day, project_id nulls first, device_id, model"


def from_scratch(conn: Conn, workspace_id: int, as_of: datetime) -> list[tuple[object, ...]]:
    """The rollup rebuilt with no memory of earlier refreshes."""
    conn.execute("delete from analysis.rollup_state")
    conn.execute("delete from analysis.daily_spend")
    refresh_workspace(conn, workspace_id, as_of)
    return table_rows(conn, "analysis.daily_spend", ORDER)


def test_refresh_twice_for_the_same_as_of_leaves_identical_rows(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF), 30)
    # rows synced just before as_of make the second run recompute their days, not skip them
    add_request(db_conn, scene, datetime(2026, 11, 18, 9, tzinfo=UTC), synced_at=AS_OF - timedelta(minutes=3))
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    first = table_rows(db_conn, "analysis.daily_spend", ORDER)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    assert days_recomputed(db_conn) >= 1
    second = table_rows(db_conn, "analysis.daily_spend", ORDER)
    assert first == second and len(first) > 0


def refresh_after_late_rows(conn: Conn, scene: Scene, step: int) -> datetime:
    """Late rows for old days arrive (some within the look-back margin), then the refresh of day `step`."""
    moment = AS_OF + step * DAY
    add_request(conn, scene, moment - 9 * DAY, cost_nanos=11_000 + step, synced_at=moment - timedelta(hours=3))
    add_request(conn, scene, moment - 2 * DAY, cost_nanos=22_000 + step, project=None,
                synced_at=moment - timedelta(minutes=2))
    refresh_workspace(conn, scene.workspace_id, moment)
    return moment


def test_a_chain_of_incremental_refreshes_equals_a_rebuild_from_scratch(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF), 36)
    for step in range(6):
        moment = refresh_after_late_rows(db_conn, scene, step)
        # a transaction that began before the refresh and committed after it: synced_at is in the past
        add_request(db_conn, scene, moment - 4 * DAY, cost_nanos=33_000 + step, synced_at=moment - timedelta(minutes=4))
    refresh_workspace(db_conn, scene.workspace_id, AS_OF + 5 * DAY + timedelta(hours=1))
    chained = table_rows(db_conn, "analysis.daily_spend", ORDER)
    final = AS_OF + 5 * DAY + timedelta(hours=1)
    in_window = [row for row in chained if row[1] >= final.date() - 30 * DAY]
    assert in_window == from_scratch(db_conn, scene.workspace_id, final)


def test_the_daily_totals_stay_the_sums_of_the_rollup_through_late_rows(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF), 33)
    for step in range(3):
        refresh_after_late_rows(db_conn, scene, step)
    totals = db_conn.execute("""select day, project_id, provider, requests, cost_nanos from analysis.daily_totals
                                order by 1, 2 nulls first, 3""").fetchall()
    summed = db_conn.execute("""select day, project_id, provider, sum(requests), sum(cost_nanos)
                                from analysis.daily_spend group by 1, 2, 3 order by 1, 2 nulls first, 3""").fetchall()
    assert totals == summed and any(row[1] is None for row in totals) and len(totals) > 30


def test_an_older_as_of_leaves_a_fresher_rollup_untouched(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF), 32)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF + DAY)
    fresher = table_rows(db_conn, "analysis.daily_spend", ORDER)
    outcome = refresh_workspace(db_conn, scene.workspace_id, AS_OF)  # a nightly run that waited in the queue
    assert outcome.stage("rollup").stats["rollup_already_current_to"] == (AS_OF + DAY).isoformat()
    assert table_rows(db_conn, "analysis.daily_spend", ORDER) == fresher


def test_the_next_day_recomputes_only_the_new_day(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF), 31)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    assert days_recomputed(db_conn) == 30
    refresh_workspace(db_conn, scene.workspace_id, AS_OF + DAY)
    assert days_recomputed(db_conn) == 1
    assert db_conn.execute("select max(day) from analysis.daily_spend").fetchone() == (date(2026, 11, 20),)


def test_a_late_row_recomputes_its_old_day(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF), 30)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    old_day = datetime(2026, 11, 3, 15, tzinfo=UTC)
    add_request(db_conn, scene, old_day, cost_nanos=5_000_000_000, synced_at=AS_OF + timedelta(hours=5))
    refresh_workspace(db_conn, scene.workspace_id, AS_OF + DAY)
    assert days_recomputed(db_conn) == 2  # the new day and the late row's day
    total = db_conn.execute(
        "select sum(cost_nanos) from analysis.daily_spend where day = '2026-11-03'"
    ).fetchone()
    expected = db_conn.execute(
        """select sum(cost_nanos) from meter.requests
           where started_at >= '2026-11-03' and started_at < '2026-11-04'"""
    ).fetchone()
    assert total == expected


def test_rows_synced_after_as_of_are_left_out_so_a_replay_sees_the_past(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF), 30)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    before = table_rows(db_conn, "analysis.daily_spend", ORDER)
    add_request(db_conn, scene, datetime(2026, 11, 10, 12, tzinfo=UTC), synced_at=AS_OF + 3 * DAY)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF + 4 * DAY)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF, replay=True)  # replay the past moment
    after = table_rows(db_conn, "analysis.daily_spend", ORDER)
    replayed_window = [row for row in after if row[1] < AS_OF.date()]
    assert replayed_window == before


def test_an_unknown_workspace_fails_clearly_and_writes_nothing(db_conn: Conn) -> None:
    with pytest.raises(UserError, match="no workspace with id 999"):
        refresh_workspace(db_conn, 999, AS_OF)
    assert db_conn.execute("select count(*) from analysis.runs").fetchone() == (0,)
