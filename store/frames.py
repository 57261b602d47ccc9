"""Per-request columns of a workspace's window, streamed from Postgres into pandas frames.

Every stage that needs statistics over raw rows (clustering, checks, reconciliation's re-pricing)
reads them here, so none of them loops over rows in Python or uses `pd.read_sql`:

    for frame in request_frames(conn, ws, start, end, ["id", "started_at", "model", "cost_nanos"]):
        ...                                   # one UTC day at a time: bounded memory
    frame = read_requests(conn, ws, start, end, COLUMNS)   # the whole window, one frame
    for table in hash_groups(conn, ws, Chunk(start, end, prompt_heads=heads), COLUMNS, group_rows=100_000):
        ...                                   # whole hashes, one group at a time: bounded memory

How: `COPY (select …) TO STDOUT` in the text format, drained in bulk and parsed by pyarrow's C++ CSV reader
straight into typed Arrow columns (text columns as dictionaries, so pandas gets Categoricals): see
store/copy_stream.py. A reader thread pulls the next chunk from Postgres while pyarrow parses the one
before, so the two overlap on two cores.

Conventions of the frames:
- `started_at`/`synced_at` are datetime64[us, UTC];
- `provider`, `model`, `service_tier`, `attribution_tier`, `rates_version` are Categoricals
  (the fast path of pricing.price_requests);
- nullable integers come as int64 with a sentinel, never float: `project_id` and `max_tokens`
  -1 (NO_PROJECT / NO_MAX_TOKENS), `latency_ms` -1;
- `prompt_key` is the first 16 hex digits of prompt_hash as a signed 64-bit integer (0: no hash),
  which groups and sorts several times faster than the text; `prompt_hash` itself is available too.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from core.db import Conn
from store.copy_stream import Params, Rows, copy_bytes, copy_pieces_until, copy_text, parse_text, read_ahead

NO_PROJECT = -1
NO_MAX_TOKENS = -1
NO_PROMPT_KEY = 0
PIECE_BYTES = 4 << 20  # hash_groups reads its one query's output in pieces of about this size
# 'x' || 16 hex digits cast through bit(64) is Postgres's exact hex-to-bigint (two's complement)
PROMPT_KEY_SQL = "('x' || substr(prompt_hash, 1, 16))::bit(64)::bigint"

_CATEGORY = pa.dictionary(pa.int32(), pa.string())
_TIME = pa.timestamp("us", tz="UTC")

# name -> (SQL expression over meter.requests, Arrow type)
REQUEST_COLUMNS: dict[str, tuple[str, pa.DataType]] = {
    "id": ("id", pa.int64()),
    "started_at": ("started_at", _TIME),
    "synced_at": ("synced_at", _TIME),
    "device_id": ("device_id", pa.int64()),
    "project_id": (f"coalesce(project_id, {NO_PROJECT})", pa.int64()),
    "attribution_tier": ("attribution_tier", _CATEGORY),
    "provider": ("provider", _CATEGORY),
    "model": ("model", _CATEGORY),
    "service_tier": ("service_tier", _CATEGORY),
    "status_code": ("status_code", pa.int16()),
    "latency_ms": ("coalesce(latency_ms, -1)", pa.int32()),
    "input_tokens": ("input_tokens", pa.int64()),
    "cache_read_tokens": ("cache_read_tokens", pa.int64()),
    "cache_write_tokens": ("cache_write_tokens", pa.int64()),
    "output_tokens": ("output_tokens", pa.int64()),
    "reasoning_tokens": ("reasoning_tokens", pa.int64()),
    "max_tokens": (f"coalesce(max_tokens, {NO_MAX_TOKENS})", pa.int64()),
    "cost_nanos": ("cost_nanos", pa.int64()),
    "rates_version": ("rates_version", _CATEGORY),
    "prompt_hash": ("prompt_hash", pa.string()),
    "prompt_key": (f"coalesce({PROMPT_KEY_SQL}, {NO_PROMPT_KEY})", pa.int64()),
    # the UTC day of started_at as days since 1970-01-01 (an integer parses far faster than a timestamp)
    "utc_day": ("floor(date_part('epoch', started_at) / 86400)::integer", pa.int32()),
}


@dataclass(frozen=True)
class Chunk:
    """One slice of the window: a UTC day [start, end), optionally narrowed to some prompt prefixes."""

    start: datetime
    end: datetime
    # only the rows whose prompt_hash starts with one of these (the index on (workspace_id,
    # prompt_hash) answers each with a range scan): how clustering fetches its repeated hashes
    prompt_prefixes: tuple[str, ...] | None = None
    # the same rows found by one scan of the window instead (a hashed `= any`): faster than the
    # index once the hashes cover more than a few percent of the window's rows
    prompt_heads: tuple[str, ...] | None = None
    # rows in prompt_hash order (byte order, whatever the collation): every hash's rows together
    by_hash: bool = False


def day_chunks(start: datetime, end: datetime) -> list[Chunk]:
    """[start, end) cut at UTC midnights."""
    chunks, cursor = [], start
    while cursor < end:
        midnight = (cursor + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        chunks.append(Chunk(cursor, min(midnight, end)))
        cursor = min(midnight, end)
    return chunks


@dataclass(frozen=True)
class Condition:
    """One more WHERE clause (SQL written in store/, never from input) and its parameters."""

    clause: sql.Composable
    params: tuple[object, ...] = ()


def _select(columns: Sequence[str], chunk: Chunk, synced_by: datetime | None,
            hashed_only: bool, workspace_id: int, condition: Condition | None = None
            ) -> tuple[sql.Composed, list[object]]:
    query, params = request_select(columns, chunk, synced_by, hashed_only, workspace_id, condition)
    return copy_text(query), params


def request_select(columns: Sequence[str], chunk: Chunk, synced_by: datetime | None,
                   hashed_only: bool, workspace_id: int, condition: Condition | None = None
                   ) -> tuple[sql.Composed, list[object]]:
    """The select of one chunk's rows (what the COPY reader sends). Its started_at bounds are constants, so
    the planner keeps only the chunk's month(s) of a partitioned meter.requests (migration 0026)."""
    unknown = [c for c in columns if c not in REQUEST_COLUMNS]
    if unknown:
        raise ValueError(f"unknown request column(s) {unknown}; choose from {sorted(REQUEST_COLUMNS)}")
    select_list = sql.SQL(", ").join(sql.SQL(REQUEST_COLUMNS[c][0]) for c in columns)  # from the fixed table
    where: list[sql.Composable] = [sql.SQL("workspace_id = %s"), sql.SQL("started_at >= %s"),
                                   sql.SQL("started_at < %s")]
    source = sql.SQL("meter.requests")
    params: list[object] = [workspace_id, chunk.start, chunk.end]
    if chunk.prompt_prefixes is not None:
        # 'g' sorts after every hex digit: [prefix, prefix + 'g') is every hash starting with prefix. Both
        # bounds come as parameters: `prefix || 'g'` in the query is not leakproof, so under the fleet's
        # row-level security Postgres could not bound the index scan with it
        source = sql.SQL("meter.requests join unnest(%s::text[], %s::text[]) as wanted(prefix, past) "
                         "on prompt_hash >= wanted.prefix and prompt_hash < wanted.past")
        params[:0] = [list(chunk.prompt_prefixes), [prefix + "g" for prefix in chunk.prompt_prefixes]]
    if synced_by is not None:
        where.append(sql.SQL("synced_at <= %s"))
        params.append(synced_by)
    if hashed_only or chunk.prompt_heads is not None:
        where.append(sql.SQL("prompt_hash is not null"))
    if chunk.prompt_heads is not None:
        where.append(sql.SQL("left(prompt_hash, 16) = any(%s::text[])"))
        params.append(list(chunk.prompt_heads))
    if condition is not None:
        where.append(condition.clause)
        params.extend(condition.params)
    order = sql.SQL(' order by prompt_hash collate "C"') if chunk.by_hash else sql.SQL("")
    query = sql.SQL("select {} from {} where {}{}").format(select_list, source, sql.SQL(" and ").join(where), order)
    return query, params


