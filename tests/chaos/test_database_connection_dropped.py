"""The database drops the worker's connection mid-refresh: the task retries on a fresh connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.chaos.test_worker_killed_mid_refresh import wait_until
from tests.e2e.worker_process import WorkerProcess, dashboard_client, enqueue
from tests.factories import Conn, add_request, make_workspace

pytestmark = pytest.mark.chaos

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 20, tzinfo=UTC)


def test_a_dropped_connection_is_retried_and_the_refresh_completes(
    db_conn: Conn, database_url: str, fleet_env: dict[str, str], tmp_path: Path
) -> None:
    scene = make_workspace(db_conn)
    for d in range(1, 11):
        add_request(db_conn, scene, MIDNIGHT - d * timedelta(days=1), cost_nanos=7_000_000 + d)

    blocker = psycopg.connect(database_url)
    blocker.execute("lock table analysis.daily_spend in exclusive mode")
    worker = WorkerProcess.start(fleet_env, tmp_path / "worker.log")
    try:
        result = enqueue(dashboard_client(fleet_env), fleet_env, "halton.refresh_workspace",
                         workspace_id=scene.workspace_id, as_of=AS_OF.isoformat())
        wait_until(lambda: db_conn.execute(
            """select count(*) from pg_stat_activity
               where datname = current_database()
                 and application_name = 'halton-worker' and wait_event_type = 'Lock'""").fetchone() == (1,),
            30, "the refresh to block on the rollup table")
        db_conn.execute(
            """select pg_terminate_backend(pid) from pg_stat_activity
               where datname = current_database()
                 and application_name = 'halton-worker' and wait_event_type = 'Lock'""")
        blocker.rollback()
        outcome = result.get(timeout=90)
    finally:
        blocker.close()
        worker.stop()

    assert outcome["status"] == "succeeded"
    assert "Retry in" in worker.log()
    runs = db_conn.execute("select status, error from analysis.runs where job = 'rollup' order by id").fetchall()
    assert runs[-1] == ("succeeded", None)
    assert all(status == "failed" for status, _ in runs[:-1])
    logged = db_conn.execute("select count(*), sum(cost_nanos) from meter.requests").fetchone()
    assert db_conn.execute("select sum(requests), sum(cost_nanos) from analysis.daily_spend").fetchone() == logged
