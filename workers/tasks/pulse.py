"""The pulse's tasks (issue 17 item 1): `halton.pulse`, beat's entry every 10 minutes by default
(HALTON_PULSE_SCHEDULE), lists the workspaces with requests their rollup has not counted and sends one
`halton.pulse_workspace` for each, all with its as_of."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from celery import Task

from schedules.beat import PULSE_EXPIRES
from schedules.fanout import dispatch, plan_fanout
from store.pulse import workspaces_with_new_requests
from workers import jobs
from workers.app.queues import Family
from workers.jobs import pulse as pulse_jobs
from workers.runtime import db
from workers.runtime.tenancy import workspace_connection
from workers.settings import get_settings, last_fire_time
from workers.tasks.alerts import enqueue_alert_delivery
from workers.tasks.base import fleet_task
from workers.tasks.refresh import statement_timeout


@fleet_task("pulse_workspace", Family.ANALYSIS)
def pulse_workspace_task(self: Task[Any, Any], workspace_id: int, as_of: str | None = None) -> dict[str, Any]:
    """One workspace's pulse (workers.jobs.pulse)."""
    with workspace_connection(int(workspace_id), statement_timeout(self)) as conn:
        outcome = pulse_jobs.pulse_workspace(conn, int(workspace_id), jobs.parse_as_of(as_of), task_id=self.request.id,
                                             attempt=self.request.retries or 0)
    if outcome.deliveries_pending:  # after the pulse's transaction committed
        enqueue_alert_delivery(outcome.workspace_id)
    return outcome.to_dict()


@fleet_task("pulse", Family.FANOUT)
def pulse_task(self: Task[Any, Any], as_of: str | None = None) -> dict[str, Any]:
    """Beat's pulse: one pulse_workspace per workspace with new requests, all with the schedule's fire time
    (a redelivery sends the same as_of), each dropped if still queued when the next pulse fires."""
    moment = jobs.parse_as_of(as_of) if as_of else last_fire_time(get_settings().pulse_schedule, datetime.now(UTC))
    with db.pooled_connection() as conn:
        workspace_ids = workspaces_with_new_requests(conn, moment)
    plan = plan_fanout(workspace_ids, moment)

    def enqueue(workspace_id: int, as_of_iso: str, batch_id: str) -> None:
        pulse_workspace_task.apply_async(kwargs={"workspace_id": workspace_id, "as_of": as_of_iso},
                                         headers={"batch_id": batch_id}, expires=PULSE_EXPIRES)

    dispatch(plan, enqueue)
    return {"batch_id": plan.batch_id, "as_of": moment.isoformat(), "workspaces": len(workspace_ids)}
