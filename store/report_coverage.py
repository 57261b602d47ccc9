"""What a report's figures can count: the days the rollup has built, and up to which moment the requests
of the days a report reads are counted.

A report prints sums of the rollup (analysis.daily_spend, analysis.daily_totals). It brings the rollup up to
date first (workers/jobs/reports.py runs the rollup stage), then, in the one snapshot it reads everything in
(store/report_snapshot.py), re-reads the rollup's state, checks it still covers every day it reads, and
works out what it counts from the rollup's daily totals: the requests and spend, and the moment its footer
names. Each read follows the report's days, never what was synced since they ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.db import Conn
from core.errors import FleetError, TransientError, UserError, present
from pdf.periods import Period
from store.incremental import settled_moment


class RollupNotCurrent(FleetError):
    """The rollup could not be brought up to date, so a report would print figures it does not have."""

    for_customers = True  # its messages say so in words; the cause is logged under the reference


class RollupMoved(TransientError):
    """The rollup's state changed between the report's refresh of it and its reads (a replay, or the history
    kept moved on a year): retried, the report refreshes it again."""


@dataclass(frozen=True)
class RollupCoverage:
    """analysis.rollup_state: the rollup counts the requests synced by `synced_through` that had committed when
    it read them (every one synced by `settled_through`), on the days [first_day, end_day)."""

    synced_through: datetime
    settled_through: datetime
    first_day: date
    end_day: date  # exclusive


@dataclass(frozen=True)
class CountedScope:
    """What the stored report counts, for analysis.report_freshness: `requests` requests costing `cost_nanos`
    on the UTC days [first_day, end_day) (of its project, for a project report), every one received by
    `through` among them. end_day is the end of the period as asked, so requests of a day the report could not
    count yet (today) make it one to re-render."""

    through: datetime
    first_day: date
    end_day: date
    requests: int = 0
    cost_nanos: int = 0


def rollup_coverage(conn: Conn, workspace_id: int) -> RollupCoverage | None:
    row = conn.execute(
        """select synced_through, settled_through, window_start, window_end from analysis.rollup_state where
           workspace_id = %s""",
        (workspace_id,),
    ).fetchone()
    if row is None:
        return None
    return RollupCoverage(row[0], row[1] or settled_moment(row[0]), row[2], row[3])


def current_coverage(conn: Conn, workspace_id: int) -> RollupCoverage:
    coverage = rollup_coverage(conn, workspace_id)
    if coverage is None:
        raise RollupNotCurrent("the daily rollup has no state after its refresh; the report was not rendered")
    return coverage


def counted_period(asked: Period, today: date) -> Period:
    """The period the figures can cover: the period asked, up to the last whole UTC day before `today` (the
    day of the report's moment, which is not over: the rollup builds whole days)."""
    if asked.end <= today:
        return asked
    if asked.start >= today:
        raise UserError(f"the period {asked.start} to {asked.last_day} has no whole day yet: the rollup counts "
                        f"whole UTC days, up to {today - timedelta(days=1)} now; ask again after midnight UTC")
    return Period(asked.start, today)


def refuse_uncovered(coverage: RollupCoverage, start: date, end: date, as_of: datetime) -> None:
    """Refuse, for a retry, a report whose days [start, end) the rollup no longer covers as of the moment the
    report brought it to: the rollup keeps every day of the history, but between the report's refresh and its
    reads another session may have replayed it to an earlier moment, or, as the year turned, dropped the
    oldest year kept. The report would print figures the rollup no longer has."""
    if coverage.synced_through >= as_of and coverage.first_day <= start and end <= coverage.end_day:
        return
    raise RollupMoved(
        f"the daily rollup changed while this report was being prepared: it now covers {coverage.first_day} to "
        f"{coverage.end_day - timedelta(days=1)} with the requests received by {_moment(coverage.synced_through)}, "
        f"but the report reads {start} to {end - timedelta(days=1)} as of {_moment(as_of)} (a replay of the "
        "rollup, or the oldest year kept dropped as the year turned), so it was not rendered; it is tried again")


def _moment(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def first_request_day(conn: Conn, workspace_id: int) -> date | None:
    """The workspace's first UTC day with a request (the first entry of the index on started_at)."""
    row = conn.execute("select min(started_at) from meter.requests where workspace_id = %s",
                       (workspace_id,)).fetchone()
    return None if row is None or row[0] is None else row[0].astimezone(UTC).date()


@dataclass(frozen=True)
class Counted:
    """What the rollup counts on a report's days: requests, spend, and the moment every request of those days
    received by is counted (None: no request counted)."""

    requests: int
    cost_nanos: int
    through: datetime | None


def counted(conn: Conn, workspace_id: int, project_id: int | None, start: date, end: date,
            coverage: RollupCoverage) -> Counted:
    """The rollup's count of the requests of [start, end) (of one project when given), from its daily totals.

    The footer's moment is the latest arrival counted, but never after the rollup's settled moment: a request
    received just before a refresh may commit after it read, so the requests received after that moment are
    not all counted; a row without its latest arrival (built before they were kept) claims that moment too."""
    row = conn.execute(
        """select coalesce(sum(requests), 0)::bigint, coalesce(sum(cost_nanos), 0)::bigint, max(last_synced_at),
                  bool_or(last_synced_at is null)
           from analysis.daily_totals
           where workspace_id = %s and day >= %s and day < %s and (%s::bigint is null or project_id = %s)""",
        (workspace_id, start, end, project_id, project_id),
    ).fetchone()
    row = present(row, "the sums' row")
    requests, cost, latest, unknown = int(row[0]), int(row[1]), row[2], bool(row[3])
    if requests == 0:
        return Counted(0, cost, None)
    through = coverage.settled_through if unknown or latest is None else min(latest, coverage.settled_through)
    return Counted(requests, cost, through)