def _schema(columns: Sequence[str]) -> pa.Schema:
    return pa.schema([(c, REQUEST_COLUMNS[c][1]) for c in columns])


def _parse(data: Rows, columns: Sequence[str], read_ahead: bool = False) -> pa.Table:
    return parse_text(data, _schema(columns), use_threads=not read_ahead)


# Rows from which Arrow converts to pandas on several threads; below, one is faster (on 2 cores: 1.25 against
# 0.24 ms for 300 rows, 7.7 against 1.7 ms for 50,000), and a worker shares its host's cores with the others.
THREADED_ROWS = 1_000_000


def to_pandas(table: pa.Table, **options: Any) -> pd.DataFrame:
    """`table.to_pandas(**options)`, on one thread below THREADED_ROWS rows (the same frame either way)."""
    frame: pd.DataFrame = table.to_pandas(use_threads=table.num_rows >= THREADED_ROWS, **options)
    return frame


def empty_frame(columns: Sequence[str]) -> pd.DataFrame:
    """No rows, the columns typed as a read types them: a copy of one made once per set of columns (Arrow's
    conversion costs a millisecond or two, the copy next to nothing)."""
    return _empty_frame(tuple(columns)).copy()


@functools.cache
def _empty_frame(columns: tuple[str, ...]) -> pd.DataFrame:
    return to_pandas(_schema(columns).empty_table())


