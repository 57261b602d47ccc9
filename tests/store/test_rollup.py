"""analysis.daily_spend: exact sums over the whole history, idempotent reruns, incremental days, late rows of
any age, replays, the history kept and the rollup state of before migration 0011."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from prometheus_client import REGISTRY

from core.errors import ConfigError, UserError
from store import rollup
from store.migrate import bundled_migrations
from tests.factories import Conn, Scene, add_request, make_workspace, table_rows
from tests.store.interleave import before_statement
from tests.store.rollup_sums import assert_rollup_equals_requests, totals_per_day
from workers.jobs import refresh_workspace
from workers.jobs.pipeline import run_pipeline
from workers.jobs.pulse import pulse_workspace
from workers.settings import rollup_settings

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


def test_the_first_refresh_rolls_up_every_day_with_rows_exactly(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF) - 70 * DAY, 102)  # 100 days of history, and rows of as_of's day
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    # today so far (issue 17): as_of's day up to as_of, not the rows of the day after it
    midnight = datetime.combine(AS_OF.date() + DAY, datetime.min.time(), tzinfo=UTC)
    expected = db_conn.execute(TOTALS, (scene.workspace_id, window_start(AS_OF) - 70 * DAY, midnight,
                                        AS_OF)).fetchone()
    assert db_conn.execute(ROLLUP_TOTALS, (scene.workspace_id,)).fetchone() == expected
    assert assert_rollup_equals_requests(db_conn, scene.workspace_id, AS_OF) == 101
    days = db_conn.execute("select min(day), max(day), count(distinct day) from analysis.daily_spend").fetchone()
    assert days == (date(2026, 8, 12), date(2026, 11, 20), 101)
    assert days_recomputed(db_conn) == 101  # the days from the first row on, not the years kept before it


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
    add_request(conn, scene, moment - (60 + step) * DAY, cost_nanos=44_000 + step, device=1,
                synced_at=moment - timedelta(hours=5))
    add_request(conn, scene, moment - 2 * DAY, cost_nanos=22_000 + step, project=None,
                synced_at=moment - timedelta(minutes=2))
    refresh_workspace(conn, scene.workspace_id, moment)
    return moment


def test_a_chain_of_incremental_refreshes_equals_a_rebuild_from_scratch(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF) - 40 * DAY, 76)
    for step in range(6):
        moment = refresh_after_late_rows(db_conn, scene, step)
        # a transaction that began before the refresh and committed after it: synced_at is in the past
        add_request(db_conn, scene, moment - 4 * DAY, cost_nanos=33_000 + step, synced_at=moment - timedelta(minutes=4))
    final = AS_OF + 5 * DAY + timedelta(hours=1)
    refresh_workspace(db_conn, scene.workspace_id, final)
    chained = table_rows(db_conn, "analysis.daily_spend", ORDER)
    assert chained == from_scratch(db_conn, scene.workspace_id, final)
    assert chained[0][1] == (window_start(AS_OF) - 40 * DAY).date()  # the days long before the window are kept too


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


def stage_observations() -> float:
    return REGISTRY.get_sample_value("halton_stage_seconds_count", {"stage": "rollup"}) or 0.0


STATE_READ = re.compile(r"from analysis\.rollup_state\s+where workspace_id")


def test_a_rollup_run_reads_the_rollup_state_once(db_conn: Conn) -> None:
    """The state is read once, in the results transaction, and passed along (a first build, an incremental
    refresh, a refresh left alone by a fresher rollup)."""
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF), 32)
    for as_of, already_current in ((AS_OF, False), (AS_OF + DAY, False), (AS_OF, True)):
        observed = stage_observations()
        with before_statement(db_conn, "rollup_state", lambda: None) as sent:
            outcome = run_pipeline(db_conn, scene.workspace_id, as_of, only="rollup")
        assert ("already_current_to" in outcome.stage("rollup").stats) is already_current
        assert len([statement for statement in sent if STATE_READ.search(statement)]) == 1, as_of
        # halton_stage_seconds observes a rollup that ran, not one that left a fresher rollup alone
        assert stage_observations() == observed + (0 if already_current else 1)


def test_a_pulse_committing_just_before_the_rollup_reads_its_state_is_not_rewound(database_url: str,
                                                                                  db_conn: Conn) -> None:
    """A nightly refresh that waited in the queue, and a pulse bringing the rollup past its moment meanwhile:
    the refresh decides from the state it reads locked, after the pulse, and leaves the rollup alone."""
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF), 32)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF, stage="rollup")
    add_request(db_conn, scene, AS_OF + timedelta(hours=1), synced_at=AS_OF + timedelta(hours=2))
    nightly, pulsed = AS_OF + timedelta(hours=5), AS_OF + timedelta(hours=7)

    def pulse() -> None:
        with psycopg.connect(database_url, autocommit=True) as other:
            assert pulse_workspace(other, scene.workspace_id, pulsed).status == "succeeded"

    with before_statement(db_conn, "window_start, window_end from analysis.rollup_state", pulse) as sent:
        outcome = run_pipeline(db_conn, scene.workspace_id, nightly, only="rollup")
    assert any("window_start, window_end from analysis.rollup_state" in statement for statement in sent)
    assert outcome.stage("rollup").stats == {"already_current_to": pulsed.isoformat()}
    state = db_conn.execute("select synced_through from analysis.rollup_state where workspace_id = %s",
                            (scene.workspace_id,)).fetchone()
    assert state == (pulsed,)


def test_the_rollups_insert_is_planned_for_its_own_days_however_often_a_connection_runs_it(db_conn: Conn) -> None:
    """psycopg prepares a statement a connection runs five times, and Postgres may then plan it once for any
    parameters: a plan with no constant day bounds (no months of meter.requests left out when planning) and no
    number of days, which doubled a worker's nightly step after a few first builds on its connection. The
    rollup's insert is never prepared, so each run is planned for its days."""
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF), 3)
    for turn in range(8):
        with db_conn.transaction():
            rollup.refresh_daily_spend(db_conn, scene.workspace_id, AS_OF + turn * DAY, run_id=0,
                                       state=rollup.load_state(db_conn, scene.workspace_id))
    prepared = [str(row[0]) for row in db_conn.execute("select statement from pg_prepared_statements")]
    assert any("rollup_state" in statement for statement in prepared), "psycopg prepared nothing: not tested"
    assert not [statement for statement in prepared if "insert into analysis.daily_spend" in statement]


