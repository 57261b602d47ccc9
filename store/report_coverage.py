"""What a report's figures can count: the days the rollup has built, and up to which moment the requests
of the days a report reads are counted.

A report prints sums of the rollup (analysis.daily_spend, analysis.daily_totals). It brings the rollup up to
date first (workers/report_jobs.py runs the rollup stage), then asks here whether the rollup covers every
day it reads, and which moment its footer can name. Each read is an index probe on meter.requests:
(workspace_id, started_at) for the first request of a range, (workspace_id, synced_at) include (started_at)
for the latest arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.db import Conn
from core.errors import UserError
from core.periods import utc_midnight


@dataclass(frozen=True)
class RollupCoverage:
    """analysis.rollup_state: the rollup counts the requests synced by `synced_through`, on the days
    [first_day, end_day)."""

    synced_through: datetime
    first_day: date
    end_day: date  # exclusive


def rollup_coverage(conn: Conn, workspace_id: int) -> RollupCoverage | None:
    row = conn.execute(
        "select synced_through, window_start, window_end from analysis.rollup_state where workspace_id = %s",
        (workspace_id,),
    ).fetchone()
    return None if row is None else RollupCoverage(row[0], row[1], row[2])


def first_request_day(conn: Conn, workspace_id: int, start: date | None = None, end: date | None = None) -> date | None:
    """The first UTC day with a request of the workspace, within [start, end) when given."""
    row = conn.execute(
        """select min(started_at) from meter.requests
           where workspace_id = %s and started_at >= coalesce(%s, '-infinity'::timestamptz)
             and started_at < coalesce(%s, 'infinity'::timestamptz)""",
        (workspace_id, None if start is None else utc_midnight(start), None if end is None else utc_midnight(end)),
    ).fetchone()
    return None if row is None or row[0] is None else row[0].astimezone(UTC).date()


def refuse_uncovered(conn: Conn, workspace_id: int, coverage: RollupCoverage, start: date, end: date) -> None:
    """Refuse, saying so, a report that needs days the rollup has not built while the workspace has
    requests on them: it would print figures it does not have."""
    for first, last in ((start, min(end, coverage.first_day)), (max(start, coverage.end_day), end)):
        if first >= last:
            continue
        missing = first_request_day(conn, workspace_id, first, last)
        if missing is not None:
            raise UserError(
                f"the daily rollup of this workspace covers only {coverage.first_day} to "
                f"{coverage.end_day - timedelta(days=1)}, but this report reads the days from {start} to "
                f"{end - timedelta(days=1)} and the workspace has requests on {missing}, outside the rollup: "
                "it would print figures it does not have, so it was not rendered")


def counted_through(conn: Conn, workspace_id: int, start: date, end: date, as_of: datetime) -> datetime | None:
    """The latest arrival (synced_at, at most `as_of`) among the workspace's requests of [start, end): every
    request of those days received by then is counted. A figure of the data, not of the clock, so the same
    report over the same data prints the same moment.

    In two parts on the (workspace_id, synced_at) include (started_at) index, so that neither reads the days
    themselves: the requests received before the days ended (read backwards from their end, the first one
    found is the answer), and the ones received since, late (as many index entries as requests were received
    since the days ended: little for the recent periods reports are asked for)."""
    first, last = utc_midnight(start), utc_midnight(end)
    row = conn.execute(
        """select greatest(
               (select max(synced_at) from meter.requests
                 where workspace_id = %(ws)s and synced_at <= least(%(end)s, %(as_of)s)
                   and started_at >= %(start)s and started_at < %(end)s),
               (select max(synced_at) from meter.requests
                 where workspace_id = %(ws)s and synced_at > %(end)s and synced_at <= %(as_of)s
                   and started_at >= %(start)s and started_at < %(end)s))""",
        {"ws": workspace_id, "start": first, "end": last, "as_of": as_of},
    ).fetchone()
    return None if row is None else row[0]
