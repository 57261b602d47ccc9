"""Per-day sums of meter.requests, computed here with a plain GROUP BY and a date conversion of its own
(not the rollup's query), to hold analysis.daily_spend and daily_totals against."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from store.incremental import LATE_COMMIT_MARGIN
from tests.factories import Conn

DayRow = tuple[Any, ...]


def requests_per_day(conn: Conn, workspace_id: int, as_of: datetime, first_day: date) -> list[DayRow]:
    """(day, requests, errors, input tokens, output tokens, cost) of the rows synced by as_of, per UTC day
    from first_day to as_of's day (today so far: issue 17)."""
    return conn.execute(
        """select (started_at at time zone 'UTC')::date, count(*), count(*) filter (where status_code >= 400),
                  sum(input_tokens), sum(output_tokens), sum(cost_nanos)
           from meter.requests
           where workspace_id = %s and synced_at <= %s and started_at >= %s and started_at < %s
           group by 1 order by 1""",
        (workspace_id, as_of, datetime.combine(first_day, time(0), UTC),
         datetime.combine(as_of.astimezone(UTC).date() + timedelta(days=1), time(0), UTC)),
    ).fetchall()


def rollup_per_day(conn: Conn, workspace_id: int) -> list[DayRow]:
    return [tuple(int(v) if i else v for i, v in enumerate(row)) for row in conn.execute(
        """select day, sum(requests), sum(errors), sum(input_tokens), sum(output_tokens), sum(cost_nanos)
           from analysis.daily_spend where workspace_id = %s group by day order by day""",
        (workspace_id,)).fetchall()]


def totals_per_day(conn: Conn, workspace_id: int) -> list[DayRow]:
    return [(row[0], int(row[1]), int(row[2])) for row in conn.execute(
        """select day, sum(requests), sum(cost_nanos) from analysis.daily_totals where workspace_id = %s
           group by day order by day""", (workspace_id,)).fetchall()]


def arrivals_per_day(conn: Conn, workspace_id: int, as_of: datetime, first_day: date) -> list[DayRow]:
    """(day, latest arrival, requests received within the late-commit margin before as_of) of the rows synced
    by as_of, per UTC day from first_day to as_of's day."""
    return conn.execute(
        """select (started_at at time zone 'UTC')::date, max(synced_at), count(*) filter (where synced_at > %s)
           from meter.requests
           where workspace_id = %s and synced_at <= %s and started_at >= %s and started_at < %s
           group by 1 order by 1""",
        (as_of - LATE_COMMIT_MARGIN, workspace_id, as_of, datetime.combine(first_day, time(0), UTC),
         datetime.combine(as_of.astimezone(UTC).date() + timedelta(days=1), time(0), UTC)),
    ).fetchall()


def rollup_arrivals_per_day(conn: Conn, workspace_id: int) -> list[DayRow]:
    """What the rollup says of the same, per day."""
    return conn.execute(
        """select day, max(last_synced_at), sum(margin_requests) from analysis.daily_totals where workspace_id = %s
           group by day order by day""",
        (workspace_id,)).fetchall()


def assert_rollup_equals_requests(conn: Conn, workspace_id: int, as_of: datetime,
                                  first_day: date = date(2000, 1, 1)) -> int:
    """daily_spend and daily_totals hold, day by day, the requests synced by as_of (and the daily totals their
    latest arrival and those received within the late-commit margin); returns the days."""
    expected = [tuple(int(v) if i else v for i, v in enumerate(row))
                for row in requests_per_day(conn, workspace_id, as_of, first_day)]
    assert rollup_per_day(conn, workspace_id) == expected
    assert totals_per_day(conn, workspace_id) == [(row[0], row[1], row[5]) for row in expected]
    assert rollup_arrivals_per_day(conn, workspace_id) == [
        (day, latest, margin) for day, latest, margin in arrivals_per_day(conn, workspace_id, as_of, first_day)]
    return len(expected)
