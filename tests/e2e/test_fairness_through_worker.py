"""Issue 18 item 2's acceptance: with one worker started with its defaults (`halton-workers worker --concurrency 2`,
no --queues), a fan-out that meets a few large workspaces first and many small ones after finishes every small one
before any large one. "Large" is set low here (HALTON_HEAVY_WORKSPACE_REQUESTS) so that a large workspace is tens
of thousands of rows, not millions: the routing is the same, the test stays quick.

What makes it hold (docs/DESIGN.md, "Fairness"): the fan-out sends small workspaces first and large ones to the
heavy queue at the lowest priority; a slot takes one message at a time and polls every queue's high priority
before any low one, so no slot starts a large refresh while a small one waits. Then the last small one to
start is running when the first large one starts, and being small, finishes first."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.test_refresh_through_worker import AS_OF
from tests.e2e.worker_process import WorkerProcess, dashboard_client, enqueue
from tests.factories import Conn, add_request, make_workspace

pytestmark = pytest.mark.e2e

LARGE, SMALL = 2, 8  # workspaces (the acceptance says hundreds of small ones: the order is the same)
LARGE_ROWS, SMALL_ROWS = 30_000, 6  # requests each, in the refresh's 30-day window
THRESHOLD = 1_000  # HALTON_HEAVY_WORKSPACE_REQUESTS for the test


def seed_large(conn: Conn, slug: str) -> int:
    """LARGE_ROWS requests over the 30 days before AS_OF, 400 distinct prompts (clustering has work to do)."""
    scene = make_workspace(conn, slug)
    conn.execute(
        """insert into meter.requests (workspace_id, device_id, project_id, attribution_tier, provider, model,
               started_at, status_code, service_tier, input_tokens, output_tokens, cost_nanos, rates_version,
               prompt_hash, synced_at)
           select %(ws)s, %(device)s, %(project)s, 'header', 'anthropic', 'claude-sonnet-4-6',
                  %(as_of)s - g * %(step)s, 200, 'standard', 1000 + g %% 97, 100, 1000000 + g, 'test',
                  md5((g %% 400)::text), %(as_of)s - g * %(step)s + interval '30 seconds'
             from generate_series(1, %(rows)s) g""",
        {"ws": scene.workspace_id, "device": scene.device_ids[0], "project": scene.project_ids[0], "as_of": AS_OF,
         "step": timedelta(days=29) / LARGE_ROWS, "rows": LARGE_ROWS})
    return scene.workspace_id


def seed_small(conn: Conn, slug: str) -> int:
    scene = make_workspace(conn, slug, projects=1, devices=1)
    for n in range(SMALL_ROWS):
        add_request(conn, scene, AS_OF - timedelta(days=1 + n, hours=n), cost_nanos=2_000_000 + n)
    return scene.workspace_id


def seed_fleet(conn: Conn) -> tuple[list[int], list[int]]:
    """The large workspaces first (the lowest ids: the fan-out meets them first), then the small ones."""
    large = [seed_large(conn, f"large-{n}") for n in range(LARGE)]
    small = [seed_small(conn, f"small-{n}") for n in range(SMALL)]
    return large, small


def wait_for_refreshes(conn: Conn, count: int, worker: WorkerProcess, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute("select count(*) from analysis.runs where job = 'alerts' and status <> 'running'").fetchone()
        if row is not None and row[0] >= count:
            return
        time.sleep(0.25)
    raise AssertionError(f"fewer than {count} refreshes finished within {timeout}s:\n{worker.log()[-4000:]}")


def refresh_times(conn: Conn) -> dict[int, tuple[datetime, datetime]]:
    """Per workspace: when its refresh started (its first stage's run) and finished (its last stage's)."""
    rows = conn.execute(
        """select workspace_id, min(started_at) filter (where job = 'rollup'),
                  max(finished_at) filter (where job = 'alerts')
             from analysis.runs group by workspace_id""").fetchall()
    return {int(ws): (started, finished) for ws, started, finished in rows}


def assert_small_ones_first(conn: Conn, large: list[int], small: list[int]) -> None:
    statuses = conn.execute("select job, status, count(*) from analysis.runs group by 1, 2").fetchall()
    assert all(status == "succeeded" for _, status, _ in statuses), statuses
    times = refresh_times(conn)
    assert set(times) == set(large) | set(small)
    # no slot started a large refresh while a small one waited ...
    assert max(times[ws][0] for ws in small) < min(times[ws][0] for ws in large)
    # ... so every small one finished before any large one did
    assert max(times[ws][1] for ws in small) < min(times[ws][1] for ws in large)


def test_a_default_worker_finishes_every_small_workspace_before_any_large_one(
        db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    large, small = seed_fleet(db_conn)
    env = {**fleet_env, "HALTON_HEAVY_WORKSPACE_REQUESTS": str(THRESHOLD)}
    worker = WorkerProcess.start_with_defaults(env, tmp_path / "worker.log")
    try:
        fanout = enqueue(dashboard_client(env), env, "halton.nightly_fanout", as_of=AS_OF.isoformat())
        outcome = fanout.get(timeout=120)
        wait_for_refreshes(db_conn, LARGE + SMALL, worker)
    finally:
        worker.stop()
    assert outcome["workspaces"] == LARGE + SMALL and outcome["heavy"] == LARGE
    assert_small_ones_first(db_conn, large, small)


def test_large_refreshes_queued_before_the_small_ones_still_run_after_them(
        db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    """The messages already in Redis when the worker starts, the large ones first (as the fan-out sends them:
    heavy queue, lowest priority), then the small ones as the dashboard sends a refresh (no priority)."""
    from workers.app.queues import HEAVY_PRIORITY

    large, small = seed_fleet(db_conn)
    client = dashboard_client(fleet_env)
    for workspace_id in large:
        client.send_task("halton.refresh_workspace", kwargs={"workspace_id": workspace_id, "as_of": AS_OF.isoformat()},
                         queue=fleet_env["HALTON_QUEUE_HEAVY"], priority=HEAVY_PRIORITY)
    for workspace_id in small:
        enqueue(client, fleet_env, "halton.refresh_workspace", workspace_id=workspace_id, as_of=AS_OF.isoformat())
    worker = WorkerProcess.start_with_defaults(fleet_env, tmp_path / "worker.log")
    try:
        wait_for_refreshes(db_conn, LARGE + SMALL, worker)
    finally:
        worker.stop()
    assert_small_ones_first(db_conn, large, small)