def test_an_older_as_of_leaves_a_fresher_rollup_untouched(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF), 32)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF + DAY)
    fresher = table_rows(db_conn, "analysis.daily_spend", ORDER)
    outcome = refresh_workspace(db_conn, scene.workspace_id, AS_OF)  # a nightly run that waited in the queue
    assert outcome.stage("rollup").stats["already_current_to"] == (AS_OF + DAY).isoformat()
    assert table_rows(db_conn, "analysis.daily_spend", ORDER) == fresher


def test_the_next_day_recomputes_only_the_new_day(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF), 31)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    assert days_recomputed(db_conn) == 31  # 30 days and today so far
    refresh_workspace(db_conn, scene.workspace_id, AS_OF + DAY)
    assert days_recomputed(db_conn) == 2  # yesterday's rest, and the new day so far (no request yet)
    assert db_conn.execute("select max(day) from analysis.daily_spend").fetchone() == (date(2026, 11, 20),)


def test_a_late_row_recomputes_its_old_day_whatever_its_age(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF) - 200 * DAY, 230)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    for old_day in (datetime(2026, 11, 3, 15, tzinfo=UTC), AS_OF - 200 * DAY, AS_OF - 600 * DAY):
        add_request(db_conn, scene, old_day, cost_nanos=5_000_000_000, synced_at=AS_OF + timedelta(hours=5))
    refresh_workspace(db_conn, scene.workspace_id, AS_OF + DAY)
    assert days_recomputed(db_conn) == 4  # the new day and the late rows' days, 17, 200 and 600 days old
    assert_rollup_equals_requests(db_conn, scene.workspace_id, AS_OF + DAY)


def test_rows_synced_after_as_of_are_left_out_so_a_replay_sees_the_past(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF) - 60 * DAY, 90)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    before = table_rows(db_conn, "analysis.daily_spend", ORDER)
    add_request(db_conn, scene, datetime(2026, 11, 10, 12, tzinfo=UTC), synced_at=AS_OF + 3 * DAY)
    add_request(db_conn, scene, AS_OF - 80 * DAY, synced_at=AS_OF + 2 * DAY)
    fill(db_conn, scene, AS_OF, 4)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF + 4 * DAY)
    assert_rollup_equals_requests(db_conn, scene.workspace_id, AS_OF + 4 * DAY)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF, replay=True)  # replay the past moment
    # the rollup as of that moment: the late rows' days without them, and none of the days after it
    assert table_rows(db_conn, "analysis.daily_spend", ORDER) == before
    assert_rollup_equals_requests(db_conn, scene.workspace_id, AS_OF)
    assert days_recomputed(db_conn) == 3  # the late rows' two days, and as_of's day without what came after
    refresh_workspace(db_conn, scene.workspace_id, AS_OF + 4 * DAY)  # and forward again
    assert_rollup_equals_requests(db_conn, scene.workspace_id, AS_OF + 4 * DAY)


