"""The runbook's drills (deploy/runbook.md, "Drills"; issue 18 item 7), each on a real worker serving /metrics
in the middle of a nightly fan-out: Redis restarted, the worker's Postgres connections dropped, a pool process
SIGKILLed as the OOM killer would. Each shows nothing lost (every workspace's refresh succeeds in the end, each
stage's latest run succeeded, the rollup exact without duplicates) and the metrics saying what happened.

"Mid-fan-out": the rollup table is locked, so the first refresh blocks inside its results transaction (its runs
open, its message unacknowledged) while the other workspaces' refreshes wait in the queue behind it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.chaos.test_worker_killed_mid_refresh import FAST_REDELIVERY, refresh_blocked, wait_until
from tests.e2e.test_metrics_through_worker import Samples, free_port, scrape, value
from tests.e2e.test_refresh_through_worker import AS_OF, seed_days
from tests.e2e.worker_process import WorkerProcess, dashboard_client, enqueue
from tests.factories import Conn
from workers.runtime.embedded import start_redis

pytestmark = pytest.mark.chaos

REFRESH = "halton.refresh_workspace"
STAGES = ("rollup", "forecast", "clustering", "checks", "savings", "alerts")
WORKSPACES = ("alpha", "beta")  # one blocked mid-refresh, one waiting in the queue behind it


def seed_fleet(conn: Conn) -> list[int]:
    return [seed_days(conn, slug, days=2) for slug in WORKSPACES]


def all_refreshed(conn: Conn, ids: list[int]) -> bool:
    """Every workspace's latest run of every stage succeeded."""
    rows = conn.execute(
        """select count(*) from (select distinct on (workspace_id, job) workspace_id, job, status
                                 from analysis.runs where job = any(%s) order by workspace_id, job, id desc) latest
           where status = 'succeeded'""", (list(STAGES),)).fetchone()
    return rows == (len(ids) * len(STAGES),)


def assert_nothing_lost(conn: Conn, ids: list[int]) -> None:
    assert all_refreshed(conn, ids)
    for workspace_id in ids:
        logged = conn.execute("select count(*), sum(cost_nanos) from meter.requests where workspace_id = %s",
                              (workspace_id,)).fetchone()
        rolled = conn.execute("select sum(requests), sum(cost_nanos) from analysis.daily_spend where workspace_id = %s",
                              (workspace_id,)).fetchone()
        assert rolled == logged, workspace_id
    duplicates = conn.execute(
        """select count(*) from (select 1 from analysis.daily_spend
           group by workspace_id, day, project_id, device_id, provider, model, service_tier
           having count(*) > 1) d""").fetchone()
    assert duplicates == (0,)


def scrape_until(port: int, done: object, timeout: float = 30) -> Samples:
    """A scrape once `done(samples)` holds (a count lands just after its task's result), or the last one."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(port)
        if done(samples) or time.monotonic() > deadline:  # type: ignore[operator]
            return samples
        time.sleep(0.2)


def counted(samples: Samples, outcome: str) -> float:
    return value(samples, "halton_tasks_total", task=REFRESH, outcome=outcome) or 0


@contextmanager
def mid_fanout(database_url: str, conn: Conn, env: dict[str, str], log: Path) -> Iterator[WorkerProcess]:
    """A worker (one pool process) with the fan-out enqueued and its first refresh blocked on the rollup table;
    the lock is released when the block ends, and the worker stopped after the test's checks."""
    blocker = psycopg.connect(database_url)
    blocker.execute("lock table analysis.daily_spend in exclusive mode")
    worker = WorkerProcess.start(env, log)
    try:
        try:
            enqueue(dashboard_client(env), env, "halton.nightly_fanout", as_of=AS_OF.isoformat())
            wait_until(lambda: refresh_blocked(conn), 60, "the first refresh to block on the rollup table")
            yield worker
        finally:
            blocker.rollback()
            blocker.close()
    except BaseException:
        worker.stop()
        raise


