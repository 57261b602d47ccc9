"""The writes of a synthetic seed: the small meter tables, requests by COPY, billing statements.

The caller opens the transaction: one seed is one transaction, so a failed seed leaves nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from psycopg.copy import QueuedLibpqWriter

from core.db import Conn
from core.errors import present
from store import partitions

# meter.requests columns written by a seed, with their binary COPY encoding
REQUEST_COLUMNS: dict[str, str] = {
    "workspace_id": "int8",
    "device_id": "int8",
    "project_id": "int8",
    "attribution_tier": "text",
    "provider": "text",
    "model": "text",
    "provider_request_id": "text",
    "started_at": "timestamptz",
    "latency_ms": "int4",
    "status_code": "int2",
    "service_tier": "text",
    "input_tokens": "int4",
    "cache_read_tokens": "int4",
    "cache_write_tokens": "int4",
    "output_tokens": "int4",
    "reasoning_tokens": "int4",
    "max_tokens": "int4",
    "cost_nanos": "int8",
    "rates_version": "text",
    "prompt_hash": "text",
    "synced_at": "timestamptz",
}
COPY_CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class ExistingWorkspace:
    id: int
    timezone: str
    first_day: dt.date | None  # UTC day of the earliest request, None when it has none
    last_day: dt.date | None


@dataclass(frozen=True)
class NewProject:
    slug: str
    name: str
    cost_center: str
    hourly_rate_nanos: int | None


@dataclass(frozen=True)
class NewDevice:
    name: str
    owner: str | None
    status: str
    paired_at: dt.datetime


@dataclass(frozen=True)
class NewStatement:
    provider: str
    period: dt.date
    raw_text: str
    entered_by: str
    entered_at: dt.datetime


def lock_slug(conn: Conn, slug: str) -> None:
    """Serialise two seeds of one slug until the transaction ends."""
    conn.execute("select pg_advisory_xact_lock(hashtextextended('synthetic-seed:' || %s, 0))", (slug,))


def find_workspace(conn: Conn, slug: str) -> ExistingWorkspace | None:
    row = conn.execute(
        """
        select w.id, w.timezone,
               (select min(r.started_at at time zone 'UTC')::date from meter.requests r
                 where r.workspace_id = w.id),
               (select max(r.started_at at time zone 'UTC')::date from meter.requests r
                 where r.workspace_id = w.id)
          from meter.workspaces w
         where w.slug = %s
        """,
        (slug,),
    ).fetchone()
    return None if row is None else ExistingWorkspace(*row)


def insert_workspace(conn: Conn, slug: str, name: str, timezone: str, monthly_budget_nanos: int) -> int:
    row = conn.execute(
        """
        insert into meter.workspaces (slug, name, timezone, monthly_budget_nanos)
        values (%s, %s, %s, %s) returning id
        """,
        (slug, name, timezone, monthly_budget_nanos),
    ).fetchone()
    row = present(row, "the new workspace's id")
    return int(row[0])


def insert_cost_centers(conn: Conn, workspace_id: int, names: Sequence[str]) -> dict[str, int]:
    rows = conn.execute(
        """
        insert into meter.cost_centers (workspace_id, name)
        select %s, name from unnest(%s::text[]) with ordinality as t(name, ord) order by ord
        returning name, id
        """,
        (workspace_id, list(names)),
    ).fetchall()
    return {name: int(id_) for name, id_ in rows}


def insert_projects(
    conn: Conn, workspace_id: int, projects: Sequence[NewProject], cost_center_ids: Mapping[str, int]
) -> dict[str, int]:
    rows = conn.execute(
        """
        insert into meter.projects (workspace_id, slug, name, cost_center_id, hourly_rate_nanos)
        select %s, slug, name, cost_center_id, rate
          from unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[])
               with ordinality as t(slug, name, cost_center_id, rate, ord)
         order by ord
        returning slug, id
        """,
        (
            workspace_id,
            [p.slug for p in projects],
            [p.name for p in projects],
            [cost_center_ids[p.cost_center] for p in projects],
            [p.hourly_rate_nanos for p in projects],
        ),
    ).fetchall()
    return {slug: int(id_) for slug, id_ in rows}


def insert_devices(conn: Conn, workspace_id: int, devices: Sequence[NewDevice]) -> dict[str, int]:
    rows = conn.execute(
        """
        insert into meter.devices (workspace_id, name, owner, status, paired_at)
        select %s, name, owner, status, paired_at
          from unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[])
               with ordinality as t(name, owner, status, paired_at, ord)
         order by ord
        returning name, id
        """,
        (
            workspace_id,
            [d.name for d in devices],
            [d.owner for d in devices],
            [d.status for d in devices],
            [d.paired_at for d in devices],
        ),
    ).fetchall()
    return {name: int(id_) for name, id_ in rows}


def project_ids(conn: Conn, workspace_id: int) -> dict[str, int]:
    rows = conn.execute("select slug, id from meter.projects where workspace_id = %s", (workspace_id,))
    return {slug: int(id_) for slug, id_ in rows.fetchall()}


def device_ids(conn: Conn, workspace_id: int) -> dict[str, int]:
    rows = conn.execute("select name, id from meter.devices where workspace_id = %s", (workspace_id,))
    return {name: int(id_) for name, id_ in rows.fetchall()}


def copy_requests(conn: Conn, requests: pd.DataFrame) -> int:
    """COPY the rows in binary format, encoded a chunk at a time with numpy (no per-row Python).

    `requests` has the REQUEST_COLUMNS: integers (pandas Int64 where nullable), text as categoricals
    or objects (None for null), timestamps as int64 microseconds since the Unix epoch (UTC).
    """
    _ensure_months(conn, requests)
    statement = f"COPY meter.requests ({', '.join(REQUEST_COLUMNS)}) FROM STDIN (FORMAT binary)"
    # The queued writer sends on a thread, so encoding the next chunk overlaps the server's work.
    with conn.cursor() as cursor, cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
        copy.write(BINARY_SIGNATURE)
        for start in range(0, len(requests), COPY_CHUNK_ROWS):
            copy.write(binary_rows(requests.iloc[start : start + COPY_CHUNK_ROWS]))
        copy.write(BINARY_TRAILER)
    return len(requests)


def _ensure_months(conn: Conn, requests: pd.DataFrame) -> None:
    """A seed is a bulk load of history: its months get their partitions before the rows arrive (where
    meter.requests is partitioned and this role owns it), as production's monthly `partitions maintain` would
    have made them, so the demo and the benchmarks read months that prune, not the default partition."""
    if requests.empty or not partitions.may_create_partitions(conn):
        return
    micros = requests["started_at"].to_numpy(np.int64)
    first, last = (UNIX_EPOCH + dt.timedelta(microseconds=int(v)) for v in (micros.min(), micros.max()))
    partitions.ensure_months(conn, first.date(), last.date() + dt.timedelta(days=1))


# -- the binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html) ----------------
#
# Each row: int16 field count, then per field an int32 byte length (-1: null) and the bytes,
# big-endian. Every field becomes a byte matrix "length + payload" per row; rows are laid out by
# cumulative sums and the matrices scattered into one buffer.

BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, header extension
BINARY_TRAILER = b"\xff\xff"
PG_EPOCH_MICROS = 946_684_800_000_000  # 2000-01-01 in Unix microseconds
UNIX_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_INT_TYPES = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "timestamptz": ">i8"}


def binary_rows(frame: pd.DataFrame) -> bytes:
    """The rows of `frame` in COPY's binary row format (no signature, no trailer)."""
    fields = [_encode(frame[name], kind) for name, kind in REQUEST_COLUMNS.items()]
    row_sizes = 2 + np.sum([size for _, size in fields], axis=0)
    row_starts = np.concatenate([[0], np.cumsum(row_sizes)[:-1]]).astype(np.int64)
    buffer = np.empty(int(row_sizes.sum()), dtype=np.uint8)
    field_count = np.array([len(fields)], dtype=">i2").view(np.uint8)
    buffer[row_starts[:, None] + np.arange(2)] = field_count
    position = row_starts + 2
    for matrix, size in fields:
        _scatter(buffer, position, matrix, size)
        position += size
    return buffer.tobytes()