def test_an_unknown_workspace_fails_clearly_and_writes_nothing(db_conn: Conn) -> None:
    with pytest.raises(UserError, match="no workspace with id 999"):
        refresh_workspace(db_conn, 999, AS_OF)
    assert db_conn.execute("select count(*) from analysis.runs").fetchone() == (0,)


@pytest.fixture
def history_years(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    rollup_settings.cache_clear()
    yield monkeypatch
    rollup_settings.cache_clear()


def test_the_history_kept_is_the_setting_and_days_leaving_it_are_dropped(
        db_conn: Conn, history_years: pytest.MonkeyPatch) -> None:
    history_years.setenv("HALTON_ROLLUP_HISTORY_YEARS", "1")  # from 1 January 2025 on, as of November 2026
    scene = make_workspace(db_conn)
    for moment in ("2024-12-31 23:00", "2025-01-01 00:30", "2025-06-01 12:00", "2026-11-19 12:00"):
        add_request(db_conn, scene, datetime.fromisoformat(f"{moment}+00:00"))
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    assert [row[0] for row in totals_per_day(db_conn, scene.workspace_id)] == [
        date(2025, 1, 1), date(2025, 6, 1), date(2026, 11, 19)]
    run_window = db_conn.execute("select window_start, window_end from analysis.runs where job = 'rollup'")
    assert run_window.fetchone() == (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))
    # a new year: 2025 leaves the history kept, from the rollup as well as from the daily totals
    new_year = datetime(2027, 1, 1, 2, 0, tzinfo=UTC)
    refresh_workspace(db_conn, scene.workspace_id, new_year)
    assert [row[0] for row in totals_per_day(db_conn, scene.workspace_id)] == [date(2026, 11, 19)]
    assert_rollup_equals_requests(db_conn, scene.workspace_id, new_year, first_day=date(2026, 1, 1))
    # more history kept: the older days come back on the next refresh
    history_years.setenv("HALTON_ROLLUP_HISTORY_YEARS", "3")
    rollup_settings.cache_clear()
    refresh_workspace(db_conn, scene.workspace_id, new_year + DAY)
    assert_rollup_equals_requests(db_conn, scene.workspace_id, new_year + DAY)
    assert len(totals_per_day(db_conn, scene.workspace_id)) == 4


def test_a_bad_history_setting_stops_the_rollup_naming_it(db_conn: Conn, history_years: pytest.MonkeyPatch) -> None:
    history_years.setenv("HALTON_ROLLUP_HISTORY_YEARS", "0")
    with pytest.raises(ConfigError, match="HALTON_ROLLUP_HISTORY_YEARS: Input should be greater than or equal to 1"):
        rollup_settings()


def test_a_rollup_built_by_the_30_day_window_gets_its_older_days_on_its_next_refresh(db_conn: Conn) -> None:
    """What migration 0011 does with the state the 30-day rollup left: its first refresh built a window
    from 45 days back, later ones kept only the last 30 days current, older days missed their late rows."""
    scene = make_workspace(db_conn)
    fill(db_conn, scene, window_start(AS_OF) - 60 * DAY, 91)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    first_built = AS_OF.date() - 45 * DAY
    for table in ("daily_spend", "daily_totals"):  # never built by the 30-day rollup
        db_conn.execute(f"delete from analysis.{table} where day < %s", (first_built,))
    # synced before that refresh, for a day that had left its window: the 30-day rollup never saw it
    add_request(db_conn, scene, AS_OF - 40 * DAY, cost_nanos=3_000_000_000, synced_at=AS_OF - DAY)
    # the state as the rollup of then left it: built up to as_of's day, exclusive
    db_conn.execute("delete from analysis.daily_spend where day >= %s", (AS_OF.date(),))
    db_conn.execute("delete from analysis.daily_totals where day >= %s", (AS_OF.date(),))
    db_conn.execute("update analysis.rollup_state set window_start = %s, window_end = %s", (first_built, AS_OF.date()))

    migration = next(m for m in bundled_migrations() if m.version == "0011")
    db_conn.execute(migration.sql.encode())
    assert db_conn.execute("select window_start from analysis.rollup_state").fetchone() == (AS_OF.date() - 30 * DAY,)
    refresh_workspace(db_conn, scene.workspace_id, AS_OF + DAY)
    assert assert_rollup_equals_requests(db_conn, scene.workspace_id, AS_OF + DAY) == 91
