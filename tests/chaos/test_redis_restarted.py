"""Redis restarts under a running worker: the worker reconnects and takes the next task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import RunServers
from tests.e2e.worker_process import WorkerProcess, dashboard_client, enqueue
from tests.factories import Conn, add_request, make_workspace
from workers.runtime.embedded import start_redis

pytestmark = pytest.mark.chaos

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_a_worker_reconnects_after_redis_restarts(db_conn: Conn, servers: RunServers, fleet_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    if servers.local.redis is None:
        pytest.skip("REDIS_URL was given: the test run does not own that Redis and will not restart it")
    scene = make_workspace(db_conn)
    add_request(db_conn, scene, AS_OF - timedelta(days=1), cost_nanos=5_000_000)
    worker = WorkerProcess.start(fleet_env, tmp_path / "worker.log")
    try:
        port = servers.local.redis.port
        servers.local.redis.stop()
        servers.local.redis = start_redis(servers.root / "redis", port=port)  # stopped with the run
        result = enqueue(dashboard_client(fleet_env), fleet_env, "halton.refresh_workspace",
                         workspace_id=scene.workspace_id, as_of=AS_OF.isoformat())
        assert result.get(timeout=90)["status"] == "succeeded"
    finally:
        worker.stop()
    assert db_conn.execute("select sum(cost_nanos) from analysis.daily_spend").fetchone() == (5_000_000,)
