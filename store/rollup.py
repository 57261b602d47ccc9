"""analysis.daily_spend: the incremental daily rollup of meter.requests (and analysis.daily_totals, its
sums per day, project and provider).

A day is a UTC calendar day. The rollup covers every day of the workspace's history, from 1 January of
the year `history_years` before as_of's (a setting, HALTON_ROLLUP_HISTORY_YEARS) up to the day of
`as_of`, inclusive: today so far (issue 17), the requests synced by as_of, rebuilt by every refresh and
brought forward between refreshes by the pulse (store/pulse.py). A row counts once it has been synced by
`as_of` (synced_at <= as_of), so a replay for a past moment sees exactly what the fleet could have seen
then. Today is complete up to synced_through like every other built day, but it is not over: reports count
whole days only (store/report_coverage.counted_period), so none counts a partial day as complete. Reports
that would read a day before the first one kept are refused where report periods are checked.

Incremental: analysis.rollup_state remembers the days built, [window_start, window_end), and up to
which synced_at they are complete. A later refresh rebuilds the covered days it has not built yet (the
new days; older ones when the history kept grew) and the built days that received rows synced since
then, whatever their age: those are found on the index (workspace_id, synced_at) include (started_at),
so the cost follows what was synced, not the length of the history. The look-back margin covers rows
whose transaction committed after a refresh although their synced_at (the transaction's start) is
older: a refresh as of T counts every row synced by T - margin (rollup_state.settled_through) and those
synced after that had committed. Each row of the rollup keeps the latest arrival it counts
(last_synced_at) and how many of its requests arrived after the settled moment (margin_requests; the next
refresh rebuilds their days), so a report can say what it counts from the rollup's days alone.

A refresh for an earlier as_of than the one recorded (`synced_through`) is left alone by the rollup stage,
which decides it from the state it reads once, locked, in its results transaction (the rollup is already
fresher: a queued nightly run must not rewind what an on-demand refresh or a pulse brought forward),
unless it is an explicit replay, which rebuilds the days whose rows changed since that moment and drops the
days after it, so the tables are the rollup as of that moment.

The windows, the days that changed and the late-commit margin are store/incremental.py's, shared with
the other day caches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.db import Conn
from core.periods import utc_midnight as utc_midnight  # re-exported: store modules take it from here
from store.incremental import CacheState, DayRange, DayWindow, days_between, settled_moment, stale_ranges

# the setting's default (workers.settings.analysis.RollupSettings): a report of any period in the last two years
# (two years at most) compares with the period just before it, so four calendar years before the current
# one keep all of it
DEFAULT_HISTORY_YEARS = 4


@dataclass(frozen=True)
class RollupResult:
    days_recomputed: list[date]
    full_rebuild: bool
    rows_written: int

    def stats(self) -> dict[str, object]:
        return {
            "rollup_days_recomputed": len(self.days_recomputed),
            "rollup_full_rebuild": self.full_rebuild,
            "rollup_rows": self.rows_written,
        }


RollupState = CacheState


_STATE = "select synced_through, window_start, window_end from analysis.rollup_state where workspace_id = %s"


def load_state(conn: Conn, workspace_id: int, *, lock: bool = True) -> RollupState | None:
    """The rollup's state: (synced_through, first built day, end of built days), None before its first build.
    With `lock` (inside the transaction that saves it), FOR UPDATE: one refresh or pulse of a workspace at a
    time, the other waiting for it to commit and then reading what it saved. Read it once, and pass it to
    refresh_daily_spend."""
    row = conn.execute(_STATE + " for update" if lock else _STATE, (workspace_id,)).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def day_requests(conn: Conn, workspace_id: int, days: Sequence[date], as_of: datetime | None) -> dict[date, int]:
    """The requests the rollup counted on each of `days` it has built (0 for a built day without any). With
    `as_of`, only when the rollup is current to it or later (its counts then hold every request synced by
    then), else nothing; without, whatever it counted (an estimate short of the rows synced since its last
    run: the nightly export, which runs after the night's refresh). A caller sizing its reads by them takes a
    day without a count alone."""
    # the state and the built days' sums in one statement (a round trip less for a small workspace's stage): a
    # row for the state alone when no built day has rows, none without a state
    rows = conn.execute(_DAY_REQUESTS, {"ws": workspace_id, "days": list(days), "as_of": as_of}).fetchall()
    if not rows or (as_of is not None and rows[0][0] < as_of):
        return {}
    first, end = rows[0][1], rows[0][2]
    counts = {day: 0 for day in days if first <= day < end}
    counts.update({day: int(total) for *_, day, total in rows if day is not None})
    return counts


_DAY_REQUESTS = """
    select s.synced_through, s.window_start, s.window_end, t.day, t.requests
    from analysis.rollup_state s
    left join lateral (
        select day, sum(requests)::bigint as requests from analysis.daily_totals
        where workspace_id = %(ws)s and day = any(%(days)s) and day >= s.window_start and day < s.window_end
          and (%(as_of)s::timestamptz is null or s.synced_through >= %(as_of)s::timestamptz)
        group by day) t on true
    where s.workspace_id = %(ws)s"""


def history_window(as_of: datetime, history_years: int = DEFAULT_HISTORY_YEARS) -> DayWindow:
    """The days the rollup covers as of a moment: whole calendar years of history up to its UTC day."""
    return DayWindow.history(as_of, history_years)


# Day by day: each day's rows come from the index on (workspace_id, started_at) and are grouped in a hash
# table of that day's few hundred combinations. One GROUP BY over a long range instead is planned from an
# estimate of the groups as large as the rows (the day is a function of started_at, whose values are all
# distinct), so Postgres sorts millions of rows on disk or spills its hash table; per day it does neither,
# and each row needs no day of its own. The days come as an array, whose length the planner knows (a
# generate_series counts as 1000 rows, which made a 2-day refresh look costly enough to JIT-compile).
# Days are 24 hours in UTC whatever the session's time zone. The bounds of all the days, as constants
# (first, end), let the planner keep only the months of meter.requests they cover when it is partitioned
# (migration 0026): each day's bounds come from the array, known only when the statement runs.
_INSERT_DAYS = """
    with listed as (
        -- the requests counted that were synced after the settled moment, in the same snapshot as the sums:
        -- the pulse adds the others (analysis.rollup_margin, 0021)
        insert into analysis.rollup_margin (workspace_id, request_id)
        select %(workspace)s, id from meter.requests
        -- any(): no gate per row under row-level security (store/row_security.py)
        where workspace_id = any(array[%(workspace)s]) and synced_at > %(settled)s and synced_at <= %(as_of)s
          and started_at >= %(first)s and started_at < %(end)s
          and date_bin('1 day', started_at, timestamptz '2000-01-01 00:00:00+00') = any(%(days)s::timestamptz[])
        on conflict do nothing
    )
    insert into analysis.daily_spend
        (workspace_id, day, project_id, device_id, provider, model, service_tier, requests, errors,
         input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos,
         last_synced_at, margin_requests)
    select %(workspace)s, (day_start at time zone 'UTC')::date, per_day.*
    from unnest(%(days)s::timestamptz[], %(ends)s::timestamptz[]) as day (day_start, day_end)
    cross join lateral (
        select project_id, device_id, provider, model, service_tier,
               count(*) as requests, count(*) filter (where status_code >= 400) as errors,
               sum(input_tokens) as input_tokens, sum(cache_read_tokens) as cache_read_tokens,
               sum(cache_write_tokens) as cache_write_tokens, sum(output_tokens) as output_tokens,
               sum(reasoning_tokens) as reasoning_tokens, sum(cost_nanos) as cost_nanos,
               max(synced_at) as last_synced_at, count(*) filter (where synced_at > %(settled)s) as margin_requests
        from meter.requests
        -- any(): no gate per row under row-level security (store/row_security.py)
        where workspace_id = any(array[%(workspace)s]) and started_at >= day_start
          and started_at < day_end and synced_at <= %(as_of)s
          and started_at >= %(first)s and started_at < %(end)s
        group by project_id, device_id, provider, model, service_tier
    ) as per_day"""


_TOTALS = """
    insert into analysis.daily_totals (workspace_id, day, project_id, provider, requests, cost_nanos, last_synced_at,
                                       margin_requests)
    select workspace_id, day, project_id, provider, sum(requests), sum(cost_nanos), max(last_synced_at),
           sum(margin_requests)
    from analysis.daily_spend where workspace_id = %s and day = any(%s)
    group by workspace_id, day, project_id, provider"""


def first_row_day(conn: Conn, workspace_id: int, days: DayRange, as_of: datetime) -> date | None:
    """The day of the workspace's earliest row in `days` synced by as_of (the first rows of the index on
    (workspace_id, started_at) from the range's start)."""
    row = conn.execute(
        """select min(started_at) from meter.requests
           where workspace_id = %s and started_at >= %s and started_at < %s and synced_at <= %s""",
        (workspace_id, utc_midnight(days[0]), utc_midnight(days[1]), as_of),
    ).fetchone()
    return None if row is None or row[0] is None else row[0].astimezone(UTC).date()


def drop_uncovered(conn: Conn, workspace_id: int, coverage: DayWindow) -> None:
    """Delete the rollup's days outside the coverage: before the first day kept (the history bound moved
    on, or was lowered) and from its end on (a replay of an earlier moment)."""
    conn.execute(_DELETE_OUTSIDE, {"workspace": workspace_id, "first": coverage.first_day, "end": coverage.end_day})


# both tables' rows of some days in one statement (one round trip): each delete keeps its own plan, and the two
# tables have no trigger or key between them, so it is the two deletes run one after the other
_DELETE_OUTSIDE = """
    with spend as (delete from analysis.daily_spend
                   where workspace_id = %(workspace)s and (day < %(first)s or day >= %(end)s))
    delete from analysis.daily_totals where workspace_id = %(workspace)s and (day < %(first)s or day >= %(end)s)"""
_DELETE_BETWEEN = """
    with spend as (delete from analysis.daily_spend
                   where workspace_id = %(workspace)s and day >= %(first)s and day < %(end)s)
    delete from analysis.daily_totals where workspace_id = %(workspace)s and day >= %(first)s and day < %(end)s"""
# the last range's delete also empties the workspace's margin list and sets the insert's JIT settings for the rest
# of the transaction (LLVM's inlining and optimisation take half a second to a second per statement, more than
# they save on these plain sums; compiled expressions alone pay off on a long rebuild and are kept;
# set_config(..., true) is SET LOCAL): one statement for what were three
_DELETE_LAST = """
    with spend as (delete from analysis.daily_spend
                   where workspace_id = %(workspace)s and day >= %(first)s and day < %(end)s),
         totals as (delete from analysis.daily_totals
                    where workspace_id = %(workspace)s and day >= %(first)s and day < %(end)s),
         margin as (delete from analysis.rollup_margin where workspace_id = %(workspace)s)
    select set_config('jit_inline_above_cost', '-1', true), set_config('jit_optimize_above_cost', '-1', true)"""
_FORGET_MARGIN = "delete from analysis.rollup_margin where workspace_id = %(workspace)s"


def rebuild_ranges(conn: Conn, workspace_id: int, ranges: list[DayRange], as_of: datetime,
                   rows_from: date | None = None) -> tuple[list[date], int]:
    """Empty the workspace's list of requests counted after the settled moment (analysis.rollup_margin: the
    rebuild lists again those it counts, and every one lies on a stale day) and replace the rollup rows of the
    days in `ranges` (and their daily totals) with the sums of the rows synced by as_of; the caller's transaction
    makes it atomic. No day before `rows_from` has rows: those are only emptied. Returns the days summed and the
    rows written."""
    if not ranges:
        conn.execute(_FORGET_MARGIN, {"workspace": workspace_id})
        return [], 0
    for index, (first, end) in enumerate(ranges):
        # the last also empties the margin list and sets the insert's JIT settings (_DELETE_LAST): harmless to
        # the statements after it when no day is summed, which never reach JIT's costs
        conn.execute(_DELETE_LAST if index == len(ranges) - 1 else _DELETE_BETWEEN,
                     {"workspace": workspace_id, "first": first, "end": end})
    days = [day for first, end in ranges
            for day in days_between(first if rows_from is None else max(first, rows_from), end)]
    if not days:
        return [], 0
    # each day's end is computed here, not as `day_start + interval '24 hours'` in the query: that operator
    # is not leakproof, so under the fleet's row-level security Postgres may not use it as an index bound
    # and each day would scan every later day's rows (9× slower: bench/bench_rollup.py)
    # never prepared: psycopg prepares a statement run five times on a connection, and Postgres then plans it
    # once for any parameters; that generic plan has no constant day bounds to keep the months they cover, nor
    # the number of days, and it doubled a worker's nightly step after a few first builds on its connection
    # (bench/bench_rollup.py, docs/BENCHMARKS.md)
    cursor = conn.execute(_INSERT_DAYS, insert_days_params(workspace_id, days, as_of), prepare=False)
    sum_daily_totals(conn, workspace_id, days)
    return days, cursor.rowcount


def insert_days_params(workspace_id: int, days: list[date], as_of: datetime) -> dict[str, object]:
    """The parameters of the rollup's insert of `days` (in order), as of `as_of`."""
    return {"workspace": workspace_id, "as_of": as_of, "settled": settled_moment(as_of),
            "days": [utc_midnight(day) for day in days],
            "ends": [utc_midnight(day + timedelta(days=1)) for day in days],
            "first": utc_midnight(min(days)), "end": utc_midnight(max(days) + timedelta(days=1))}


def sum_daily_totals(conn: Conn, workspace_id: int, days: list[date]) -> None:
    """Write the daily totals of `days` from their daily_spend rows (deleted first by the caller)."""
    conn.execute(_TOTALS, (workspace_id, days))


def save_state(conn: Conn, workspace_id: int, coverage: DayWindow, as_of: datetime, run_id: int) -> None:
    conn.execute(
        """insert into analysis.rollup_state (workspace_id, synced_through, settled_through, window_start, window_end,
                                              run_id, updated_at)
           values (%s, %s, %s, %s, %s, %s, clock_timestamp())
           on conflict (workspace_id) do update
              set synced_through = excluded.synced_through,
                  settled_through = excluded.settled_through,
                  window_start = excluded.window_start,
                  window_end = excluded.window_end,
                  run_id = excluded.run_id, updated_at = excluded.updated_at""",
        (workspace_id, as_of, settled_moment(as_of), coverage.first_day, coverage.end_day, run_id),
    )


def refresh_daily_spend(conn: Conn, workspace_id: int, as_of: datetime, run_id: int,
                        history_years: int = DEFAULT_HISTORY_YEARS, *, state: RollupState | None) -> RollupResult:
    """Bring the rollup of the whole history before `as_of` up to date. Call inside the results transaction,
    with `state` as load_state read it there (locked).

    An as_of older than the rollup's makes the tables the rollup as of that past moment (a replay: the
    rollup stage leaves a fresher rollup alone otherwise, workers/jobs/rollup.py)."""
    coverage = history_window(as_of, history_years)
    if state is None or coverage.first_day > state[1] or coverage.end_day < state[2]:
        drop_uncovered(conn, workspace_id, coverage)
    ranges = stale_ranges(conn, workspace_id, coverage, as_of, state)
    rows_from = _rows_from(conn, workspace_id, ranges, coverage, as_of)
    # every request synced after the settled moment lies on a stale day, which the rebuild lists again; a
    # replay's list must not keep requests it no longer counts: rebuild_ranges empties it first
    days, rows = rebuild_ranges(conn, workspace_id, ranges, as_of, rows_from)
    save_state(conn, workspace_id, coverage, as_of, run_id)
    return RollupResult(days_recomputed=days, full_rebuild=state is None, rows_written=rows)


def _rows_from(conn: Conn, workspace_id: int, ranges: list[DayRange], coverage: DayWindow,
               as_of: datetime) -> date:
    """The first day that may hold rows: a rebuild reaching back to the history's first kept day (a first
    build, more history kept) starts at the workspace's first row, not years before it."""
    if not ranges or ranges[0][0] != coverage.first_day:
        return coverage.first_day
    first = first_row_day(conn, workspace_id, ranges[0], as_of)
    return ranges[0][1] if first is None else first


