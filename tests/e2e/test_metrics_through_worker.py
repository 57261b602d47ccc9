"""Issue 18's acceptance: a real worker (prefork: the tasks run in a pool child, the port is the parent's)
started with HALTON_METRICS_PORT serves /metrics, and after a fan-out the scrape counts the refreshes."""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_refresh_through_worker import AS_OF, seed_days, wait_for_runs
from tests.e2e.worker_process import WorkerProcess, dashboard_client, enqueue
from tests.factories import Conn

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def scrape_until_counted(port: int, refreshes: int, timeout: float = 30) -> Samples:
    """The task's success is counted just after its result is stored: scrape until it is there."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(port)
        counted = value(samples, "halton_tasks_total", task="halton.refresh_workspace", outcome="succeeded")
        if (counted or 0) >= refreshes or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


def test_a_worker_serves_metrics_that_count_the_fanouts_refreshes(db_conn: Conn, fleet_env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    ids = [seed_days(db_conn, slug, days=2) for slug in ("alpha", "beta", "gamma")]
    port = free_port()
    env = {**fleet_env, "HALTON_METRICS_PORT": str(port)}
    worker = WorkerProcess.start(env, tmp_path / "worker.log")
    try:
        fanout = enqueue(dashboard_client(env), env, "halton.nightly_fanout", as_of=AS_OF.isoformat())
        assert fanout.get(timeout=60)["workspaces"] == len(ids)
        wait_for_runs(db_conn, len(ids))
        samples = scrape_until_counted(port, len(ids))
    finally:
        worker.stop()
    assert value(samples, "halton_tasks_total", task="halton.refresh_workspace", outcome="succeeded") == len(ids)
    assert value(samples, "halton_tasks_total", task="halton.nightly_fanout", outcome="succeeded") == 1
    assert value(samples, "halton_task_seconds_count", task="halton.refresh_workspace") == len(ids)
    for stage in ("rollup", "forecast", "clustering", "checks", "savings", "alerts"):
        assert value(samples, "halton_stage_seconds_count", stage=stage) == len(ids), stage
    logged = db_conn.execute("select count(*) from meter.requests").fetchone()
    assert logged is not None
    # the rollup's rows written, and clustering's requests aggregated: every request of the three workspaces
    assert (value(samples, "halton_rows_processed_total", stage="rollup") or 0) > 0
    assert value(samples, "halton_rows_processed_total", stage="clustering") == logged[0]
    assert value(samples, "halton_queue_length", queue=env["HALTON_QUEUE_ANALYSIS"]) == 0
    assert value(samples, "halton_metrics_source_up", source="redis") == 1
    assert value(samples, "halton_metrics_source_up", source="postgres") == 1
    lag = value(samples, "halton_refresh_lag_seconds")
    assert lag is not None and lag >= 0
