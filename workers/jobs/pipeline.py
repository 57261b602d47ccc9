"""The nightly refresh of one workspace: its stages in order, each a job of its own.

Why one task running the stages in order rather than a Celery chain per workspace: the stages are
short and strictly sequential, they share one warm connection and the workspace's data in the
database cache, and the rule "a stage whose input failed is skipped, with a run row saying why"
needs the outcome of the stages before it. A chain stops at the first error and would need a callback
to write the skipped rows; one task writes them in order and is retried as a whole (each stage is
idempotent, so a retry redoes finished stages harmlessly). Each stage still has its own run row,
lock and results transaction, so a failing stage is visible on its own and leaves the stages before
it intact.

Failures: a transient error (database or broker gone) stops the pipeline and is raised for Celery
to retry; any other error fails that stage's run, skips the stages that need it, lets the others run,
and is raised once all have run, so the task is marked failed and Sentry sees it. A refresh killed by
its hard time limit writes nothing more itself: the worker's parent closes the killed stage's run
(failure_kind 'timeout') and calls `close_killed_refresh`, which writes the skipped rows of the stages
that needed it, as a failed stage's would have been.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.db import Conn
from core.errors import UserError
from store.claims import RunSpec, record_skipped
from store.runs import ClosedRun, Run, claimed_run
from store.workspaces import workspace_by_id
from workers.jobs import alerts as alerts_stage
from workers.jobs import checks as checks_stage
from workers.jobs import clustering as clustering_stage
from workers.jobs import forecast as forecast_stage
from workers.jobs import rollup as rollup_stage
from workers.jobs import savings as savings_stage
from workers.jobs.stage import ALREADY_CURRENT, Stage, StageContext, already_current
from workers.runtime import metrics
from workers.runtime.failures import is_transient
from workers.runtime.logs import bind_context
from workers.runtime.replica import start_lsn

log = logging.getLogger(__name__)

# The order is the order they run in; `needs` may only name stages before it.
STAGES: tuple[Stage, ...] = (rollup_stage.STAGE, forecast_stage.STAGE, clustering_stage.STAGE,
                             checks_stage.STAGE, savings_stage.STAGE, alerts_stage.STAGE)
STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)
# what a stage killed by the hard time limit "did", as the skipped stages after it say: "skipped because
# clustering timed out (hard time limit)"
TIMED_OUT = "timed out (hard time limit)"
# halton_rows_processed_total{stage}: the stats of a stage's run that count the rows it processed (summed)
ROWS_STATS: dict[str, tuple[str, ...]] = {
    "rollup": ("rollup_rows",),  # rollup rows written
    "forecast": ("forecast_rows",),  # forecast rows written
    "clustering": ("hashed_requests_in_days", "null_hash_requests_in_days"),  # requests of the days aggregated
    "checks": ("requests",),  # requests in the checks' window
    "savings": ("measured",),  # accepted recommendations measured
    "alerts": ("anomaly_scopes_checked",),  # scopes the anomaly check looked at
}


@dataclass
class StageOutcome:
    stage: str
    status: str  # 'succeeded', 'failed' or 'skipped'
    run_id: int | None = None
    error: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "status": self.status, "run_id": self.run_id, "error": self.error,
                "stats": self.stats}


@dataclass
class PipelineOutcome:
    workspace_id: int
    as_of: datetime
    stages: list[StageOutcome] = field(default_factory=list)
    first_error: BaseException | None = None

    @property
    def status(self) -> str:
        return "succeeded" if all(s.status == "succeeded" for s in self.stages) else "failed"

    def stage(self, name: str) -> StageOutcome:
        return next(s for s in self.stages if s.stage == name)

    def to_dict(self) -> dict[str, Any]:
        return {"job": "refresh", "workspace_id": self.workspace_id, "as_of": self.as_of.isoformat(),
                "status": self.status, "stages": [s.to_dict() for s in self.stages]}


def stage_named(name: str, stages: tuple[Stage, ...] = STAGES) -> Stage:
    for stage in stages:
        if stage.name == name:
            return stage
    raise UserError(f"no stage named '{name}'; the stages are {', '.join(s.name for s in stages)}")


def run_pipeline(conn: Conn, workspace_id: int, as_of: datetime, *, only: str | None = None, replay: bool = False,
                 task_id: str | None = None, attempt: int = 0, worker: str | None = None,
                 stages: tuple[Stage, ...] = STAGES, for_report: int | str | None = None) -> PipelineOutcome:
    """Run every stage (or only the one named) for the workspace as of `as_of`. `stages` is for tests;
    `for_report` names the report a refresh is run for (its runs' stats say so)."""
    workspace_by_id(conn, workspace_id)  # a missing workspace is a user error, before any run row
    selected = [stage_named(only, stages)] if only else list(stages)
    outcome = PipelineOutcome(workspace_id, as_of)
    done: dict[str, str] = {}
    read_lsn = start_lsn(conn)  # before any stage: the replica must show at least what the primary holds now
    for stage in selected:
        spec = _spec(stage, workspace_id, as_of, task_id=task_id, worker=worker, attempt=attempt, replay=replay)
        blocked = _blocked_by(stage, done)
        if blocked is not None:
            reason = f"skipped because {blocked} {done[blocked]}"
            outcome.stages.append(StageOutcome(stage.name, "skipped", record_skipped(conn, spec, reason), reason))
            done[stage.name] = "skipped"
            continue
        result = _run_stage(conn, stage, spec, StageContext(conn, workspace_id, as_of, replay, for_report,
                                                                  read_lsn))
        outcome.stages.append(result[0])
        done[stage.name] = result[0].status
        if result[1] is not None and outcome.first_error is None:
            outcome.first_error = result[1]
    return outcome


def close_killed_refresh(conn: Conn, closed: Iterable[ClosedRun], *, single_stage: bool,
                         stages: tuple[Stage, ...] = STAGES) -> list[StageOutcome]:
    """After the hard time limit killed a refresh (its stage's run already closed as 'timeout'): the
    skipped rows the refresh would have written for the stages that need the killed one, directly or
    through another, so the dashboard's latest run of each says why it is stale instead of showing the
    last success. A single-stage refresh asked for no other stage, so it gets none; nor does a closed
    run that is not a stage of this pipeline. Called from the worker's parent process."""
    if single_stage:
        return []
    skipped: list[StageOutcome] = []
    for run in closed:
        killed = next((s for s in stages if s.name == run.job), None)
        if killed is None or run.as_of is None:
            continue
        # as in run_pipeline: the stages before the killed one ran (their rows say how), so only the
        # killed stage and what it blocks can block a later one
        done = {killed.name: TIMED_OUT}
        for stage in stages[stages.index(killed) + 1:]:
            blocked = _blocked_by(stage, done)
            if blocked is None:
                continue  # independent of the killed stage: no rule skips it, and its latest run stays as it was
            reason = f"skipped because {blocked} {done[blocked]}"
            spec = _spec(stage, run.workspace_id, run.as_of, task_id=run.task_id, worker=run.worker,
                         attempt=run.attempt, replay=run.replay)
            skipped.append(StageOutcome(stage.name, "skipped", record_skipped(conn, spec, reason), reason))
            done[stage.name] = "skipped"
    return skipped


def _spec(stage: Stage, workspace_id: int, as_of: datetime, *, task_id: str | None, worker: str | None,
          attempt: int, replay: bool) -> RunSpec:
    start, end = stage.window(as_of)
    return RunSpec(job=stage.name, workspace_id=workspace_id, as_of=as_of, window_start=start, window_end=end,
                   lock_scope="workspace", task_id=task_id, worker=worker, attempt=attempt, replay=replay)


def _blocked_by(stage: Stage, done: dict[str, str]) -> str | None:
    """The first stage `stage` needs that did not succeed in this refresh (one not in `done` did)."""
    return next((need for need in stage.needs if done.get(need, "succeeded") != "succeeded"), None)


def current_to(conn: Conn, stage: Stage, workspace_id: int, run: Run) -> datetime | None:
    """The moment `stage`'s results are current to (Stage.current_to), if it has any. By default the as_of of
    its latest successful run, as `run`'s claim read it after the lock (no round trip; the run must have been
    claimed with claimed_run(..., succeeded_as_of=True), as _run_stage claims it)."""
    if stage.current_to is not None:
        return stage.current_to(conn, workspace_id)
    return run.succeeded_as_of


def _run_stage(conn: Conn, stage: Stage, spec: RunSpec,
               ctx: StageContext) -> tuple[StageOutcome, BaseException | None]:
    run_id: int | None = None
    started = time.perf_counter()
    try:
        # the claim reads what current_to needs by default, unless the stage reads its own state or decides itself
        reads = stage.current_to is None and not stage.decides_current_in_run
        with claimed_run(conn, spec, succeeded_as_of=reads) as run, bind_context(run=run.id, stage=stage.name):
            run_id = run.id
            newer = None if stage.decides_current_in_run else current_to(conn, stage, spec.workspace_id, run)
            if newer is not None and already_current(newer, ctx):
                with run.results():
                    run.stats[ALREADY_CURRENT] = newer.isoformat()  # results of a later moment stay
            else:
                stage.run(ctx, run)
                # only a stage that ran: a skipped one's near-zero time would pull the stage timings down
                if ALREADY_CURRENT not in run.stats:
                    metrics.observe_stage(stage.name, time.perf_counter() - started,
                                          rows_processed(stage.name, run.stats))
            log.info("stage %s done: %s", stage.name, run.stats)
            return StageOutcome(stage.name, "succeeded", run.id, None, dict(run.stats)), None
    except Exception as error:
        metrics.observe_stage(stage.name, time.perf_counter() - started, None)
        if is_transient(error):
            raise  # the whole pipeline is retried; the stages before this one are idempotent
        log.log(logging.WARNING if isinstance(error, UserError) else logging.ERROR,
                "stage %s failed: %s", stage.name, error, exc_info=not isinstance(error, UserError))
        return StageOutcome(stage.name, "failed", run_id, str(error)), error


def rows_processed(stage: str, stats: dict[str, Any]) -> int:
    """What the stage's run stats count of the rows it processed (ROWS_STATS); 0 when it counts none (a
    stage whose results were already current)."""
    return sum(value for key in ROWS_STATS.get(stage, ()) if isinstance(value := stats.get(key), int)
               and not isinstance(value, bool))
