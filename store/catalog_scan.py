"""The catalog's reads of a window, aggregate first (checks/usage.py says what each part is for).

    usage = read_usage(conn, ws, start, end, synced_by=as_of, timezone=tz, rates=rates)
    rows = read_hashed_requests(conn, ws, start, end, hashes, synced_by=as_of)   # the prompt_hash index
    ids = sample_ids(conn, ws, start, end, SampleScope(...), synced_by=as_of)     # the started_at index

`read_usage` keeps analysis.catalog_daily up to date and reads it: the sums of whole UTC days are built
once and rebuilt only when rows for that day were synced since (late rows from an offline daemon), like
analysis.daily_spend; the partial days at the window's edges (an as_of that is not midnight) are summed
on the fly, through the started_at index. Why not one grouped scan of the window per run: every sum and
count the checks need makes that scan 2.5-3x a bare `GROUP BY project, model` of the same rows (each
aggregate costs per row; grouping by an expression also makes the planner expect millions of groups and
give up its parallel workers), while the nightly catalog then only reads about thirty days of a few
hundred rows each. A replay for an as_of before the table's own sums the window on the fly, leaving the
table as it is (as the rollup does).

The odd requests (above a long-context line, or successful without output) are kept one by one in
analysis.catalog_odd_requests, built with the same days; the clustering stage's hashes' requests come
through the prompt_hash index.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
from psycopg import sql

from checks.base import MAX_SAMPLES, REQUEST_COLUMNS, SampleScope
from checks.usage import (
    BOUND_COLUMNS,
    DEVICE_COLUMNS,
    GROUP_KEYS,
    NIGHT_HOURS,
    ODD_COLUMNS,
    OUTPUT_EDGES,
    PROMPT_EDGES,
    SUM_COLUMNS,
    VISIBLE_EDGES,
    Columns,
    Usage,
    day_keys_of,
    long_line,
    odd_with_keys,
)
from core.db import NO_FLUSH_WAIT, Conn
from core.periods import utc_midnight
from pricing import RateTable
from store.frames import REQUEST_COLUMNS as FRAME_COLUMNS
from store.frames import (
    Chunk,
    Condition,
    copy_table,
    empty_frame,
    read_request_ranges_table,
    read_requests,
    requests_frame,
)
from store.incremental import DayWindow, contiguous_ranges, days_to_recompute
from store.reads import Read, frame_of

PROMPT = "(input_tokens + cache_read_tokens + cache_write_tokens)"
_SUMS: dict[str, str] = {
    "requests": "count(*)",
    "input_tokens": "sum(input_tokens)", "cache_read_tokens": "sum(cache_read_tokens)",
    "cache_write_tokens": "sum(cache_write_tokens)", "output_tokens": "sum(output_tokens)",
    "reasoning_tokens": "sum(reasoning_tokens)",
    "capped_output_tokens": "sum(output_tokens - reasoning_tokens + least(reasoning_tokens, "
                            "output_tokens - reasoning_tokens))",
    "reasoning_requests": "count(*) filter (where reasoning_tokens > 0)",
    "writing_requests": "count(*) filter (where cache_write_tokens > 0)",
    **{f"prompt_le_{e}": f"count(*) filter (where {PROMPT} <= {e})" for e in PROMPT_EDGES},
    **{f"output_le_{e}": f"count(*) filter (where output_tokens <= {e})" for e in OUTPUT_EDGES},
    **{f"visible_le_{e}": f"count(*) filter (where output_tokens - reasoning_tokens <= {e})" for e in VISIBLE_EDGES},
    "max_prompt": f"max({PROMPT})", "first_at": "min(started_at)",
}
assert list(_SUMS) == [*SUM_COLUMNS, *BOUND_COLUMNS]
COLUMNS = [*GROUP_KEYS, *SUM_COLUMNS, *BOUND_COLUMNS]

# The UTC day is made once per group from date_bin (integer arithmetic), as the rollup does; the local
# day and hour use the session's time zone, set to the workspace's by _in_workspace_zone.
_AGGREGATE_OF = sql.SQL("""
    select (utc_midnight at time zone 'UTC')::date, {keys}
    from (select date_bin('1 day', started_at, timestamptz '2000-01-01 00:00:00+00') as utc_midnight,
                 coalesce(project_id, -1) as project_id, provider, model, service_tier, status_code,
                 started_at::date as local_day, date_part('hour', started_at) < {night} as night, {sums}
          from meter.requests
          where workspace_id = %(ws)s and {within}
            and synced_at <= %(as_of)s
          group by 1, 2, 3, 4, 5, 6, 7, 8) as per_day""")


def _aggregate_sql(*ranges: tuple[str, str]) -> sql.Composed:
    """The per-day sums of the time ranges [%(start)s, %(end)s) named by these pairs of parameter names (the
    window's two edges in one statement need two names each), in one scan: the ranges are different UTC days
    (Days.edges), so no group takes rows of two of them, and one aggregate is planned where each range's own
    cost the server as much again (half a millisecond a range, however few its rows)."""
    within = [sql.SQL("started_at >= {} and started_at < {}").format(sql.Placeholder(start), sql.Placeholder(end))
              for start, end in ranges]
    return _AGGREGATE_OF.format(
        keys=sql.SQL(", ").join(sql.Identifier(c) for c in [*GROUP_KEYS[1:], *SUM_COLUMNS, *BOUND_COLUMNS]),
        night=sql.Literal(NIGHT_HOURS),
        within=within[0] if len(within) == 1 else sql.SQL("({})").format(
            sql.SQL(" or ").join(sql.SQL("({})").format(w) for w in within)),
        sums=sql.SQL(", ").join(sql.SQL("{} as {}").format(sql.SQL(e), sql.Identifier(c)) for c, e in _SUMS.items()))


_AGGREGATE = _aggregate_sql(("start", "end"))


def _rendered(query: sql.Composable) -> sql.Composed:
    """A fixed statement's text rendered once: psycopg renders a Composed again at every execute (a walk of its
    hundreds of parts, ~0.1-0.3 ms a statement); the text of one SQL part is only encoded. Identifiers and
    literals rendered without a connection are the same bytes for these ASCII names and integers (a test
    holds them equal to the connection's rendering)."""
    return sql.Composed([sql.SQL(query.as_string())])


@dataclass(frozen=True)
class Days:
    """The whole UTC days of a window, and the partial ones at its edges as time ranges."""

    first: date
    end: date  # exclusive
    edges: tuple[tuple[datetime, datetime], ...]

    @classmethod
    def of(cls, start: datetime, end: datetime) -> Days:
        first = (start - timedelta(microseconds=1)).astimezone(UTC).date() + timedelta(days=1)
        last = end.astimezone(UTC).date()
        if first >= last:  # no whole day: the window is all edge
            return cls(first, first, ((start, end),))
        edges = [(a, b) for a, b in ((start, utc_midnight(first)), (utc_midnight(last), end)) if a < b]
        return cls(first, last, tuple(edges))

    def all(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.end - self.first).days)]


