"""What the clustering stage (issue 7) writes, filled by hand for the catalog's tests: clusters of every
prompt_hash seen more than once in the window, and loop incidents where the test says so.

The kinds follow the contract: 'duplicate' for any repeat, 'cacheable' when some repeat came within an
hour of the one before (the longest provider cache lifetime), 'loop' when an incident is recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.factories import Conn


def fill_clusters(conn: Conn, workspace_id: int, start: datetime, end: datetime) -> int:
    cursor = conn.execute(
        """insert into analysis.prompt_clusters (workspace_id, prompt_hash, window_end, requests, devices, projects,
               first_at, last_at, cost_nanos, duplicate_requests, avoidable_nanos, kinds)
           select %(ws)s, prompt_hash, %(end)s, count(*), count(distinct device_id), count(distinct project_id),
                  min(started_at), max(started_at), sum(cost_nanos), count(*) - 1, 0,
                  case when min(gap) < interval '1 hour' then array['duplicate', 'cacheable']
                       else array['duplicate'] end
           from (select *, started_at - lag(started_at) over (partition by prompt_hash order by started_at) as gap
                 from meter.requests where workspace_id = %(ws)s and started_at >= %(start)s
                   and started_at < %(end)s and prompt_hash is not null) r
           group by prompt_hash having count(*) > 1""",
        {"ws": workspace_id, "start": start, "end": end},
    )
    return cursor.rowcount


def add_loop(conn: Conn, workspace_id: int, prompt_hash: str, device_id: int, project_id: int | None,
             started_at: Any, ended_at: Any, requests: int, cost_nanos: int, peak_per_minute: int) -> None:
    conn.execute(
        """insert into analysis.loop_incidents (workspace_id, prompt_hash, device_id, project_id, started_at, ended_at,
               requests, cost_nanos, peak_per_minute) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (workspace_id, prompt_hash, device_id, project_id, started_at, ended_at, requests, cost_nanos,
         peak_per_minute),
    )


def add_seeded_loop(conn: Conn, workspace_id: int, prompt_hash: str) -> None:
    """The seeded loop as the clustering stage would record it: every request of that hash on its device."""
    row = conn.execute(
        """select device_id, min(project_id), min(started_at), max(started_at), count(*), sum(cost_nanos)
           from meter.requests where workspace_id = %s and prompt_hash = %s group by device_id
           order by count(*) desc limit 1""",
        (workspace_id, prompt_hash),
    ).fetchone()
    assert row is not None
    add_loop(conn, workspace_id, prompt_hash, row[0], row[1], row[2], row[3], row[4], row[5], 60)
