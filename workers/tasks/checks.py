"""The catalog's thin task: the dashboard enqueues it by name after a suppression or a decision."""

from __future__ import annotations

from typing import Any

from celery import Task

from workers.app.queues import Family
from workers.jobs import decisions as checks_jobs
from workers.runtime.tenancy import workspace_connection
from workers.tasks.base import fleet_task
from workers.tasks.refresh import statement_timeout


@fleet_task("apply_decisions", Family.ANALYSIS)
def apply_decisions_task(self: Task[Any, Any], workspace_id: int) -> dict[str, Any]:
    """Bring the workspace's recommendation statuses up to date (no catalog recomputation)."""
    with workspace_connection(workspace_id, statement_timeout(self)) as conn:
        outcome = checks_jobs.apply_decisions(conn, int(workspace_id), task_id=self.request.id,
                                              attempt=self.request.retries or 0)
    return outcome.to_dict()