def read_usage(conn: Conn, workspace_id: int, start: datetime, end: datetime, *, synced_by: datetime,
               timezone: str, rates: RateTable, devices: pd.DataFrame | None = None) -> Usage:
    """The window as checks.usage.Usage: analysis.catalog_daily (refreshed) and its edges, the odd requests,
    the devices (`devices`: as devices_read built them, read with other reads; None: read here)."""
    days, line = Days.of(start, end), long_line(rates)
    with conn.transaction():
        # the session's settings, the state and the days' rebuild in one pipeline: three round trips where they
        # were six (it waits only for the state and the stale days; a COPY cannot run in a pipeline)
        with conn.pipeline():
            _in_workspace_zone(conn, timezone)
            fresh = refresh_catalog_daily(conn, workspace_id, days, synced_by, timezone, line)
        ranges = list(days.edges) if fresh else [(start, end)]
        # the stored whole days and the edges (or a replay's window) summed on the fly, in one COPY
        found = _read_groups(conn, workspace_id, days if fresh else None, ranges, synced_by)
        # the stored odd requests of the whole days and the edges' from meter.requests, in one COPY
        odd = read_odd_requests(conn, workspace_id, ranges, line, synced_by=synced_by,
                                stored=days if fresh else None)
    # in the order of their keys (the statement's ORDER BY), not the order the rows lie in (a rebuilt day's rows
    # move): the checks read the same columns from the same data however the stored days were last written
    if devices is None:
        devices = read_devices(conn, workspace_id, start, end)
    return Usage(group_arrays(found), odd_arrays(odd, timezone), devices, line,
                 lambda: odd_with_keys(requests_frame(odd, REQUEST_COLUMNS), timezone))


