"""Writes of the report job: analysis.reports through running → succeeded / failed.

Only record_success touches the PDF: a failed or interrupted re-render never takes a good PDF away."""

from __future__ import annotations

from typing import Any

from core.db import Conn
from store.audit import audit
from store.report_coverage import CountedScope
from store.runs import ClosedRun

ERROR_LIMIT = 2000
REQUEST_SCOPE = "request:"  # a report run's lock scope: this prefix and the request id


def request_scope(request_id: int) -> str:
    return f"{REQUEST_SCOPE}{request_id}"


def mark_running(conn: Conn, request_id: int, workspace_id: int) -> None:
    """Visible at once (own statement): the dashboard shows the report as being rendered. A report that
    already succeeded stays 'succeeded' with its PDF while a forced re-render runs."""
    conn.execute(
        """insert into analysis.reports (request_id, workspace_id, status, started_at)
           values (%s, %s, 'running', clock_timestamp())
           on conflict (request_id) do update
              set status = 'running', started_at = clock_timestamp(), finished_at = null, error = null
              where analysis.reports.workspace_id = excluded.workspace_id
                and analysis.reports.status <> 'succeeded'""",
        (request_id, workspace_id),
    )


def note_retrying(conn: Conn, request_id: int, workspace_id: int, message: str, ref: str | None = None) -> None:
    """A transient failure: the report stays 'running' (a retry follows) and says why it is late."""
    conn.execute("""update analysis.reports set error = %s, error_ref = %s
                     where request_id = %s and workspace_id = %s and status = 'running'""",
                 (f"retrying after: {message}"[:ERROR_LIMIT], ref, request_id, workspace_id))


def record_success(tx: Conn, request_id: int, workspace_id: int, pdf: bytes, sha256: str, pages: int,
                   signed: bool) -> None:
    tx.execute(
        """update analysis.reports set status = 'succeeded', finished_at = clock_timestamp(), error = null,
                  error_ref = null,
                  pdf = %s, sha256 = %s, pages = %s, signed = %s
           where request_id = %s and workspace_id = %s""",
        (pdf, sha256, pages, signed, request_id, workspace_id),
    )


def record_counted(tx: Conn, request_id: int, workspace_id: int, counted: CountedScope, project_id: int | None) -> None:
    """What the stored PDF counts: the requests and spend of [first_day, end_day) (of the project, if one), every
    request received by `through` among them (analysis.report_freshness compares them with the rollup's days and
    what has arrived since)."""
    tx.execute(
        """update analysis.reports
              set counted_through = %s, counted_from = %s, counted_to = %s, counted_project_id = %s,
                  counted_requests = %s, counted_nanos = %s
            where request_id = %s and workspace_id = %s""",
        (counted.through, counted.first_day, counted.end_day, project_id, counted.requests, counted.cost_nanos,
         request_id, workspace_id),
    )


def record_failure(conn: Conn, request_id: int, workspace_id: int, message: str, ref: str | None = None) -> None:
    """The report failed; a report that already succeeded keeps its PDF and its status (the failed
    re-render is on its run row and in the audit log). `message` is a sentence for the workspace's people,
    `ref` where the logs keep the details."""
    conn.execute(
        """insert into analysis.reports (request_id, workspace_id, status, started_at, finished_at, error,
                                         error_ref)
           values (%s, %s, 'failed', clock_timestamp(), clock_timestamp(), %s, %s)
           on conflict (request_id) do update
              set status = 'failed', finished_at = clock_timestamp(), error = excluded.error,
                  error_ref = excluded.error_ref
              where analysis.reports.workspace_id = excluded.workspace_id
                and analysis.reports.status <> 'succeeded'""",
        (request_id, workspace_id, message[:ERROR_LIMIT], ref),
    )


def succeeded_report(conn: Conn, request_id: int, workspace_id: int) -> tuple[str, int, bool] | None:
    """(sha256, pages, signed) of the request's report when it already succeeded."""
    row = conn.execute(
        """select sha256, pages, signed from analysis.reports
            where request_id = %s and workspace_id = %s and status = 'succeeded'""",
        (request_id, workspace_id),
    ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]), bool(row[2]))


def report_row(conn: Conn, request_id: int, workspace_id: int) -> tuple[Any, ...] | None:
    """(status, error, pdf, sha256, pages, signed) — what the dashboard reads."""
    return conn.execute(
        """select status, error, pdf, sha256, pages, signed from analysis.reports
            where request_id = %s and workspace_id = %s""",
        (request_id, workspace_id),
    ).fetchone()


def fail_killed_report(conn: Conn, request_id: int, run: ClosedRun, message: str, actor: str) -> None:
    """The report run of request `request_id` was closed from outside its job (a killed delivery): fail the
    report too, so it does not stay 'running' (one that already succeeded keeps its PDF)."""
    with conn.transaction():
        record_failure(conn, request_id, run.workspace_id, message)
        audit(conn, run.workspace_id, actor, "report.failed", f"report_request:{request_id}",
              {"request_id": request_id, "run_id": run.id, "error": message})