def test_drill_redis_restarted_mid_fanout(db_conn: Conn, database_url: str, fleet_env: dict[str, str],
                                          tmp_path: Path) -> None:
    """The broker restarts (appendonly, as production's) while a refresh runs and the rest wait in the queue:
    the worker reconnects, every refresh succeeds, none fails. A Redis of the test's own, so restarting it
    disturbs no one; short limits so a message unacknowledged across the restart comes back within seconds."""
    ids = seed_fleet(db_conn)
    redis = start_redis(tmp_path / "redis", appendonly=True)
    port = free_port()
    env = {**fleet_env, **FAST_REDELIVERY, "REDIS_URL": redis.url, "HALTON_METRICS_PORT": str(port)}
    try:
        with mid_fanout(database_url, db_conn, env, tmp_path / "worker.log") as worker:
            queued = scrape(port)
            assert (value(queued, "halton_queue_length", queue=env["HALTON_QUEUE_ANALYSIS"]) or 0) >= 1
            redis.stop()
            redis = start_redis(tmp_path / "redis", port=redis.port, appendonly=True)
        try:
            wait_until(lambda: all_refreshed(db_conn, ids), 120, "every workspace's refresh to succeed")
            samples = scrape_until(port, lambda s: counted(s, "succeeded") >= len(ids))
        finally:
            worker.stop()
    finally:
        redis.stop()
    assert_nothing_lost(db_conn, ids)
    assert "Connection to broker lost" in worker.log() or "Cannot connect to redis" in worker.log()
    assert counted(samples, "succeeded") >= len(ids)  # a message redelivered after the restart runs again, idly
    assert counted(samples, "failed") == 0
    assert value(samples, "halton_metrics_source_up", source="redis") == 1
    assert value(samples, "halton_queue_length", queue=env["HALTON_QUEUE_ANALYSIS"]) == 0


def test_drill_postgres_connections_dropped_mid_fanout(db_conn: Conn, database_url: str,
                                                       fleet_env: dict[str, str], tmp_path: Path) -> None:
    """pg_terminate_backend on every connection of the worker (the blocked refresh's and the idle pooled ones):
    the blocked refresh fails on a connection error and is retried, the others get fresh connections; every
    refresh succeeds, and the metrics count the retry and no failure."""
    ids = seed_fleet(db_conn)
    port = free_port()
    env = {**fleet_env, "HALTON_METRICS_PORT": str(port)}
    with mid_fanout(database_url, db_conn, env, tmp_path / "worker.log") as worker:
        dropped = db_conn.execute("""select count(pg_terminate_backend(pid)) from pg_stat_activity
                                     where datname = current_database()
                                       and application_name = 'halton-worker'""").fetchone()
        assert dropped is not None and dropped[0] >= 1
    try:
        wait_until(lambda: all_refreshed(db_conn, ids), 120, "every workspace's refresh to succeed")
        samples = scrape_until(port, lambda s: counted(s, "succeeded") >= len(ids))
    finally:
        worker.stop()
    assert_nothing_lost(db_conn, ids)
    assert counted(samples, "retried") >= 1
    assert counted(samples, "failed") == 0
    assert counted(samples, "succeeded") == len(ids)
    failed = db_conn.execute("select count(*) from analysis.runs where job = 'rollup' and status = 'failed'").fetchone()
    assert failed is not None and failed[0] >= 1  # the dropped one's run, failed or abandoned, then replaced


def test_drill_pool_process_killed_mid_fanout(db_conn: Conn, database_url: str, fleet_env: dict[str, str],
                                              tmp_path: Path) -> None:
    """SIGKILL the pool process running a refresh (what the OOM killer does): the worker's parent gives the task
    back (counted as retried), a new pool process runs it and the queued ones; the dead one's run is closed as
    abandoned, every refresh succeeds, nothing fails."""
    ids = seed_fleet(db_conn)
    port = free_port()
    env = {**fleet_env, "HALTON_METRICS_PORT": str(port)}
    with mid_fanout(database_url, db_conn, env, tmp_path / "worker.log") as worker:
        (child,) = psutil.Process(worker.process.pid).children()
        child.kill()
        child.wait(10)
    try:
        wait_until(lambda: all_refreshed(db_conn, ids), 120, "every workspace's refresh to succeed")
        samples = scrape_until(port, lambda s: counted(s, "succeeded") >= len(ids))
    finally:
        worker.stop()
    assert_nothing_lost(db_conn, ids)
    assert "exited with 'signal 9 (SIGKILL)'" in worker.log()
    # one for the task the parent gave back, and one per retry of its redelivery while the dead one's lock lingered
    assert counted(samples, "retried") == 1 + worker.log().count("retry: Retry in")
    assert counted(samples, "failed") == 0
    assert counted(samples, "succeeded") == len(ids)
    abandoned = db_conn.execute("""select count(*) from analysis.runs
                                   where job = 'rollup' and failure_kind = 'abandoned'""").fetchone()
    assert abandoned == (1,)
