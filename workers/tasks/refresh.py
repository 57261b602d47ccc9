"""The thin Celery tasks: each takes ids and ISO strings, borrows a pooled connection and calls one
plain job function from workers.jobs. The dashboard enqueues them by name (see README)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from celery import Task

from core.db import Conn
from core.periods import utc_midnight
from schedules.fanout import FanoutPlan, dispatch, plan_fanout
from store.rollup import history_window
from store.runs import ClosedRun
from store.workspace_sizes import workspace_sizes
from store.workspaces import all_workspace_ids
from workers import jobs
from workers.app.queues import HEAVY_PRIORITY, SMALL_PRIORITY, Family
from workers.jobs import pipeline
from workers.jobs.stage import trailing_window
from workers.runtime import db
from workers.runtime.tenancy import workspace_connection
from workers.settings import get_settings, last_fire_time, rollup_settings
from workers.tasks.alerts import enqueue_after_refresh
from workers.tasks.base import FleetTask, fleet_task


def statement_timeout(task: Task[Any, Any]) -> float | None:
    """A margin below the soft time limit, so a long statement ends before the limit interrupts it."""
    soft = task.soft_time_limit
    return None if soft is None else max(soft * 0.9, soft - 30)


class RefreshTask(FleetTask):
    def after_hard_limit(self, conn: Conn, closed: list[ClosedRun], arguments: Mapping[str, Any]) -> None:
        """A killed whole-pipeline refresh: skipped rows for the stages after the killed one that needed it."""
        pipeline.close_killed_refresh(conn, closed, single_stage=arguments.get("stage") is not None)


@fleet_task("refresh_workspace", Family.ANALYSIS, base=RefreshTask)
def refresh_workspace_task(self: Task[Any, Any], workspace_id: int, as_of: str | None = None,
                           replay: bool = False, stage: str | None = None) -> dict[str, Any]:
    """The nightly pipeline of one workspace (workers.jobs.pipeline), or one `stage` of it."""
    with workspace_connection(workspace_id, statement_timeout(self)) as conn:
        outcome = jobs.refresh_workspace(conn, int(workspace_id), jobs.parse_as_of(as_of), task_id=self.request.id,
                                         replay=bool(replay), attempt=self.request.retries or 0, stage=stage)
    enqueue_after_refresh(outcome)  # committed: a worker of the billing queue delivers what was raised
    return outcome.to_dict()


# a fanned-out message still queued 20 hours later is dropped: the next night's fan-out replaces it
FANOUT_EXPIRES = 20 * 3600


def fanout_as_of(as_of: str | None) -> datetime:
    """The given as_of, or the nightly schedule's latest fire time, so a retry or a redelivery of the same
    fan-out sends the same as_of and what it enqueues changes nothing the second time."""
    return jobs.parse_as_of(as_of) if as_of else last_fire_time(get_settings().nightly_schedule, datetime.now(UTC))


def fan_out(task: Task[Any, Any], workspace_ids: list[int], moment: datetime,
            sizes: Mapping[int, int] | None = None) -> FanoutPlan:
    """One `task(workspace_id, as_of)` per workspace, all with one as_of and one batch id (a header). With
    `sizes` (requests in the window), smallest first, and those of HALTON_HEAVY_WORKSPACE_REQUESTS or more on
    the heavy queue at the lowest priority (docs/DESIGN.md, "Fairness"); the others at the highest."""
    settings = get_settings()
    plan = plan_fanout(workspace_ids, moment, sizes, settings.heavy_workspace_requests)

    def enqueue(workspace_id: int, as_of_iso: str, batch_id: str) -> None:
        route: dict[str, Any] = ({"queue": settings.queue_heavy, "priority": HEAVY_PRIORITY}
                                 if plan.is_heavy(workspace_id) else {"priority": SMALL_PRIORITY})
        task.apply_async(kwargs={"workspace_id": workspace_id, "as_of": as_of_iso}, headers={"batch_id": batch_id},
                         expires=FANOUT_EXPIRES, **route)

    dispatch(plan, enqueue)
    return plan


def first_build_start(moment: datetime) -> datetime:
    """Where a workspace's first rollup starts: before it, a workspace is as large as its whole history."""
    return utc_midnight(history_window(moment, rollup_settings().history_years).first_day)


@fleet_task("nightly_fanout", Family.FANOUT)
def nightly_fanout_task(self: Task[Any, Any], as_of: str | None = None) -> dict[str, Any]:
    """Beat's nightly entry: one refresh per workspace, all with the same as_of (each prunes its old runs),
    small workspaces first and large ones on the heavy queue, by their requests in the refresh's window."""
    moment = fanout_as_of(as_of)
    start, end = trailing_window(moment)
    with db.pooled_connection() as conn:
        workspace_ids = all_workspace_ids(conn)
        sizes = workspace_sizes(conn, workspace_ids, start, end, cap=get_settings().heavy_workspace_requests,
                                history_start=first_build_start(moment))
    plan = fan_out(refresh_workspace_task, workspace_ids, moment, sizes)
    return {"batch_id": plan.batch_id, "as_of": moment.isoformat(), "workspaces": len(plan.workspace_ids),
            "heavy": len(plan.heavy)}
