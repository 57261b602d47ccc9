"""Writes of the report job: analysis.reports through running → succeeded / failed, and the audit log."""

from __future__ import annotations

import json
from typing import Any

from core.db import Conn

ERROR_LIMIT = 2000


def mark_running(conn: Conn, request_id: int, workspace_id: int) -> None:
    """Visible at once (own statement): the dashboard shows the report as being rendered."""
    conn.execute(
        """insert into analysis.reports (request_id, workspace_id, status, started_at)
           values (%s, %s, 'running', clock_timestamp())
           on conflict (request_id) do update
              set status = 'running', started_at = clock_timestamp(), finished_at = null, error = null,
                  pdf = null, sha256 = null, pages = null, signed = false""",
        (request_id, workspace_id),
    )


def note_retrying(conn: Conn, request_id: int, message: str) -> None:
    """A transient failure: the report stays 'running' (a retry follows) and says why it is late."""
    conn.execute("update analysis.reports set error = %s where request_id = %s and status = 'running'",
                 (f"retrying after: {message}"[:ERROR_LIMIT], request_id))


def record_success(tx: Conn, request_id: int, pdf: bytes, sha256: str, pages: int, signed: bool) -> None:
    tx.execute(
        """update analysis.reports set status = 'succeeded', finished_at = clock_timestamp(), error = null,
                  pdf = %s, sha256 = %s, pages = %s, signed = %s
           where request_id = %s""",
        (pdf, sha256, pages, signed, request_id),
    )


def record_failure(conn: Conn, request_id: int, workspace_id: int, message: str) -> None:
    conn.execute(
        """insert into analysis.reports (request_id, workspace_id, status, started_at, finished_at, error)
           values (%s, %s, 'failed', clock_timestamp(), clock_timestamp(), %s)
           on conflict (request_id) do update
              set status = 'failed', finished_at = clock_timestamp(), error = excluded.error,
                  pdf = null, sha256 = null, pages = null, signed = false""",
        (request_id, workspace_id, message[:ERROR_LIMIT]),
    )


def audit(conn: Conn, workspace_id: int, actor: str, event: str, resource: str, details: dict[str, Any]) -> None:
    conn.execute(
        """insert into analysis.audit_events (workspace_id, actor, event, resource, details, at)
           values (%s, %s, %s, %s, %s::jsonb, clock_timestamp())""",
        (workspace_id, actor, event, resource, json.dumps(details, default=str, sort_keys=True)),
    )


def report_row(conn: Conn, request_id: int) -> tuple[Any, ...] | None:
    """(status, error, pdf, sha256, pages, signed) — what the dashboard reads."""
    return conn.execute(
        "select status, error, pdf, sha256, pages, signed from analysis.reports where request_id = %s",
        (request_id,),
    ).fetchone()
