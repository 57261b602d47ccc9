"""The export tasks (issue 19): beat's nightly fan-out over the workspaces with a live destination, the
export of one workspace to each of its destinations, and the dashboard's on-demand `export` of a
meter.export_requests row. They decrypt destination credentials, so they run on the billing queue, the one
whose workers hold the fleet's key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from celery import Task

from schedules.beat import NIGHTLY_EXPORT
from store.exports import workspaces_with_export_destinations
from workers import jobs
from workers.app.queues import Family
from workers.jobs import exports as export_jobs
from workers.jobs.export_targets import destination_openers, export_request
from workers.runtime import db
from workers.runtime.tenancy import export_request_connection, workspace_connection
from workers.settings import last_fire_time
from workers.tasks.base import fleet_task
from workers.tasks.refresh import fan_out, statement_timeout


@fleet_task("export_fanout", Family.FANOUT)
def export_fanout_task(self: Task[Any, Any], as_of: str | None = None) -> dict[str, Any]:
    """Beat's nightly entry, after the refresh and the billing pulls: one export per workspace with a live
    destination, all with the same as_of."""
    # the schedule's latest fire time: a retried or redelivered fan-out sends the same as_of
    moment = jobs.parse_as_of(as_of) if as_of else last_fire_time(NIGHTLY_EXPORT, datetime.now(UTC))
    with db.pooled_connection() as conn:
        workspace_ids = workspaces_with_export_destinations(conn)
    plan = fan_out(export_workspace_task, workspace_ids, moment)
    return {"batch_id": plan.batch_id, "as_of": moment.isoformat(), "workspaces": len(plan.workspace_ids)}


@fleet_task("export_workspace", Family.BILLING)
def export_workspace_task(self: Task[Any, Any], workspace_id: int, as_of: str | None = None) -> dict[str, Any]:
    """Every changed object of the workspace to each of its live destinations (a failing destination stops
    no other; the task then fails naming it)."""
    with workspace_connection(workspace_id, statement_timeout(self)) as conn:
        return export_jobs.export_workspace(conn, int(workspace_id), destination_openers(conn, int(workspace_id)),
                                            jobs.parse_as_of(as_of), task_id=self.request.id,
                                            attempt=self.request.retries or 0)


@fleet_task("export", Family.BILLING)
def export_task(self: Task[Any, Any], request_id: int) -> dict[str, Any]:
    """One meter.export_requests row: its dataset and period to the workspace's live destinations."""
    with export_request_connection(request_id, statement_timeout(self)) as conn:
        return export_request(conn, int(request_id), task_id=self.request.id,
                                          attempt=self.request.retries or 0)