def _scatter(buffer: np.ndarray, starts: np.ndarray, matrix: np.ndarray, sizes: np.ndarray) -> None:
    offsets = np.arange(matrix.shape[1])
    if (sizes == matrix.shape[1]).all():
        buffer[starts[:, None] + offsets] = matrix
    else:
        used = offsets < sizes[:, None]
        buffer[(starts[:, None] + offsets)[used]] = matrix[used]


def _encode(column: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(matrix of length prefix + payload per row, bytes used per row)."""
    if kind == "text":
        payload, lengths, null = _text_bytes(column)
    else:
        values, null = _integers(column)
        if kind == "timestamptz":
            values = values - PG_EPOCH_MICROS
        dtype = _INT_TYPES[kind]
        limits = np.iinfo(np.dtype(dtype))
        if len(values) and (values.min() < limits.min or values.max() > limits.max):
            raise ValueError(f"{column.name}: a value does not fit {kind}")  # binary would wrap silently
        payload = values.astype(dtype).view(np.uint8).reshape(len(values), np.dtype(dtype).itemsize)
        lengths = np.full(len(values), payload.shape[1], dtype=np.int64)
    prefix = np.where(null, -1, lengths).astype(">i4").view(np.uint8).reshape(len(lengths), 4)
    sizes = 4 + np.where(null, 0, lengths)
    return np.concatenate([prefix, payload], axis=1), sizes


def _integers(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    null = column.isna().to_numpy()
    return column.to_numpy(dtype=np.int64, na_value=0), null


def _text_bytes(column: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTF-8 bytes per row as a zero-padded matrix, their lengths, and the null mask."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        words, lengths, _ = _text_bytes(pd.Series([*column.cat.categories, ""], dtype=object))
        picked = np.where(codes < 0, len(lengths) - 1, codes)
        return words[picked], lengths[picked], codes < 0
    values = column.to_numpy(dtype=object)
    null = pd.isna(values)
    text = np.where(null, "", values).astype(str)
    try:
        raw = text.astype(bytes)  # a C loop for ASCII, which ids, hashes and names are
    except UnicodeEncodeError:
        raw = np.strings.encode(text, "utf-8")
    width = max(raw.dtype.itemsize, 1)
    matrix = raw.astype(f"S{width}").view(np.uint8).reshape(len(raw), width)
    return matrix, np.char.str_len(raw).astype(np.int64), null


def logged_totals(conn: Conn, workspace_id: int, since: dt.date) -> dict[tuple[str, dt.date], int]:
    """Logged cost per provider and UTC month, for the months starting on or after `since`."""
    rows = conn.execute(
        """
        select provider, date_trunc('month', started_at at time zone 'UTC')::date as period,
               sum(cost_nanos)::bigint
          from meter.requests
         where workspace_id = %s and started_at >= %s::timestamp at time zone 'UTC'
         group by 1, 2
        """,
        (workspace_id, since),
    ).fetchall()
    return {(provider, period): int(total) for provider, period, total in rows}


def insert_billing_statements(conn: Conn, workspace_id: int, statements: Sequence[NewStatement]) -> None:
    """Manual pastes: raw text only, amount_nanos null (the dashboard did not parse them)."""
    if not statements:
        return
    conn.execute(
        """
        insert into meter.billing_statements
               (workspace_id, provider, period, source, raw_text, amount_nanos, entered_by, entered_at)
        select %s, provider, period, 'manual', raw_text, null, entered_by, entered_at
          from unnest(%s::text[], %s::date[], %s::text[], %s::text[], %s::timestamptz[])
               as t(provider, period, raw_text, entered_by, entered_at)
        """,
        (
            workspace_id,
            [s.provider for s in statements],
            [s.period for s in statements],
            [s.raw_text for s in statements],
            [s.entered_by for s in statements],
            [s.entered_at for s in statements],
        ),
    )
