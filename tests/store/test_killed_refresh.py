"""A refresh killed by its hard time limit: the worker's parent closes the killed stage's run and writes
the skipped rows of the stages that needed it, as the refresh itself would have after a failed stage."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from celery.exceptions import TimeLimitExceeded

from store import claims, report_writes
from store.claims import RunSpec
from store.runs import ClosedRun
from tests.conftest import TEST_ROLES
from tests.factories import Conn, add_request, make_workspace
from tests.store.report_scene import insert_request, make_report_scene
from workers.jobs.pipeline import STAGE_NAMES, run_pipeline, stage_named
from workers.runtime.embedded import as_role
from workers.settings import get_settings
from workers.tasks import base as taskbase

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
WORKER = "worker:killed-host"
UNREACHABLE = "postgresql://nobody@127.0.0.1:9/none"


@pytest.fixture
def parent_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """What the worker's parent process has: the settings (its database, as the fleet's role, under row-level
    security), and no wait for a kill that a test does not make."""
    monkeypatch.setenv("DATABASE_URL", as_role(database_url, TEST_ROLES.fleet))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")
    monkeypatch.setattr(taskbase, "KILL_GRACE", 0.0)
    get_settings.cache_clear()
    try:
        yield
    finally:
        get_settings.cache_clear()


def registered(name: str) -> Any:
    """The task as the worker has it, looked up inside a test: a task imported at module level is made
    (and annotated with its time limits) while pytest collects, before any test set the environment,
    and would stay without its limits for the rest of the run."""
    from workers.app.celery import app

    app.loader.import_default_modules()
    return app.tasks[name]


def seeded_workspace(conn: Conn) -> int:
    scene = make_workspace(conn)
    for day in range(5):
        add_request(conn, scene, AS_OF - timedelta(days=day + 1, hours=3), cost_nanos=1_000_000 * (day + 1))
    return scene.workspace_id


def leave_running(conn: Conn, workspace_id: int, stage: str, task_id: str, attempt: int = 0) -> int:
    """What the killed child leaves: the stage's run still 'running' under the task's id."""
    start, end = stage_named(stage).window(AS_OF)
    return claims.open_run(conn, RunSpec(job=stage, workspace_id=workspace_id, as_of=AS_OF, window_start=start,
                                         window_end=end, lock_scope="workspace", task_id=task_id, worker=WORKER,
                                         attempt=attempt))


def hit_hard_limit(task: Any, task_id: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    """What Celery does in the parent when the hard time limit fires; wait for the closing thread."""
    task.on_failure(TimeLimitExceeded(1800), task_id, args, kwargs, None)
    for thread in threading.enumerate():
        if thread.name == f"close-runs-{task_id}":
            thread.join(timeout=30)
            assert not thread.is_alive(), "closing the killed task's runs did not finish"


def runs(conn: Conn, after: int = 0) -> list[tuple[Any, ...]]:
    return conn.execute("select job, status, failure_kind, error from analysis.runs where id > %s order by id",
                        (after,)).fetchall()


@pytest.mark.usefixtures("parent_env")
def test_a_refresh_killed_in_clustering_leaves_skipped_rows_for_the_stages_that_need_it(db_conn: Conn) -> None:
    ws = seeded_workspace(db_conn)
    run_pipeline(db_conn, ws, AS_OF, only="rollup", task_id="t-killed", attempt=2, worker=WORKER)
    leave_running(db_conn, ws, "clustering", "t-killed", attempt=2)

    hit_hard_limit(registered("halton.refresh_workspace"), "t-killed", [],
                   {"workspace_id": ws, "as_of": AS_OF.isoformat()})

    found = runs(db_conn)
    assert [row[:3] for row in found] == [("rollup", "succeeded", None), ("clustering", "failed", "timeout"),
                                          ("checks", "failed", "skipped"), ("savings", "failed", "skipped")]
    assert found[1][3].startswith("hard time limit")
    assert found[2][3] == "skipped because clustering timed out (hard time limit)"
    assert found[3][3] == "skipped because checks skipped"  # as a failed stage's dependants say it


@pytest.mark.usefixtures("parent_env")
def test_the_skipped_rows_of_a_killed_refresh_carry_its_moment_task_and_windows(db_conn: Conn) -> None:
    ws = seeded_workspace(db_conn)
    leave_running(db_conn, ws, "rollup", "t-killed", attempt=1)

    hit_hard_limit(registered("halton.refresh_workspace"), "t-killed", [ws, AS_OF.isoformat()], {})

    rows = db_conn.execute(
        """select job, as_of, window_start, window_end, task_id, worker, attempt, replay from analysis.runs
           where failure_kind = 'skipped' order by id""").fetchall()
    # every stage after the rollup but the alerts, which need no stage before them
    assert [row[0] for row in rows] == [name for name in STAGE_NAMES[1:] if name != "alerts"]
    for job, as_of, start, end, task_id, worker, attempt, replay in rows:
        assert (as_of, (start, end)) == (AS_OF, stage_named(job).window(AS_OF))
        assert (task_id, worker, attempt, replay) == ("t-killed", WORKER, 1, False)
    assert [row[3] for row in runs(db_conn)][1] == "skipped because rollup timed out (hard time limit)"


@pytest.mark.usefixtures("parent_env")
def test_a_refresh_killed_in_its_last_stage_leaves_no_skipped_row(db_conn: Conn) -> None:
    ws = seeded_workspace(db_conn)
    leave_running(db_conn, ws, "savings", "t-killed")
    hit_hard_limit(registered("halton.refresh_workspace"), "t-killed", [], {"workspace_id": ws})
    assert [row[:3] for row in runs(db_conn)] == [("savings", "failed", "timeout")]


@pytest.mark.parametrize(("args", "kwargs"), [([], {"stage": "clustering"}), ([None, False, "clustering"], {})],
                         ids=["stage-by-keyword", "stage-by-position"])
@pytest.mark.usefixtures("parent_env")
def test_a_killed_single_stage_refresh_leaves_no_skipped_rows(db_conn: Conn, args: list[Any],
                                                              kwargs: dict[str, Any]) -> None:
    ws = seeded_workspace(db_conn)
    leave_running(db_conn, ws, "clustering", "t-one-stage")
    hit_hard_limit(registered("halton.refresh_workspace"), "t-one-stage", [ws, *args], kwargs)
    assert [row[:3] for row in runs(db_conn)] == [("clustering", "failed", "timeout")]


@pytest.mark.usefixtures("parent_env")
def test_a_killed_report_task_leaves_no_pipeline_rows(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)  # its refresh leaves runs of every stage
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    report_run = claims.open_run(db_conn, RunSpec(job="report", workspace_id=scene.workspace_id, as_of=AS_OF,
                                     lock_scope=report_writes.request_scope(request), task_id="t-report"))
    report_writes.mark_running(db_conn, request, scene.workspace_id)

    hit_hard_limit(registered("halton.render_report"), "t-report", [], {"request_id": request})

    assert [row[:3] for row in runs(db_conn, after=report_run - 1)] == [("report", "failed", "timeout")]
    # the report task's own hook fails the report it was rendering, found by the task's request_id argument
    status, error, *_ = report_writes.report_row(db_conn, request, scene.workspace_id) or ()
    assert status == "failed" and error.startswith("hard time limit")


@pytest.mark.usefixtures("parent_env")
def test_a_hook_that_fails_after_the_kill_leaves_the_run_closed_and_raises_nothing(db_conn: Conn) -> None:
    ws = seeded_workspace(db_conn)
    leave_running(db_conn, ws, "clustering", "t-killed")

    def broken(conn: Conn, closed: list[ClosedRun]) -> None:
        raise RuntimeError("the hook exploded")

    taskbase.close_runs_after_hard_limit("t-killed", 1800, after=broken)
    assert [row[:3] for row in runs(db_conn)] == [("clustering", "failed", "timeout")]


def test_a_parent_that_cannot_reach_the_database_raises_nothing(
        db_conn: Conn, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = seeded_workspace(db_conn)
    leave_running(db_conn, ws, "clustering", "t-killed")
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")
    get_settings.cache_clear()
    try:
        refresh = registered("halton.refresh_workspace")
        taskbase.close_runs_after_hard_limit(
            "t-killed", 1800, after=lambda conn, closed: refresh.after_hard_limit(conn, closed, {}))
    finally:
        get_settings.cache_clear()
    # the next claim of the stage marks it abandoned instead
    assert [row[:3] for row in runs(db_conn)] == [("clustering", "running", None)]
