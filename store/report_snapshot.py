"""Everything a report reads, in one snapshot.

A report makes a dozen reads: the rollup's state, the moment its footer names, the workspace's first day,
then its days, developers, models, recommendations, reconciliation and savings. Made one by one on an
autocommit connection, a request and a rollup committed by another session between two of them made the
headline disagree with the tables under it. So, once the report has brought the rollup up to date, every read
runs in one REPEATABLE READ, READ ONLY transaction: each sees the data as it was at the first, and a rollup
committed meanwhile is for the next report.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from core.db import Conn
from core.errors import present
from pdf.model import Counting, ExecutiveData, ProjectReportData
from pdf.periods import Period
from store import report_coverage, report_reads
from store.budgets import read_budgets
from store.report_coverage import CountedScope
from store.report_reads import ReportRequest


@contextmanager
def snapshot(conn: Conn) -> Iterator[Conn]:
    """One REPEATABLE READ, READ ONLY transaction on the autocommit `conn`: every statement in it sees the
    data committed before its first one, and none can write."""
    with conn.transaction():
        conn.execute("set transaction isolation level repeatable read, read only")
        yield conn


@dataclass(frozen=True)
class Reading:
    """What a report renders from, all read in one snapshot."""

    period: Period  # the period the figures cover: the one asked, up to the last whole day
    data: ProjectReportData | ExecutiveData
    counted: CountedScope


def budgeted(conn: Conn, workspace_id: int) -> bool:
    """Whether the workspace has a monthly budget: a summary of a month that is over then reads its whole spend."""
    return read_budgets(conn, workspace_id).workspace_nanos is not None


def read_report(conn: Conn, request: ReportRequest, asked: Period, as_of: datetime) -> Reading:
    """Read a report of `asked` in one snapshot, the rollup having been brought up to date as of `as_of`:
    its state re-read and checked, the footer's moment and the workspace's first day worked out, then
    every figure."""
    workspace_id = request.workspace_id
    with snapshot(conn):
        coverage = report_coverage.current_coverage(conn, workspace_id)
        today = as_of.astimezone(UTC).date()
        period = report_coverage.counted_period(asked, today)
        first, end = (report_reads.project_days_read(period) if request.kind == "project"
                      else report_reads.executive_days_read(period, today, budgeted(conn, workspace_id)))
        report_coverage.refuse_uncovered(coverage, first, end, as_of)
        project_id = request.project_id if request.kind == "project" else None
        counted = report_coverage.counted(conn, workspace_id, project_id, first, end, coverage)
        counting = Counting(through=counted.through, first_day=report_coverage.first_request_day(conn, workspace_id),
                            asked_end=asked.end if period != asked else None)
        data: ProjectReportData | ExecutiveData
        if request.kind == "project":
            project_id = present(request.project_id, "a project report's project")
            data = report_reads.project_report_data(conn, workspace_id, project_id, period, counting)
        else:
            data = report_reads.executive_data(conn, workspace_id, period, today, counting)
    # what the stored report counts: a moment of the data when it counted any, else the rollup's own
    # the days counted run to the period asked, or on to the end of a month that is over when the summary
    # prints its whole spend
    return Reading(period, data, CountedScope(counted.through or coverage.settled_through, first,
                                              max(asked.end, end), counted.requests, counted.cost_nanos))
