"""Issue 18 item 2's memory bound: HALTON_WORKER_MAX_MEMORY_PER_CHILD reaches a real worker's pool, which
replaces a child that passed it after the child's task, and no task is lost or run twice for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_refresh_through_worker import AS_OF, seed_days, wait_for_runs
from tests.e2e.worker_process import WorkerProcess, dashboard_client, enqueue
from tests.factories import Conn

pytestmark = pytest.mark.e2e

RECYCLED = "child process exiting after exceeding memory limit"  # billiard's warning (its MAXMEM_USED_FMT)


def test_a_child_over_the_memory_ceiling_is_replaced_after_its_task_and_nothing_is_lost(
        db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    ids = [seed_days(db_conn, slug, days=2) for slug in ("alpha", "beta")]
    # 1 KiB: every child is over it after its first task, so each task runs in a fresh child
    env = {**fleet_env, "HALTON_WORKER_MAX_MEMORY_PER_CHILD": "1"}
    worker = WorkerProcess.start(env, tmp_path / "worker.log")
    try:
        fanout = enqueue(dashboard_client(env), env, "halton.nightly_fanout", as_of=AS_OF.isoformat())
        assert fanout.get(timeout=60)["workspaces"] == len(ids)
        runs = wait_for_runs(db_conn, len(ids), timeout=120)
    finally:
        worker.stop()
    log = worker.log()
    # the fan-out and the two refreshes each ended their child (the last one may still be on its way out)
    assert log.count(f"{RECYCLED} (") >= len(ids), log[-3000:]
    assert "1KiB)" in log
    # each workspace refreshed once, every stage succeeded: the recycling lost nothing and repeated nothing
    assert sorted(runs) == sorted((ws, "succeeded", None) for ws in ids)
    per_stage = db_conn.execute("select job, count(*), bool_and(status = 'succeeded') from analysis.runs "
                                "group by job").fetchall()
    assert {job: (count, ok) for job, count, ok in per_stage} == {
        job: (len(ids), True) for job in ("rollup", "forecast", "clustering", "checks", "savings", "alerts")}
