"""The report task: the dashboard's "Generate PDF" enqueues it by name on the pdf queue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery import Task

from core.db import Conn
from store.report_writes import fail_killed_report
from store.runs import ClosedRun
from workers.app.queues import Family
from workers.jobs import reports as report_jobs
from workers.jobs import worker_name
from workers.runtime.tenancy import report_request_connection
from workers.tasks.base import FleetTask, fleet_task, hard_limit_message
from workers.tasks.refresh import statement_timeout


class ReportTask(FleetTask):
    def after_hard_limit(self, conn: Conn, closed: list[ClosedRun], arguments: Mapping[str, Any]) -> None:
        """A killed render: the report its closed 'report' run was rendering fails too, so it does not stay
        'running'. The request id is the task's own argument."""
        for run in closed:
            if run.job == "report":
                fail_killed_report(conn, int(arguments["request_id"]), run, hard_limit_message(self.time_limit),
                                   worker_name())


@fleet_task("render_report", Family.PDF, base=ReportTask)
def render_report_task(self: Task[Any, Any], request_id: int) -> dict[str, Any]:
    with report_request_connection(request_id, statement_timeout(self)) as conn:
        return report_jobs.render_report(conn, int(request_id), task_id=self.request.id,
                                         attempt=self.request.retries or 0)
