"""The catalog's reads of a window, aggregate first (checks/usage.py says what each part is for).

    usage = read_usage(conn, ws, start, end, synced_by=as_of, timezone=tz, rates=rates)  # one grouped scan
    rows = read_hashed_requests(conn, ws, start, end, hashes, synced_by=as_of)           # prompt_hash index
    ids = sample_ids(conn, ws, start, end, SampleScope(...), synced_by=as_of)             # started_at index

Why the scan is shaped this way: it groups only by plain columns (project, provider, model, tier,
status), whose statistics tell the planner the result is small, so Postgres aggregates in parallel
workers as it does for the bare `GROUP BY`; everything else (sizes against edges, night hours, local days,
capped output) is an aggregate. Grouping by an expression of the tokens or of started_at instead makes the
planner expect millions of groups and aggregate on one core, 2-3x slower. `array_agg` has no parallel
combine step before Postgres 16, so the odd requests come from their own partial index (migration 0009).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from psycopg import sql

from checks.base import MAX_SAMPLES, REQUEST_COLUMNS, SampleScope
from checks.usage import (
    BOUND_COLUMNS,
    DEVICE_COLUMNS,
    GROUP_KEYS,
    NIGHT_HOURS,
    OUTPUT_EDGES,
    PROMPT_EDGES,
    SUM_COLUMNS,
    VISIBLE_EDGES,
    Usage,
    long_line,
    segment_of,
    segment_starts,
)
from core.db import Conn
from pricing import RateTable
from store.frames import Condition, read_requests

PROMPT = "(input_tokens + cache_read_tokens + cache_write_tokens)"


def _scan_query(segments: list[datetime], first_local_day: object) -> tuple[sql.Composed, list[object]]:
    segment = sql.SQL(" + ").join([sql.SQL("(started_at >= {})::int").format(sql.Literal(b)) for b in segments]) \
        if segments else sql.SQL("0")
    sums = {
        "requests": "count(*)",
        "input_tokens": "sum(input_tokens)", "cache_read_tokens": "sum(cache_read_tokens)",
        "cache_write_tokens": "sum(cache_write_tokens)", "output_tokens": "sum(output_tokens)",
        "reasoning_tokens": "sum(reasoning_tokens)", "cost_nanos": "sum(cost_nanos)",
        "capped_output_tokens": "sum(output_tokens - reasoning_tokens + least(reasoning_tokens, "
                                "output_tokens - reasoning_tokens))",
        "reasoning_requests": "count(*) filter (where reasoning_tokens > 0)",
        "writing_requests": "count(*) filter (where cache_write_tokens > 0)",
        # the session's time zone is the workspace's for this query (set_config below)
        "night_requests": f"count(*) filter (where date_part('hour', started_at) < {NIGHT_HOURS})",
        **{f"prompt_le_{e}": f"count(*) filter (where {PROMPT} <= {e})" for e in PROMPT_EDGES},
        **{f"output_le_{e}": f"count(*) filter (where output_tokens <= {e})" for e in OUTPUT_EDGES},
        **{f"visible_le_{e}": f"count(*) filter (where output_tokens - reasoning_tokens <= {e})"
           for e in VISIBLE_EDGES},
        "max_prompt": f"max({PROMPT})", "first_at": "min(started_at)", "last_at": "max(started_at)",
        "local_days": "bit_or(1::bigint << (started_at::date - %(first_day)s::date))",
    }
    assert list(sums) == [*SUM_COLUMNS, *BOUND_COLUMNS]
    query = sql.SQL("""
        select coalesce(project_id, -1), provider, model, service_tier, status_code, {segment}, {sums}
        from meter.requests
        where workspace_id = %(ws)s and started_at >= %(start)s and started_at < %(end)s
          and synced_at <= %(synced_by)s
        group by 1, 2, 3, 4, 5, 6""").format(
        segment=segment, sums=sql.SQL(", ").join(sql.SQL(expression) for expression in sums.values()))
    return query, [first_local_day]


def read_usage(conn: Conn, workspace_id: int, start: datetime, end: datetime, *, synced_by: datetime,
               timezone: str, rates: RateTable) -> Usage:
    """The window as checks.usage.Usage: one grouped scan, the odd requests, the devices."""
    segments = segment_starts(rates, start, end)
    first_local_day = pd.Timestamp(start).tz_convert(timezone).date()
    query, _ = _scan_query(segments, first_local_day)
    params = {"ws": workspace_id, "start": start, "end": end, "synced_by": synced_by, "first_day": first_local_day}
    with conn.transaction():
        conn.execute("select set_config('TimeZone', %s, true)", (timezone,))
        rows = conn.execute(query, params).fetchall()
    groups = pd.DataFrame(rows, columns=[*GROUP_KEYS, *SUM_COLUMNS, *BOUND_COLUMNS])
    integer = [c for c in (*SUM_COLUMNS, "project_id", "status_code", "segment", "max_prompt", "local_days")]
    groups[integer] = groups[integer].astype("int64")
    line = long_line(rates)
    odd = read_odd_requests(conn, workspace_id, start, end, line, synced_by=synced_by)
    odd = odd.assign(segment=segment_of(odd["started_at"], segments))
    devices = read_devices(conn, workspace_id, start, end)
    return Usage(groups, odd, devices, line, first_local_day)


def read_odd_requests(conn: Conn, workspace_id: int, start: datetime, end: datetime, line: int, *,
                      synced_by: datetime) -> pd.DataFrame:
    """Requests with a prompt above `line`, or successful without output (the partial index of 0009)."""
    condition = Condition(sql.SQL("({} > {} or (status_code = 200 and output_tokens = 0))").format(
        sql.SQL(PROMPT), sql.Literal(line)))
    return read_requests(conn, workspace_id, start, end, REQUEST_COLUMNS, synced_by=synced_by, condition=condition,
                         whole_window=True)


def read_hashed_requests(conn: Conn, workspace_id: int, start: datetime, end: datetime, hashes: list[str], *,
                         synced_by: datetime) -> pd.DataFrame:
    """Every request of the window with one of these prompt hashes (through the prompt_hash index)."""
    condition = Condition(sql.SQL("prompt_hash = any(%s)"), (hashes,))
    return read_requests(conn, workspace_id, start, end, REQUEST_COLUMNS, synced_by=synced_by, condition=condition,
                         whole_window=True)


def read_devices(conn: Conn, workspace_id: int, start: datetime, end: datetime) -> pd.DataFrame:
    """Which devices sent successful requests per (project, model, tier): from the daily rollup, whose UTC
    days cover the window (a day cut by the window's edge counts whole: the list only names devices)."""
    rows = conn.execute(
        """select distinct coalesce(project_id, -1), model, service_tier, device_id from analysis.daily_spend
           where workspace_id = %s and day >= %s and day <= %s and requests > errors""",
        (workspace_id, start.date(), (end - timedelta(microseconds=1)).date())).fetchall()
    return pd.DataFrame(rows, columns=DEVICE_COLUMNS).astype({"project_id": "int64", "device_id": "int64"})


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