def group_arrays(table: pa.Table) -> Columns:
    """Usage.columns of the groups' Arrow table, without a frame between them (pandas' conversion of a few hundred
    rows costs a third of a millisecond, taking the columns back out of it as much again): the days as datetime.date
    objects, the texts as str objects, first_at as datetime64[us] (UTC), the rest as typed (int64, bool)."""
    columns: Columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        values = column.to_numpy()
        columns[name] = values.astype(object) if name in ("day", "local_day") else values
    return columns


def odd_arrays(table: pa.Table, timezone: str) -> Columns:
    """Usage.odd_columns of the odd requests' Arrow table (checks.usage.odd_columns of the frame odd_with_keys
    makes of it, without that frame: pandas' conversion and the keys' concat cost most of a millisecond for a few
    rows); the time keys as checks.usage.day_keys makes them (day_keys_of). No rows (a small workspace's usual answer):
    copies of the arrays this makes of an empty table, made once (the time keys' pandas conversion costs half a
    millisecond however few the rows)."""
    if not table.num_rows:
        return {name: values.copy() for name, values in _no_odd_arrays(table.schema).items()}
    return _odd_arrays(table, timezone)


def _odd_arrays(table: pa.Table, timezone: str) -> Columns:
    columns: Columns = {}
    for name in ODD_COLUMNS[:-3]:
        values = table.column(name).to_numpy()
        columns[name] = np.asarray(values, np.int64) if values.dtype.kind == "i" else values
    return {**columns, **day_keys_of(columns["started_at"], timezone)}


@functools.cache
def _no_odd_arrays(schema: pa.Schema) -> Columns:
    """odd_arrays of an empty table of this schema (its time keys are the same in every time zone)."""
    return _odd_arrays(schema.empty_table(), "UTC")


def _in_workspace_zone(conn: Conn, timezone: str) -> None:
    """For the current transaction: local dates and hours in the workspace's zone; no JIT (compiling the
    dozen aggregates' expressions costs more than it saves); hash aggregation, never a sort: grouping by
    expressions of started_at makes the planner expect a group per row and sort (twice as slow), where
    a day has a few hundred groups. The transaction (the catalog's days, a cache) commits without waiting
    for the WAL flush (core.db.NO_FLUSH_WAIT)."""
    conn.execute("select set_config('TimeZone', %s, true), set_config('jit', 'off', true), "
                 f"set_config('enable_sort', 'off', true), {NO_FLUSH_WAIT}", (timezone,))


def _read_groups(conn: Conn, workspace_id: int, stored: Days | None, ranges: Sequence[tuple[datetime, datetime]],
                 as_of: datetime) -> pa.Table:
    """COLUMNS of the `stored` whole days (analysis.catalog_daily) and the per-day sums of these time ranges
    (the window's edges, or a replay's window) summed on the fly, in the order of their keys: one statement, one
    COPY. Nothing: no query."""
    types = {c: _DAY_TYPES[c] for c in COLUMNS}
    if stored is None and not ranges:
        return pa.schema(list(types.items())).empty_table()
    return copy_table(conn, *_aggregate_query(workspace_id, ranges, as_of, stored), types)


def _aggregate_query(workspace_id: int, ranges: Sequence[tuple[datetime, datetime]], as_of: datetime,
                     stored: Days | None = None) -> tuple[sql.Composed, dict[str, object]]:
    params: dict[str, object] = {"ws": workspace_id, "as_of": as_of}
    if stored is not None:
        params |= {"first": stored.first, "end": stored.end}
    for i, (start, end) in enumerate(ranges):
        params |= {f"start{i}": start, f"end{i}": end}
    return _groups_union(stored is not None, len(ranges)), params


_STORED_DAYS = sql.SQL("select {} from analysis.catalog_daily where workspace_id = %(ws)s and day >= %(first)s "
                       "and day < %(end)s").format(sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS))


# The rows in the order of GROUP_KEYS, as pandas' sort_values orders them (it cost 2-3 ms a read on a few hundred
# rows; the server sorts them in microseconds): the keys are distinct (each day's sums are grouped by them, and the
# stored days and the edges are different days), so the order is total; text in code point order (collation
# "C", whatever the database's), false before true, no nulls (the keys are never null).
_ORDER = sql.SQL(", ").join(sql.SQL('{} collate "C"').format(sql.Identifier(k)) if k in ("provider", "model",
                                                                                            "service_tier")
                             else sql.Identifier(k) for k in GROUP_KEYS)


