"""The report task: the dashboard's "Generate PDF" enqueues it by name on the pdf queue."""

from __future__ import annotations

from typing import Any

from celery import Task

from workers.app.queues import Family
from workers.jobs import reports as report_jobs
from workers.runtime import db
from workers.tasks.base import fleet_task
from workers.tasks.refresh import statement_timeout


@fleet_task("render_report", Family.PDF)
def render_report_task(self: Task[Any, Any], request_id: int) -> dict[str, Any]:
    with db.pooled_connection(statement_timeout(self)) as conn:
        return report_jobs.render_report(conn, int(request_id), task_id=self.request.id,
                                         attempt=self.request.retries or 0)