def copy_table(conn: Conn, query: sql.Composed, params: Params, types: dict[str, pa.DataType]) -> pa.Table:
    """Any `select` (written in store/) through COPY into an Arrow table of these column names and types."""
    return parse_text(copy_bytes(conn, copy_text(query), params), pa.schema(list(types.items())))


def request_frames(conn: Conn, workspace_id: int, start: datetime, end: datetime, columns: Sequence[str], *,
                   chunks: Sequence[Chunk] | None = None, synced_by: datetime | None = None,
                   hashed_only: bool = False) -> Iterator[pd.DataFrame]:
    """Yield one frame per chunk (default: per UTC day) of the workspace's requests started in
    [start, end), synced by `synced_by` when given (a replay sees what the fleet saw then).

    Postgres is read in a thread one chunk ahead of the parsing; `conn` belongs to that thread until
    the iterator is exhausted or closed."""
    for table in request_tables(conn, workspace_id, start, end, columns, chunks=chunks, synced_by=synced_by,
                                hashed_only=hashed_only):
        yield to_pandas(table)


def request_tables(conn: Conn, workspace_id: int, start: datetime, end: datetime, columns: Sequence[str], *,
                   chunks: Sequence[Chunk] | None = None, synced_by: datetime | None = None,
                   hashed_only: bool = False, condition: Condition | None = None) -> Iterator[pa.Table]:
    """As request_frames, as Arrow tables (for callers that join chunks before converting)."""
    plan = list(chunks) if chunks is not None else day_chunks(start, end)
    columns = list(columns)

    def copies(stop: threading.Event) -> Iterator[Rows]:
        for chunk in plan:
            if stop.is_set():
                return
            query, params = _select(columns, chunk, synced_by, hashed_only, workspace_id, condition)
            yield copy_bytes(conn, query, params)

    # one chunk: nothing to overlap with its parsing, so no reader thread (and pyarrow's threads parse it)
    ahead = len(plan) > 1
    for data in read_ahead(copies) if ahead else copies(threading.Event()):
        yield _parse(data, columns, read_ahead=ahead)


def hash_groups(conn: Conn, workspace_id: int, chunk: Chunk, columns: Sequence[str], *, group_rows: int,
                synced_by: datetime | None = None, piece_bytes: int = PIECE_BYTES) -> Iterator[pa.Table]:
    """The hashed requests of one chunk, read in one query in prompt_hash order and handed out as tables
    of whole hashes of at most `group_rows` rows (more only when one hash alone has more). Memory holds a
    group and a piece or two of the stream, however many rows the query returns: what a per-hash
    aggregate needs, one group of hashes at a time."""
    columns = list(columns)
    if "prompt_hash" not in columns:
        raise ValueError("hash_groups needs the prompt_hash column to cut between hashes")
    query, params = _select(columns, replace(chunk, by_hash=True), synced_by, True, workspace_id)
    pending: list[pa.Table] = []
    rows, tail = 0, None
    for piece in read_ahead(lambda stop: copy_pieces_until(conn, query, params, piece_bytes, stop)):
        table = _parse(piece, columns, read_ahead=True)
        if not table.num_rows:
            continue
        hashes = table.column("prompt_hash")
        first, last = hashes[0].as_py(), hashes[-1].as_py()
        goes_on = first == last == tail  # the piece only continues the last hash: no new place to cut
        pending.append(table)
        rows, tail = rows + table.num_rows, last
        if rows < group_rows or goes_on:
            continue
        groups, rest = _whole_hashes(pa.concat_tables(pending), group_rows, final=False)
        yield from groups
        pending, rows = [rest], rest.num_rows
    if rows:
        yield from _whole_hashes(pa.concat_tables(pending), group_rows, final=True)[0]


