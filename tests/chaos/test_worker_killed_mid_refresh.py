"""SIGKILL a worker in the middle of a refresh: the task comes back and completes, exactly once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.conftest import RunServers
from tests.e2e.worker_process import WorkerProcess, dashboard_client, enqueue
from tests.factories import Conn, add_request, make_workspace

pytestmark = pytest.mark.chaos

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 20, tzinfo=UTC)  # the 30-day window ends here
# Short limits so Redis gives the unacknowledged task back within seconds; the visibility timeout
# still exceeds the longest hard limit, as the settings insist.
FAST_REDELIVERY = {
    "HALTON_LIMIT_ANALYSIS_SOFT": "15", "HALTON_LIMIT_ANALYSIS_HARD": "20",
    "HALTON_LIMIT_BILLING_SOFT": "15", "HALTON_LIMIT_BILLING_HARD": "20",
    "HALTON_LIMIT_PDF_SOFT": "15", "HALTON_LIMIT_PDF_HARD": "20",
    "HALTON_LIMIT_FANOUT_SOFT": "15", "HALTON_LIMIT_FANOUT_HARD": "20",
    "HALTON_VISIBILITY_TIMEOUT": "22",
    "HALTON_UNACKED_RESTORE_INTERVAL": "2",
}


def wait_until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def seed_month(conn: Conn) -> int:
    scene = make_workspace(conn)
    for d in range(1, 31):
        for hour in range(0, 24, 2):
            add_request(conn, scene, MIDNIGHT - d * timedelta(days=1) + timedelta(hours=hour), project=hour % 2,
                        device=d % 2, cost_nanos=3_000_000 + d * 11 + hour)
    return scene.workspace_id


def refresh_blocked(conn: Conn) -> bool:
    row = conn.execute("""select count(*) from pg_stat_activity
                          where datname = current_database()
                            and application_name = 'halton-worker' and wait_event_type = 'Lock'""").fetchone()
    return row == (1,)


def assert_rollup_exact_without_duplicates(conn: Conn) -> None:
    logged = conn.execute("select count(*), sum(cost_nanos) from meter.requests").fetchone()
    rolled = conn.execute("select sum(requests), sum(cost_nanos) from analysis.daily_spend").fetchone()
    assert rolled == logged
    duplicates = conn.execute(
        """select count(*) from (select 1 from analysis.daily_spend
           group by workspace_id, day, project_id, device_id, provider, model, service_tier
           having count(*) > 1) d""").fetchone()
    assert duplicates == (0,)


def test_killed_worker_task_is_redelivered_and_completes_once(
    db_conn: Conn, database_url: str, servers: RunServers, fleet_env: dict[str, str], tmp_path: Path
) -> None:
    if servers.local.redis is None:
        pytest.skip("REDIS_URL was given: the fast redelivery sweep would also restore other apps' tasks")
    env = {**fleet_env, **FAST_REDELIVERY}
    workspace_id = seed_month(db_conn)

    # Hold the rollup table so the refresh blocks inside its results transaction: mid-task, run open.
    blocker = psycopg.connect(database_url)
    blocker.execute("lock table analysis.daily_spend in exclusive mode")
    first = WorkerProcess.start(env, tmp_path / "first.log")
    try:
        enqueue(dashboard_client(env), env, "halton.refresh_workspace", workspace_id=workspace_id,
                as_of=AS_OF.isoformat())
        wait_until(lambda: refresh_blocked(db_conn), 30, "the refresh to block on the rollup table")
        first.kill()
    finally:
        blocker.rollback()
        blocker.close()
        if first.process.poll() is None:
            first.stop()

    # Nothing half-written is visible: the killed run is still 'running' and wrote no rollup rows.
    wait_until(lambda: db_conn.execute(
        "select count(*) from pg_stat_activity where datname = current_database() "
        "and application_name = 'halton-worker'").fetchone() == (0,),
        15, "the killed worker's session to end")
    assert db_conn.execute("select status from analysis.runs where job = 'rollup'").fetchall() == [("running",)]
    assert db_conn.execute("select count(*) from analysis.daily_spend").fetchone() == (0,)

    second = WorkerProcess.start(env, tmp_path / "second.log")
    try:
        wait_until(lambda: db_conn.execute(
            "select count(*) from analysis.runs where job = 'rollup' and status = 'succeeded'").fetchone() == (1,),
            90, "the redelivered refresh to succeed")
        # a second restore of the same message could only come after another visibility timeout
        time.sleep(int(FAST_REDELIVERY["HALTON_VISIBILITY_TIMEOUT"]) + 3)
    finally:
        second.stop()

    runs = db_conn.execute("select status, error from analysis.runs where job = 'rollup' order by id").fetchall()
    assert len(runs) == 2
    assert runs[0][0] == "failed" and runs[0][1].startswith("abandoned")
    assert runs[1] == ("succeeded", None)
    assert_rollup_exact_without_duplicates(db_conn)


def test_a_killed_pool_child_gives_the_task_back_at_once(
    db_conn: Conn, database_url: str, fleet_env: dict[str, str], tmp_path: Path
) -> None:
    """The parent survives, so reject-on-worker-lost requeues the message immediately (no visibility wait);
    the redelivery finds the dead child's lock for a moment, retries, and completes."""
    workspace_id = seed_month(db_conn)
    blocker = psycopg.connect(database_url)
    blocker.execute("lock table analysis.daily_spend in exclusive mode")
    worker = WorkerProcess.start(fleet_env, tmp_path / "worker.log")
    try:
        result = enqueue(dashboard_client(fleet_env), fleet_env, "halton.refresh_workspace",
                         workspace_id=workspace_id, as_of=AS_OF.isoformat())
        wait_until(lambda: refresh_blocked(db_conn), 30, "the refresh to block on the rollup table")
        (child,) = psutil.Process(worker.process.pid).children()
        child.kill()
        blocker.rollback()
        wait_until(lambda: db_conn.execute(
            "select count(*) from analysis.runs where job = 'rollup' and status = 'succeeded'").fetchone() == (1,),
            90, "the requeued refresh to succeed")
    finally:
        blocker.close()
        worker.stop()
    del result
    runs = db_conn.execute(
        "select status, left(error, 10) from analysis.runs where job = 'rollup' order by id").fetchall()
    assert runs[-1] == ("succeeded", None)
    assert ("failed", "abandoned:") in runs
    assert_rollup_exact_without_duplicates(db_conn)
