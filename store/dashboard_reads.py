"""What the dashboard reads from analysis, for the demo's printed view (and tests that read like it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from core.db import Conn


@dataclass(frozen=True)
class SpendLine:
    label: str
    requests: int
    errors: int
    cost_nanos: int


def spend_by_provider(conn: Conn, workspace_id: int, first_day: date, end_day: date) -> list[SpendLine]:
    rows = conn.execute(
        """select provider, sum(requests)::bigint, sum(errors)::bigint, sum(cost_nanos)::bigint
           from analysis.daily_spend where workspace_id = %s and day >= %s and day < %s
           group by provider order by 4 desc""",
        (workspace_id, first_day, end_day),
    ).fetchall()
    return [SpendLine(*row) for row in rows]


def spend_by_project(conn: Conn, workspace_id: int, first_day: date, end_day: date,
                     limit: int = 12) -> list[SpendLine]:
    rows = conn.execute(
        """select case when d.project_id is null then '(unattributed)' else coalesce(p.slug, '(unknown project)') end,
                  sum(d.requests)::bigint, sum(d.errors)::bigint, sum(d.cost_nanos)::bigint
           from analysis.daily_spend d
           -- the project of the row's own workspace: an id of another workspace names nothing here
           left join meter.projects p on p.id = d.project_id and p.workspace_id = d.workspace_id
           where d.workspace_id = %s and d.day >= %s and d.day < %s
           group by 1 order by 4 desc limit %s""",
        (workspace_id, first_day, end_day, limit),
    ).fetchall()
    return [SpendLine(*row) for row in rows]


def spend_by_model(conn: Conn, workspace_id: int, first_day: date, end_day: date,
                   limit: int = 12) -> list[SpendLine]:
    rows = conn.execute(
        """select provider || ' / ' || model, sum(requests)::bigint, sum(errors)::bigint, sum(cost_nanos)::bigint
           from analysis.daily_spend where workspace_id = %s and day >= %s and day < %s
           group by 1 order by 4 desc limit %s""",
        (workspace_id, first_day, end_day, limit),
    ).fetchall()
    return [SpendLine(*row) for row in rows]


def spend_by_day(conn: Conn, workspace_id: int, first_day: date, end_day: date) -> list[SpendLine]:
    rows = conn.execute(
        """select day::text, sum(requests)::bigint, sum(errors)::bigint, sum(cost_nanos)::bigint
           from analysis.daily_spend where workspace_id = %s and day >= %s and day < %s
           group by day order by day""",
        (workspace_id, first_day, end_day),
    ).fetchall()
    return [SpendLine(*row) for row in rows]


def requests_synced_after(conn: Conn, workspace_id: int, as_of: datetime) -> tuple[int, int]:
    """(requests, cost_nanos) already started but synced after `as_of`: late rows a later refresh adds."""
    row = conn.execute(
        """select count(*), coalesce(sum(cost_nanos), 0)::bigint from meter.requests
           where workspace_id = %s and started_at < %s and synced_at > %s""",
        (workspace_id, as_of, as_of),
    ).fetchone()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))