def _whole_hashes(table: pa.Table, group_rows: int, final: bool) -> tuple[list[pa.Table], pa.Table]:
    """Groups of whole hashes of at most `group_rows` rows (a longer hash alone) cut from rows in hash
    order, and what is left: the rows short of a group and, unless `final`, the last hash, which may go
    on in the next piece."""
    hashes = table.column("prompt_hash").combine_chunks()
    n = len(hashes)
    changes = np.flatnonzero(pc.not_equal(hashes.slice(1), hashes.slice(0, n - 1)).to_numpy(zero_copy_only=False))
    ends = np.append(changes + 1, n) if final else changes + 1  # where a complete hash ends
    complete = n if final else (int(ends[-1]) if len(ends) else 0)
    groups, start = [], 0
    while complete - start >= (1 if final else group_rows):
        at = np.searchsorted(ends, start + group_rows, side="right") - 1
        cut = int(ends[at]) if at >= 0 and ends[at] > start else int(ends[np.searchsorted(ends, start, side="right")])
        groups.append(table.slice(start, cut - start).unify_dictionaries())
        start = cut
    return groups, table.slice(start)


def rows_frame(rows: Sequence[Sequence[object]], columns: Sequence[str],
               types: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows fetched by psycopg as a frame, built column by column: each column's type is inferred as
    `pd.DataFrame(rows)` infers it, without the object matrix that makes first (three times the cost on a
    few hundred rows), or for a column `types` names, made an array of that type at once (half the cost of
    inferring it). No rows: columns of dtype object (cast_columns types them)."""
    if not rows:  # a copy of one made once per set of columns (building it costs 0.2 ms, the copy a twentieth)
        return _no_rows(tuple(columns)).copy()
    typed = types or {}
    return pd.DataFrame({name: np.array(values, dtype=typed[name]) if name in typed else list(values)
                         for name, values in zip(columns, zip(*rows, strict=True), strict=True)})


@functools.cache
def _no_rows(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns))


def cast_columns(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """frame.astype(types), casting only the columns of another type (an empty read's object columns): a
    cast costs most of a millisecond even when it changes nothing."""
    needed = {name: t for name, t in types.items() if frame[name].dtype != t}
    return frame.astype(needed) if needed else frame


def read_request_ranges(conn: Conn, workspace_id: int, chunks: Sequence[Chunk], columns: Sequence[str], *,
                        synced_by: datetime | None = None, condition: Condition | None = None,
                        leading: tuple[sql.Composed, list[object]] | None = None) -> pd.DataFrame:
    """The requests of a few chunks (small ones: a window's edges) in one COPY, their selects joined by
    `union all` (each keeps its own constant bounds, so its plan and partitions are a chunk's own): one
    round trip where read_requests makes one per chunk. `leading`: a select (and its parameters) of the same
    columns, as the selects of REQUEST_COLUMNS write them, whose rows come first in the same COPY (the
    catalog's stored odd requests). Nothing to read: no query."""
    return requests_frame(read_request_ranges_table(conn, workspace_id, chunks, columns, synced_by=synced_by,
                                                    condition=condition, leading=leading), columns)


def read_request_ranges_table(conn: Conn, workspace_id: int, chunks: Sequence[Chunk], columns: Sequence[str], *,
                              synced_by: datetime | None = None, condition: Condition | None = None,
                              leading: tuple[sql.Composed, list[object]] | None = None) -> pa.Table:
    """read_request_ranges' rows as the Arrow table parsed from the COPY (requests_frame makes the frame)."""
    selects = [request_select(columns, chunk, synced_by, False, workspace_id, condition) for chunk in chunks]
    if leading is not None:
        selects.insert(0, leading)
    if not selects:
        return _schema(columns).empty_table()
    query = sql.SQL(" union all ").join(sql.SQL("({})").format(q) for q, _ in selects)
    data = copy_bytes(conn, copy_text(query), [p for _, params in selects for p in params])
    return _parse(data, columns).unify_dictionaries()


def requests_frame(table: pa.Table, columns: Sequence[str]) -> pd.DataFrame:
    """Rows of REQUEST_COLUMNS read into an Arrow table as a frame of these columns."""
    if not table.num_rows:  # the usual answer for a small workspace's odd requests: the typed empty frame, made once
        return empty_frame(columns)
    return to_pandas(table)


def read_requests(conn: Conn, workspace_id: int, start: datetime, end: datetime, columns: Sequence[str], *,
                  synced_by: datetime | None = None, hashed_only: bool = False, condition: Condition | None = None,
                  whole_window: bool = False) -> pd.DataFrame:
    """The whole window as one frame: read per day (or in one piece with `whole_window`, for a condition
    an index serves better than the days), joined in Arrow (dictionaries unified), converted once."""
    chunks = [Chunk(start, end)] if whole_window else None
    tables = list(request_tables(conn, workspace_id, start, end, columns, chunks=chunks, synced_by=synced_by,
                                 hashed_only=hashed_only, condition=condition))
    if not tables:
        return empty_frame(columns)
    return to_pandas(pa.concat_tables(tables).unify_dictionaries())

