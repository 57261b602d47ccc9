"""The dashboard's path: enqueue by task name on Redis, a real worker runs it, read analysis tables."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.worker_process import WorkerProcess, dashboard_client, enqueue
from tests.factories import Conn, add_request, make_workspace

pytestmark = pytest.mark.e2e

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def seed_days(conn: Conn, slug: str, days: int = 5) -> int:
    scene = make_workspace(conn, slug)
    for d in range(1, days + 1):
        for hour in range(0, 24, 3):
            add_request(conn, scene, AS_OF - d * timedelta(days=1) + timedelta(hours=hour), project=hour % 2,
                        cost_nanos=10_000_000 + d * 7 + hour)
    return scene.workspace_id


def wait_for_runs(conn: Conn, count: int, timeout: float = 60) -> list[tuple[object, ...]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = conn.execute(
            "select workspace_id, status, error from analysis.runs where job = 'alerts' and status <> 'running'"
        ).fetchall()
        if len(rows) >= count:
            return rows
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} refreshes (their last stage) finished within {timeout}s")


def test_refresh_enqueued_by_name_fills_the_rollup(db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    workspace_id = seed_days(db_conn, "acme")
    worker = WorkerProcess.start(fleet_env, tmp_path / "worker.log")
    try:
        result = enqueue(dashboard_client(fleet_env), fleet_env, "halton.refresh_workspace",
                         workspace_id=workspace_id, as_of=AS_OF.isoformat())
        outcome = result.get(timeout=60)
    finally:
        worker.stop()
    assert outcome["status"] == "succeeded"
    stages = db_conn.execute("select job, status from analysis.runs order by id").fetchall()
    assert stages == [("rollup", "succeeded"), ("clustering", "succeeded"), ("checks", "succeeded"),
                      ("savings", "succeeded"), ("alerts", "succeeded")]
    logged = db_conn.execute("select count(*), sum(cost_nanos) from meter.requests").fetchone()
    rolled = db_conn.execute("select sum(requests), sum(cost_nanos) from analysis.daily_spend").fetchone()
    assert rolled == logged


def test_nightly_fanout_refreshes_every_workspace(db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    ids = [seed_days(db_conn, slug, days=2) for slug in ("alpha", "beta", "gamma")]
    worker = WorkerProcess.start(fleet_env, tmp_path / "worker.log")
    try:
        fanout = enqueue(dashboard_client(fleet_env), fleet_env, "halton.nightly_fanout", as_of=AS_OF.isoformat())
        assert fanout.get(timeout=60)["workspaces"] == 3
        runs = wait_for_runs(db_conn, 3)
    finally:
        worker.stop()
    assert sorted(runs) == sorted((ws, "succeeded", None) for ws in ids)


def test_an_unknown_workspace_fails_the_task_without_a_retry(db_conn: Conn, fleet_env: dict[str, str],
                                                              tmp_path: Path) -> None:
    worker = WorkerProcess.start(fleet_env, tmp_path / "worker.log")
    try:
        result = enqueue(dashboard_client(fleet_env), fleet_env, "halton.refresh_workspace", workspace_id=4242,
                         as_of=AS_OF.isoformat())
        with pytest.raises(Exception, match="no workspace with id 4242"):
            result.get(timeout=60)
    finally:
        worker.stop()
    assert "Retry in" not in worker.log()
    assert db_conn.execute("select count(*) from analysis.runs").fetchone() == (0,)


def test_each_queue_is_bound_to_its_own_routing_key_only(fleet_env: dict[str, str], tmp_path: Path) -> None:
    """Queues sharing one exchange and key would get a copy of every message each (kombu's Redis
    transport keeps the bindings as sets named _kombu.binding.<exchange>)."""
    import redis

    worker = WorkerProcess.start(fleet_env, tmp_path / "worker.log")  # declares the queues and bindings
    try:
        broker = redis.Redis.from_url(fleet_env["REDIS_URL"])
        names = [fleet_env[f"HALTON_QUEUE_{family}"] for family in ("ANALYSIS", "BILLING", "PDF")]
        bound = {name: {str(member, "utf-8") if isinstance(member, bytes) else member
                        for member in broker.smembers(f"_kombu.binding.{name}")} for name in names}
        bound = {name: {member.split("\x06\x16")[-1] for member in members} for name, members in bound.items()}
    finally:
        worker.stop()
    assert bound == {name: {name} for name in names}
