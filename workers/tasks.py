"""The thin Celery tasks: each takes ids and ISO strings, borrows a pooled connection and calls one
plain job function from workers.jobs. The dashboard enqueues them by name (see README)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from celery import Task

from schedules.fanout import dispatch, plan_fanout
from store.workspaces import all_workspace_ids
from workers import db, jobs
from workers.queues import Family
from workers.settings import get_settings, last_fire_time
from workers.taskbase import fleet_task


def statement_timeout(task: Task[Any, Any]) -> float | None:
    """A margin below the soft time limit, so a long statement ends before the limit interrupts it."""
    soft = task.soft_time_limit
    return None if soft is None else max(soft * 0.9, soft - 30)


@fleet_task("refresh_workspace", Family.ANALYSIS)
def refresh_workspace_task(self: Task[Any, Any], workspace_id: int, as_of: str | None = None,
                           replay: bool = False, stage: str | None = None) -> dict[str, Any]:
    """The nightly pipeline of one workspace (workers.pipeline), or one `stage` of it."""
    with db.pooled_connection(statement_timeout(self)) as conn:
        outcome = jobs.refresh_workspace(conn, int(workspace_id), jobs.parse_as_of(as_of), task_id=self.request.id,
                                         replay=bool(replay), attempt=self.request.retries or 0, stage=stage)
    return outcome.to_dict()


@fleet_task("nightly_fanout", Family.FANOUT)
def nightly_fanout_task(self: Task[Any, Any], as_of: str | None = None) -> dict[str, Any]:
    """Beat's nightly entry: one refresh per workspace, all with the same as_of (each prunes its old runs).

    Without an as_of the fan-out takes the schedule's latest fire time, so a retry or a redelivery of
    the same fan-out sends the same as_of and its refreshes change nothing the second time."""
    moment = (jobs.parse_as_of(as_of) if as_of
              else last_fire_time(get_settings().nightly_schedule, datetime.now(UTC)))
    with db.pooled_connection() as conn:
        plan = plan_fanout(all_workspace_ids(conn), moment)

    def enqueue(workspace_id: int, as_of_iso: str, batch_id: str) -> None:
        refresh_workspace_task.apply_async(
            kwargs={"workspace_id": workspace_id, "as_of": as_of_iso},
            headers={"batch_id": batch_id},
            expires=20 * 3600,
        )

    sent = dispatch(plan, enqueue)
    return {"batch_id": plan.batch_id, "as_of": moment.isoformat(), "workspaces": sent}
