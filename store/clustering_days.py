"""Reads and writes of the clustering stage's per-day aggregates (issue 7), a cache of meter.requests kept
current a day at a time.

- analysis.prompt_key_days: per UTC day and first hex digit, the distinct prompt keys and their
  counts as raw arrays (clustering.keys); rebuilt only for new days and days with late rows. A part
  without keys has no row (part 0 has one when the day has requests without a hash: it counts them).
- analysis.request_shape_days: per UTC day, the grid the request shapes are fitted on (SQL group-by).
- analysis.clustering_state: how far those cover, like analysis.rollup_state.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from psycopg.pq import TransactionStatus

from clustering.keys import DayParts, keys_from_heads
from clustering.shapes import Cells
from core.db import NO_FLUSH_WAIT, Conn
from core.errors import UserError
from core.periods import utc_midnight
from store.incremental import contiguous_ranges, plan_day_batches


@dataclass(frozen=True)
class ClusteringState:
    synced_through: datetime
    first_day: date
    end_day: date  # exclusive

    def as_tuple(self) -> tuple[datetime, date, date]:
        return self.synced_through, self.first_day, self.end_day


def load_state_and_timezone(conn: Conn, workspace_id: int) -> tuple[ClusteringState | None, str]:
    """The clustering's state (None before its first run) and the workspace's timezone (the shape cells' hours
    are local) in one query."""
    row = conn.execute("""select w.timezone, s.synced_through, s.first_day, s.end_day
                          from meter.workspaces w left join analysis.clustering_state s on s.workspace_id = w.id
                          where w.id = %s""", (workspace_id,)).fetchone()
    if row is None:
        raise UserError(f"no workspace with id {workspace_id}")
    return (None if row[1] is None else ClusteringState(row[1], row[2], row[3])), str(row[0])


def save_state(conn: Conn, workspace_id: int, first_day: date, end_day: date, as_of: datetime,
               run_id: int, *, sort_off: bool = False) -> tuple[int, int]:
    """Save the state; returns the stored days' (hashed, unhashed) requests, read by the same statement (a
    round trip less than day_totals after it; it sees the days this transaction wrote before it). `sort_off`:
    the statements after it in the transaction plan without sorts (read_shape_cells(sort_off=True) in it)."""
    row = conn.execute(
        """with saved as (
               insert into analysis.clustering_state (workspace_id, synced_through, first_day, end_day, run_id,
                                                      updated_at)
               values (%(ws)s, %(as_of)s, %(first)s, %(end)s, %(run)s, clock_timestamp())
               on conflict (workspace_id) do update
                  set synced_through = excluded.synced_through, first_day = excluded.first_day,
                      end_day = excluded.end_day, run_id = excluded.run_id, updated_at = excluded.updated_at)
           select totals.*, """ + ("set_config('enable_sort', 'off', true)" if sort_off else "null") + """
           from (""" + _DAY_TOTALS + ") as totals",
        {"ws": workspace_id, "as_of": as_of, "first": first_day, "end": end_day, "run": run_id}).fetchone()
    return _totals(row)


@contextmanager
def planner_setting(conn: Conn, name: str, value: str) -> Iterator[None]:
    """Set a planner setting for the statements inside, then put back what it was (in or out of a
    transaction: `set local` would outlive this block until the caller's transaction ends)."""
    # one round trip: the CTE's row (the setting as it was) is read before set_config runs on it
    row = conn.execute("""with was as materialized (select current_setting(%(name)s) as value)
                          select value, set_config(%(name)s, %(value)s, false) from was""",
                       {"name": name, "value": value}).fetchone()
    try:
        yield
    finally:
        # in a failed transaction the restore would raise over the real error; its rollback undoes the set
        if not conn.closed and row is not None and conn.info.transaction_status != TransactionStatus.INERROR:
            conn.execute("select set_config(%s, %s, false)", (name, row[0]))


def without_jit(conn: Conn) -> AbstractContextManager[None]:
    """Postgres's JIT compiles these simple scans for 100-150 ms each (their row estimates are large),
    several times what the scan itself takes."""
    return planner_setting(conn, "jit", "off")


@dataclass(frozen=True)
class KeyBatch:
    """The prompt keys of a batch of days, all the days' keys in one array (a day's are a run of it)."""

    days: list[date]
    unhashed: list[int]  # per day
    day: NDArray[np.int64]  # per key: its day's index in `days`
    keys: NDArray[np.int64]

    @property
    def requests(self) -> int:
        return len(self.keys) + sum(self.unhashed)


# A batch of consecutive days is read in one COPY and held whole (8 bytes a key, plus the text they arrive
# as), so its days' requests, as the rollup counted them, add up to at most this many; a day the rollup has
# no count for is read alone. A small workspace's month is one query; a large one's a day at a time.
BATCH_KEYS = 250_000


def day_prompt_key_batches(conn: Conn, workspace_id: int, days: Sequence[date], as_of: datetime,
                           requests_per_day: Mapping[date, int], *, jit_off: bool = False) -> Iterator[KeyBatch]:
    """The days' prompt keys, of the requests synced by `as_of`, a batch of consecutive days at a time
    (plan_day_batches: `requests_per_day` is what the rollup counted), each of `days` once, in order; a day
    without requests has no keys. `jit_off`: the caller's transaction on `conn` turned JIT off already
    (forget_days), so it is not set and put back here (two round trips)."""
    with nullcontext() if jit_off else without_jit(conn):
        for batch in plan_day_batches(days, requests_per_day, BATCH_KEYS):
            yield _copy_days_heads(conn, workspace_id, batch, as_of)


def _bad_hashes(workspace_id: int, day: date) -> UserError:
    return UserError(f"meter.requests of workspace {workspace_id} on {day} hold a prompt_hash that is "
                     "not a hex digest (clustering needs at least 16 lowercase hex digits): fix those rows "
                     "or the daemon's prompt hashing")


# One row a day: the day's hash heads laid end to end by string_agg. A row per request would be a
# protocol message per request (COPY sends one per row), which costs the client more than the scan.
# Several days are one group-by, each day's string held until its group is done (a batch's days hold at
# most BATCH_KEYS requests in all). The binary reply is parsed by hand (a fixed header, then four fields a row)
# because it is this narrow case.
_DAY_HEADS = """
    copy (select (date_bin('1 day', started_at, timestamptz '2000-01-01 00:00:00+00') at time zone 'UTC')::date,
                 count(*), count(prompt_hash), coalesce(string_agg(left(prompt_hash, 16), ''), '')
          from meter.requests
          where workspace_id = %s and started_at >= %s and started_at < %s and synced_at <= %s
          group by 1)
    to stdout (format binary)"""
_HEADER = 19  # signature (11) + flags (4) + header extension length (4), no extension
# field count, the date's length and value (days since 2000-01-01), two bigints' lengths and values, the
# text's length
_ROW = struct.Struct(">hiiiqiqi")
_EPOCH = date(2000, 1, 1)


def _copy_days_heads(conn: Conn, workspace_id: int, days: list[date], as_of: datetime) -> KeyBatch:
    """The keys of the requests of `days` (consecutive), from their hashes' first 16 hex digits, decoded
    together (a numpy pass per day cost more than a small workspace's keys)."""
    reply = bytearray()
    first, end = days[0], days[-1] + timedelta(days=1)
    with conn.cursor() as cursor, cursor.copy(_DAY_HEADS, (workspace_id, utc_midnight(first), utc_midnight(end),
                                                           as_of)) as copy:
        for block in copy:
            reply += block
    found: dict[date, tuple[int, int, memoryview]] = {}
    view = memoryview(reply)
    at = _HEADER
    while struct.unpack_from(">h", reply, at)[0] != -1:  # the trailer
        fields, _, day, _, requests, _, hashed, length = _ROW.unpack_from(reply, at)
        if fields != 4:
            raise RuntimeError("unexpected binary COPY layout for the prompt keys")
        at += _ROW.size
        found[_EPOCH + timedelta(days=day)] = (requests, hashed, view[at:at + length])
        at += length
    unhashed, hashed_per_day, heads = [], [], []
    for day in days:
        requests, hashed, head = found.get(day, (0, 0, memoryview(b"")))
        if len(head) != 16 * hashed:  # a hash shorter than 16 digits
            raise _bad_hashes(workspace_id, day)
        unhashed.append(requests - hashed)
        hashed_per_day.append(hashed)
        heads.append(head)
    try:
        keys = keys_from_heads(b"".join(heads))
    except ValueError:
        bad = next((day for day, head in zip(days, heads, strict=True) if not _decodes(head)), days[0])
        raise _bad_hashes(workspace_id, bad) from None
    return KeyBatch(days, unhashed, np.repeat(np.arange(len(days), dtype=np.int64), hashed_per_day), keys)


def _decodes(heads: memoryview) -> bool:
    try:
        keys_from_heads(bytes(heads))
    except ValueError:
        return False
    return True


def forget_days(conn: Conn, workspace_id: int, keep_from: date, keep_to: date, rebuild: Sequence[date], *,
                jit_off: bool = False) -> str | None:
    """Drop the per-day aggregates outside [keep_from, keep_to) and those of the days to rebuild; the
    transaction also commits without waiting for the WAL flush (core.db.NO_FLUSH_WAIT: call it in the
    aggregates' own transaction, a cache); with `jit_off`, JIT is off for the rest of the transaction
    (for the day keys' reads, as without_jit would set it) and the setting as it was is returned, for
    rebuild_shape_days to put back. One statement for all of it: a round trip each saved."""
    # the CTE's row (the setting as it was) is read before set_config runs on it, as in planner_setting
    row = conn.execute(f"""with keys as (delete from analysis.prompt_key_days
                                         where workspace_id = %(ws)s
                                           and (day < %(from)s or day >= %(to)s or day = any(%(days)s))),
                                cells as (delete from analysis.request_shape_days
                                          where workspace_id = %(ws)s
                                            and (day < %(from)s or day >= %(to)s or day = any(%(days)s))),
                                was as materialized (select current_setting('jit') as jit)
                           select {NO_FLUSH_WAIT}, was.jit,
                                  {"set_config('jit', 'off', true)" if jit_off else 'null'}
                           from was""",
                       {"ws": workspace_id, "from": keep_from, "to": keep_to, "days": list(rebuild)}).fetchone()
    return None if row is None or not jit_off else str(row[1])


def write_key_days(conn: Conn, workspace_id: int, days: Sequence[date], parts: DayParts,
                   unhashed: Sequence[int]) -> None:
    """Several days' key runs (clustering.keys.parts_of_days, their day indexes into `days`) and their unhashed
    requests: a row per run (day, part) with keys, and part 0 of a day with unhashed requests (it carries their
    count) even without keys. A small workspace's day has keys in a few parts, and a row per empty part was
    most of what its days cost to write. One INSERT (the rows are few, at most 16 a day, where a COPY through
    store.bulk's staging table is six round trips): all the runs' keys and counts as two binary strings the
    server cuts per row, the rest as array literals (psycopg adapts a list element by element in Python,
    which cost more than the rows' arithmetic)."""
    bounds, run_day, run_part = parts.bounds.tolist(), parts.day.tolist(), parts.part.tolist()
    requests = parts.run_requests()
    named = [day.isoformat() for day in days]
    rows: list[tuple[str, int, int, int, int, int]] = []  # day, part, first key, end key, requests, unhashed
    run = 0
    for index in range(len(days)):
        if unhashed[index] and not (run < len(run_day) and run_day[run] == index and run_part[run] == 0):
            rows.append((named[index], 0, 0, 0, 0, unhashed[index]))
        while run < len(run_day) and run_day[run] == index:
            rows.append((named[index], run_part[run], bounds[run], bounds[run + 1], requests[run],
                         unhashed[index] if run_part[run] == 0 else 0))
            run += 1
    if not rows:
        return
    # little-endian, as read_key_parts reads them; offsets fit an integer (a bytea is at most 1 GB)
    conn.execute(
        """insert into analysis.prompt_key_days (workspace_id, day, part, keys, counts, requests, unhashed_requests)
           select %s, day, part, substring(%b::bytea from 8 * first + 1 for 8 * (stop - first)),
                  substring(%b::bytea from 4 * first + 1 for 4 * (stop - first)), requests, unhashed
           from unnest(%s::date[], %s::smallint[], %s::integer[], %s::integer[], %s::bigint[], %s::bigint[])
                as runs(day, part, first, stop, requests, unhashed)""",
        (workspace_id, parts.keys.astype("<i8").tobytes(), parts.counts.astype("<i4").tobytes(),
         *(_array_literal(column) for column in zip(*rows, strict=True))))


def _array_literal(values: Sequence[int | str]) -> str:
    """An array literal of numbers or ISO dates (nothing to quote)."""
    return "{" + ",".join(map(str, values)) + "}"


def read_key_parts(conn: Conn, workspace_id: int, first_day: date, end_day: date,
                   parts: Sequence[int]) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """The stored keys and counts of `parts` over the days, in one query, all end to end (a key seen on
    several days is there once a day): one pair of arrays, not one per stored (day, part), which on a small
    workspace's month are a couple of hundred tiny arrays."""
    rows = conn.execute(
        """select keys, counts from analysis.prompt_key_days
           where workspace_id = %s and day >= %s and day < %s and part = any(%s) order by part, day""",
        (workspace_id, first_day, end_day, list(parts)), binary=True).fetchall()  # binary: no hex to decode
    return (np.frombuffer(b"".join(row[0] for row in rows), dtype="<i8").astype(np.int64),
            np.frombuffer(b"".join(row[1] for row in rows), dtype="<i4").astype(np.int32))


_DAY_TOTALS = """select coalesce(sum(requests), 0), coalesce(sum(unhashed_requests), 0) from analysis.prompt_key_days
                 where workspace_id = %(ws)s and day >= %(first)s and day < %(end)s"""


def day_totals(conn: Conn, workspace_id: int, first_day: date, end_day: date) -> tuple[int, int]:
    """(hashed, unhashed) requests of the stored days."""
    return _totals(conn.execute(_DAY_TOTALS, {"ws": workspace_id, "first": first_day, "end": end_day}).fetchone())


def _totals(row: tuple[Any, ...] | None) -> tuple[int, int]:
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


# The hour is local to the workspace: a "nightly" shape is nightly where the team lives. Bins use
# float ln (numeric log() costs microseconds a row); the epsilon keeps exact powers of two in their bin.
_SHAPE_GRID = """
    insert into analysis.request_shape_days (workspace_id, day, project_id, model, provider, prompt_bin,
                                             output_bin, hour, requests, cost_nanos)
    select %(workspace)s, (utc_midnight at time zone 'UTC')::date, project_id, model, provider, prompt_bin,
           output_bin, hour, count(*), sum(cost_nanos)
    from (
        select date_bin('1 day', started_at, timestamptz '2000-01-01 00:00:00+00') as utc_midnight,
               project_id, model, provider, cost_nanos,
               floor(ln(greatest(input_tokens + cache_read_tokens + cache_write_tokens, 1)::float8)
                     / ln(2.0::float8) + 1e-9)::smallint as prompt_bin,
               floor(ln(greatest(output_tokens, 1)::float8) / ln(2.0::float8) + 1e-9)::smallint as output_bin,
               extract(hour from started_at at time zone %(timezone)s)::smallint as hour
        from meter.requests
        where workspace_id = %(workspace)s and started_at >= %(start)s and started_at < %(end)s
          and synced_at <= %(as_of)s
    ) as cells
    group by 2, 3, 4, 5, 6, 7, 8"""


def rebuild_shape_days(conn: Conn, workspace_id: int, timezone: str, days: Sequence[date], as_of: datetime, *,
                       jit: str | None = None) -> int:
    """Replace nothing, insert the cells of `days` (call inside a transaction, after forget_days). `jit`: the
    setting forget_days(jit_off=True) returned, put back for these inserts in the same statement as work_mem."""
    # tens of thousands of cells a day: with the default 4 MB the group-by spills to disk (1.4x slower)
    if jit is None:
        conn.execute("set local work_mem = '64MB'")
    else:
        conn.execute("select set_config('work_mem', '64MB', true), set_config('jit', %s, true)", (jit,))
    written = 0
    for first, end in contiguous_ranges(list(days)):
        # never prepared: a generic plan is not planned for these days (store/rollup.py's rebuild_ranges says why)
        cursor = conn.execute(_SHAPE_GRID, {"workspace": workspace_id, "timezone": timezone, "as_of": as_of,
                                            "start": utc_midnight(first), "end": utc_midnight(end)}, prepare=False)
        written += cursor.rowcount
    return written


def read_shape_cells(conn: Conn, workspace_id: int, first_day: date, end_day: date, *, sort_off: bool = False) -> Cells:
    """The days' cells summed over the days, in no order (clustering.shapes sorts them). `sort_off`: the caller's
    transaction turned sorts off already (save_state(sort_off=True)), so they are not turned off and back on
    here (two round trips)."""
    # 30 days of cells are 700,000 rows for 10M requests. Unless the table's statistics are fresh (the
    # fleet's role may not ANALYZE) the planner expects a handful and sorts them on disk to group them:
    # 1.9 s where hashing them takes 0.35 s. No ORDER BY: request_shapes sorts the groups. The cells come as
    # one row of a binary array per column: a Python tuple per cell cost three times the client CPU (26,000
    # cells: 25 ms against 8) and kept the garbage collector busy.
    with nullcontext() if sort_off else planner_setting(conn, "enable_sort", "off"):
        row = conn.execute(
            """select array_agg(project_id), array_agg(model), array_agg(provider), array_agg(prompt_bin),
                      array_agg(output_bin), array_agg(hour), array_agg(requests), array_agg(cost_nanos)
               from (select coalesce(project_id, -1), model, provider, prompt_bin, output_bin, hour,
                            sum(requests)::bigint, sum(cost_nanos)::bigint
                     from analysis.request_shape_days where workspace_id = %s and day >= %s and day < %s
                     group by 1, 2, 3, 4, 5, 6)
                    as cells (project_id, model, provider, prompt_bin, output_bin, hour, requests, cost_nanos)""",
            (workspace_id, first_day, end_day), binary=True).fetchone()
    if row is None or row[0] is None:  # no cells: the aggregates of no rows are null
        return Cells.from_rows([])
    return Cells.from_columns(*row)
