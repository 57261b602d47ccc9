"""The report task: the dashboard's "Generate PDF" enqueues it by name on the pdf queue."""

from __future__ import annotations

from typing import Any

from celery import Task

from workers import report_jobs
from workers.queues import Family
from workers.taskbase import fleet_task
from workers.tasks import statement_timeout
from workers.tenancy import report_request_connection


@fleet_task("render_report", Family.PDF)
def render_report_task(self: Task[Any, Any], request_id: int) -> dict[str, Any]:
    with report_request_connection(request_id, statement_timeout(self)) as conn:
        return report_jobs.render_report(conn, int(request_id), task_id=self.request.id,
                                         attempt=self.request.retries or 0)
