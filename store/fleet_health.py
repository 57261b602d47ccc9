"""Reads across workspaces for the fleet's own health (issue 18 item 4): what the metrics endpoint of a
worker reports at scrape time. Each goes through a narrow SECURITY DEFINER function, since the fleet's role
sees one workspace at a time (store/row_security.py)."""

from __future__ import annotations

from datetime import datetime

from core.db import Conn
from store.workspaces import all_workspace_ids


def oldest_last_success(conn: Conn, job: str) -> datetime | None:
    """The oldest, over the workspaces of meter.workspaces, of each one's last successful run of `job`
    (when it finished), a workspace that never had one counting from its creation (migration 0028); None
    when there is no workspace."""
    ids = all_workspace_ids(conn)
    if not ids:
        return None
    row = conn.execute("select analysis.fleet_oldest_success(%s::bigint[], %s)", (ids, job)).fetchone()
    return None if row is None else row[0]


def refresh_lag_seconds(conn: Conn, job: str) -> float | None:
    """Seconds since the oldest workspace's last successful `job` finished (or, never successful, since it
    was created), by the database's clock (the one finished_at was written with); None without workspaces."""
    oldest = oldest_last_success(conn, job)
    if oldest is None:
        return None
    row = conn.execute("select extract(epoch from (clock_timestamp() - %s))::float8", (oldest,)).fetchone()
    return None if row is None else float(row[0])