def _groups_union_of(stored: bool, ranges: int) -> sql.Composed:
    """The statement of the stored days (when `stored`) and `ranges` time ranges, in the order of their keys."""
    summed = [_aggregate_sql(*((f"start{i}", f"end{i}") for i in range(ranges)))] if ranges else []
    union = sql.SQL(" union all ").join([*([_STORED_DAYS] if stored else []), *summed])
    return sql.SQL("select * from ({}) as g ({}) order by {}").format(
        union, sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS), _ORDER)


@functools.cache
def _groups_union(stored: bool, ranges: int) -> sql.Composed:
    """_groups_union_of composed and rendered once (composing costs milliseconds a call)."""
    return _rendered(_groups_union_of(stored, ranges))


_DAY_TYPES = {"day": pa.date32(), "project_id": pa.int64(), "provider": pa.string(), "model": pa.string(),
              "service_tier": pa.string(), "status_code": pa.int64(), "local_day": pa.date32(), "night": pa.bool_(),
              **{c: pa.int64() for c in (*SUM_COLUMNS, "max_prompt")}, "first_at": pa.timestamp("us", tz="UTC")}


def refresh_catalog_daily(conn: Conn, workspace_id: int, days: Days, as_of: datetime, timezone: str,
                          line: int) -> bool:
    """Bring the window's whole days of analysis.catalog_daily and catalog_odd_requests up to `as_of`, in
    the caller's transaction. False when they are already complete beyond as_of (a replay): they are then
    left alone. A new time zone or long-context line rebuilds every day."""
    state = conn.execute("""select synced_through, first_day, end_day, timezone, long_line
                            from analysis.catalog_daily_state where workspace_id = %s for update""",
                         (workspace_id,)).fetchone()
    if state is not None and as_of < state[0]:
        return False
    same_rules = state is not None and state[3] == timezone and state[4] == line
    # the rollup's rule: new days, and built days that received rows since the last run
    stale, _ = days_to_recompute(conn, workspace_id, DayWindow(days.first, days.end), as_of,
                                 (state[0], state[1], state[2]) if state is not None and same_rules else None)
    conn.execute(_DELETE_DAYS, {"ws": workspace_id, "stale": stale, "first": days.first})
    for first, end in contiguous_ranges(stale):
        # never prepared: a generic plan is not planned for these days (store/rollup.py's rebuild_ranges says why)
        conn.execute(_INSERT_DAYS, {"ws": workspace_id, "start": utc_midnight(first), "end": utc_midnight(end),
                                    "as_of": as_of, "line": line}, prepare=False)
    conn.execute(
        """insert into analysis.catalog_daily_state (workspace_id, synced_through, first_day, end_day, timezone,
                                                     long_line, updated_at)
           values (%s, %s, %s, %s, %s, %s, now())
           on conflict (workspace_id) do update set synced_through = excluded.synced_through,
               first_day = excluded.first_day, end_day = excluded.end_day, timezone = excluded.timezone,
               long_line = excluded.long_line, updated_at = excluded.updated_at""",
        (workspace_id, as_of, days.first, days.end, timezone, line))
    return True


_ODD = f"({PROMPT} > %(line)s or (status_code = 200 and output_tokens = 0))"
_INSERT_ODD = sql.SQL("""
    insert into analysis.catalog_odd_requests (workspace_id, day, {columns})
    select %(ws)s, (date_bin('1 day', started_at, timestamptz '2000-01-01 00:00:00+00') at time zone 'UTC')::date,
           {expressions}
    from meter.requests
    where workspace_id = %(ws)s and started_at >= %(start)s and started_at < %(end)s and synced_at <= %(as_of)s
      and {odd}""").format(
    columns=sql.SQL(", ").join(sql.Identifier(c) for c in REQUEST_COLUMNS),
    expressions=sql.SQL(", ").join(sql.SQL(FRAME_COLUMNS[c][0]) for c in REQUEST_COLUMNS), odd=sql.SQL(_ODD))
# Both tables' rows of a range of days in one statement (one round trip); the two inserts read meter.requests
# only, never each other's table, so the one snapshot they share changes nothing
_INSERT_DAYS_OF = sql.SQL("""
    with sums as (insert into analysis.catalog_daily (workspace_id, {columns}) select %(ws)s, * from ({sums}) as d)
    {odd}""").format(columns=sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS), sums=_AGGREGATE, odd=_INSERT_ODD)
