"""The nightly pipeline: one run per stage, a failing stage on its own, dependants skipped."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import UserError
from store.runs import FAULT_OF_OURS, Run
from tests.factories import Conn, add_request, logged_failure, make_workspace, table_rows
from workers import jobs
from workers.jobs.pipeline import STAGE_NAMES, STAGES, run_pipeline
from workers.jobs.stage import StageContext

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def seeded_workspace(conn: Conn) -> int:
    scene = make_workspace(conn)
    for day in range(5):
        add_request(conn, scene, AS_OF - timedelta(days=day + 1, hours=3), cost_nanos=1_000_000 * (day + 1))
    return scene.workspace_id


def broken_clustering(ctx: StageContext, run: Run) -> None:
    with run.results() as tx:
        tx.execute("insert into analysis.prompt_clusters (workspace_id, prompt_hash, window_end, requests, devices,"
                   " projects, first_at, last_at, cost_nanos, duplicate_requests, avoidable_nanos, kinds)"
                   " values (%s, 'half', now(), 2, 1, 1, now(), now(), 1, 1, 1, '{}')", (ctx.workspace_id,))
        raise RuntimeError("the clustering exploded half-way")


def test_the_stages_run_in_order_each_with_a_run_of_its_own(db_conn: Conn) -> None:
    ws = seeded_workspace(db_conn)
    outcome = jobs.refresh_workspace(db_conn, ws, AS_OF)
    assert outcome.status == "succeeded"
    assert STAGE_NAMES == ("rollup", "forecast", "clustering", "checks", "savings", "alerts")
    runs = db_conn.execute("select job, status, failure_kind from analysis.runs order by id").fetchall()
    assert runs == [(name, "succeeded", None) for name in STAGE_NAMES]


def test_a_failing_stage_fails_alone_and_its_dependants_are_skipped(db_conn: Conn,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    ws = seeded_workspace(db_conn)
    stages = tuple(replace(s, run=broken_clustering) if s.name == "clustering" else s for s in STAGES)
    outcome = run_pipeline(db_conn, ws, AS_OF, stages=stages)

    assert [(s.stage, s.status) for s in outcome.stages] == [
        ("rollup", "succeeded"), ("forecast", "succeeded"), ("clustering", "failed"), ("checks", "skipped"),
        # the alerts need no stage before them: a loop is caught on a bad night too
        ("savings", "skipped"), ("alerts", "succeeded")]
    assert isinstance(outcome.first_error, RuntimeError)
    runs = db_conn.execute("select job, status, failure_kind, error, error_ref from analysis.runs order by id"
                           ).fetchall()
    assert runs[0][:3] == ("rollup", "succeeded", None)
    assert runs[1][:3] == ("forecast", "succeeded", None)
    assert runs[2][:4] == ("clustering", "failed", "error", FAULT_OF_OURS)
    assert "RuntimeError: the clustering exploded half-way" in logged_failure(caplog, runs[2][4])
    runs = [row[:4] for row in runs]
    assert runs[3] == ("checks", "failed", "skipped", "skipped because clustering failed")
    assert runs[4] == ("savings", "failed", "skipped", "skipped because checks skipped")
    # the rollup's rows are intact and nothing of the failed stage is visible
    logged = db_conn.execute("select count(*), sum(cost_nanos) from meter.requests").fetchone()
    assert db_conn.execute("select sum(requests), sum(cost_nanos) from analysis.daily_spend").fetchone() == logged
    assert table_rows(db_conn, "analysis.prompt_clusters", "prompt_hash") == []


def test_the_outcome_says_failed_and_carries_the_stage_error(db_conn: Conn) -> None:
    ws = seeded_workspace(db_conn)
    stages = tuple(replace(s, run=broken_clustering) if s.name == "clustering" else s for s in STAGES)
    outcome = run_pipeline(db_conn, ws, AS_OF, stages=stages)
    assert outcome.status == "failed"
    assert outcome.to_dict()["stages"][2]["error"] == "the clustering exploded half-way"


def test_one_stage_runs_alone_when_named(db_conn: Conn) -> None:
    ws = seeded_workspace(db_conn)
    outcome = run_pipeline(db_conn, ws, AS_OF, only="rollup")
    assert [s.stage for s in outcome.stages] == ["rollup"]
    assert db_conn.execute("select job from analysis.runs").fetchall() == [("rollup",)]


def test_an_unknown_stage_is_refused_with_the_stage_names(db_conn: Conn) -> None:
    ws = seeded_workspace(db_conn)
    with pytest.raises(UserError, match="no stage named 'rolup'; the stages are rollup, forecast, clustering"):
        run_pipeline(db_conn, ws, AS_OF, only="rolup")


def test_a_refresh_that_waited_in_the_queue_leaves_the_later_catalog_alone(db_conn: Conn) -> None:
    """A nightly refresh delivered after an on-demand one must not rewind the catalog to its older moment."""
    ws = seeded_workspace(db_conn)
    jobs.refresh_workspace(db_conn, ws, AS_OF + timedelta(hours=7))
    later = db_conn.execute("select fingerprint, status, last_seen_at from analysis.recommendations"
                            " order by 1").fetchall()
    outcome = jobs.refresh_workspace(db_conn, ws, AS_OF)
    for stage in ("checks", "savings"):
        assert outcome.stage(stage).stats == {"already_current_to": (AS_OF + timedelta(hours=7)).isoformat()}
    assert db_conn.execute("select fingerprint, status, last_seen_at from analysis.recommendations"
                           " order by 1").fetchall() == later


def test_a_replay_recomputes_the_catalog_for_the_older_moment(db_conn: Conn) -> None:
    ws = seeded_workspace(db_conn)
    jobs.refresh_workspace(db_conn, ws, AS_OF + timedelta(hours=7))
    outcome = jobs.refresh_workspace(db_conn, ws, AS_OF, replay=True)
    assert "already_current_to" not in outcome.stage("checks").stats


def test_the_refresh_job_raises_the_first_failure_after_every_stage_ran(db_conn: Conn,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ws = seeded_workspace(db_conn)
    stages = tuple(replace(s, run=broken_clustering) if s.name == "clustering" else s for s in STAGES)
    monkeypatch.setattr(jobs, "run_pipeline", functools.partial(run_pipeline, stages=stages))
    with pytest.raises(RuntimeError, match="the clustering exploded half-way"):
        jobs.refresh_workspace(db_conn, ws, AS_OF)
    assert db_conn.execute("select job, status from analysis.runs order by id").fetchall() == [
        ("rollup", "succeeded"), ("forecast", "succeeded"), ("clustering", "failed"), ("checks", "failed"),
        ("savings", "failed"), ("alerts", "succeeded")]