_INSERT_DAYS = _rendered(_INSERT_DAYS_OF)
# The stale days and the days before the window out of both tables, in one statement
_DELETE_DAYS = sql.SQL("""
    with sums as (delete from analysis.catalog_daily
                  where workspace_id = %(ws)s and (day = any(%(stale)s) or day < %(first)s))
    delete from analysis.catalog_odd_requests
    where workspace_id = %(ws)s and (day = any(%(stale)s) or day < %(first)s)""")


_ODD_DAYS_OF = sql.SQL("select {} from analysis.catalog_odd_requests where workspace_id = %s and day >= %s "
                        "and day < %s").format(sql.SQL(", ").join(sql.Identifier(c) for c in REQUEST_COLUMNS))
_ODD_DAYS = _rendered(_ODD_DAYS_OF)


def read_odd_requests(conn: Conn, workspace_id: int, ranges: Sequence[tuple[datetime, datetime]], line: int, *,
                      synced_by: datetime, stored: Days | None = None) -> pa.Table:
    """Requests of these time ranges with a prompt above `line`, or successful without output, from
    meter.requests (a scan of each range: the window's edges, or a replay), after those analysis.
    catalog_odd_requests holds for the `stored` whole days, all in one COPY (store.frames.requests_frame makes
    the table a frame)."""
    condition = Condition(sql.SQL(_ODD.replace("%(line)s", "{}")).format(sql.Literal(line)))
    leading = None if stored is None else (_ODD_DAYS, [workspace_id, stored.first, stored.end])
    return read_request_ranges_table(conn, workspace_id, [Chunk(a, b) for a, b in ranges], REQUEST_COLUMNS,
                                     synced_by=synced_by, condition=condition, leading=leading)


def read_hashed_requests(conn: Conn, workspace_id: int, start: datetime, end: datetime, hashes: list[str], *,
                         synced_by: datetime) -> pd.DataFrame:
    """Every request of the window with one of these prompt hashes (through the prompt_hash index)."""
    if not hashes:  # no query to find nothing
        return empty_frame(REQUEST_COLUMNS)
    condition = Condition(sql.SQL("prompt_hash = any(%s)"), (hashes,))
    return read_requests(conn, workspace_id, start, end, REQUEST_COLUMNS, synced_by=synced_by, condition=condition,
                         whole_window=True)


def read_devices(conn: Conn, workspace_id: int, start: datetime, end: datetime) -> pd.DataFrame:
    """Which devices sent successful requests per (project, model, tier): from the daily rollup, whose UTC
    days cover the window (a day cut by the window's edge counts whole: the list only names devices)."""
    return devices_read(workspace_id, start, end).run(conn)


def devices_read(workspace_id: int, start: datetime, end: datetime) -> Read[pd.DataFrame]:
    return Read("""select distinct coalesce(project_id, -1), model, service_tier, device_id from analysis.daily_spend
                   where workspace_id = %s and day >= %s and day <= %s and requests > errors""",
                (workspace_id, start.date(), (end - timedelta(microseconds=1)).date()),
                frame_of(DEVICE_COLUMNS, {"project_id": "int64", "device_id": "int64"}))


def sample_ids(conn: Conn, workspace_id: int, start: datetime, end: datetime, scope: SampleScope, *,
               synced_by: datetime) -> tuple[int, ...]:
    """Up to 20 ids of the scope's requests in the window, the latest first: a backward walk of the
    started_at index that stops at the 20th match."""
    where: list[sql.Composable] = [sql.SQL("workspace_id = %s"), sql.SQL("started_at >= %s"),
                                   sql.SQL("started_at < %s"), sql.SQL("synced_at <= %s")]
    params: list[object] = [workspace_id, max(start, scope.since) if scope.since else start, end, synced_by]
    if scope.project_id is not None:
        where.append(sql.SQL("project_id is null") if scope.project_id < 0 else sql.SQL("project_id = %s"))
        params.extend([] if scope.project_id < 0 else [scope.project_id])
    for column, value in (("model", scope.model), ("service_tier", scope.service_tier),
                          ("device_id", scope.device_id)):
        if value is not None:
            where.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
    if scope.successful:
        where.append(sql.SQL("status_code = 200"))
    if scope.cache_writes:
        where.append(sql.SQL("cache_write_tokens > 0"))
    if scope.with_output:
        where.append(sql.SQL("output_tokens > 0"))
    query = sql.SQL("select id from meter.requests where {} order by started_at desc, id desc limit {}").format(
        sql.SQL(" and ").join(where), sql.Literal(MAX_SAMPLES))
    return tuple(int(r[0]) for r in conn.execute(query, params).fetchall())
