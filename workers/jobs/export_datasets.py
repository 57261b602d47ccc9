"""The datasets an export writes, as Arrow tables from store/ reads and the pure builders of exports/:
the FOCUS rows of some days and a period's Adjustment rows, the requests and the audit events of a day or a
period. Shared by the nightly export (workers/jobs/exports.py), the `export` task and the command line."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.db import Conn
from core.money import dollars_to_nanos
from core.periods import month_start, next_month
from exports import focus
from exports.columns import FOCUS_SCHEMA
from exports.formats import CONTENT_TYPES, encode, sha256
from exports.sink import ObjectSink
from pricing import load_rates
from store import exports as store


@dataclass(frozen=True)
class Encoded:
    """One object ready to put: what analysis.exports records of it."""

    dataset: str
    key: str
    period: date
    day: date | None
    rows: int
    data: bytes
    sha256: str
    cost_nanos: int | None
    size: int  # len(data), kept when the data is let go (`put_away`)

    def put_away(self) -> Encoded:
        """The record of it without its bytes (once put: a run keeps what it wrote, not the data)."""
        return replace(self, data=b"")


def encoded(dataset: str, key: str, period: date, day: date | None, table: pa.Table, fmt: str) -> Encoded:
    data = encode(table, fmt)
    cost = billed_nanos(table) if dataset == "focus" else None
    return Encoded(dataset, key, period, day, table.num_rows, data, sha256(data), cost, len(data))


def put(sink: ObjectSink, item: Encoded, fmt: str) -> None:
    sink.put(item.key, item.data, CONTENT_TYPES[fmt])


# A month's objects are encoded, and the changed ones put, on a few threads. Threads, not processes: pyarrow's
# Parquet and CSV writers and hashlib's sha256 of more than 2 KiB release the GIL while they work, and a put to
# an object store mostly waits on the network (30 sequential PUTs to S3 are about a second), so threads overlap
# them without copying a table to another process. Few: a worker process shares the machine's cores with the
# others (the encoding threads: at most 4, at most the cores), and a bucket takes a handful of uploads at once.
# Memory stays bounded as before: the threads work on the one dataset's month already read, and the month's
# objects were already held together until put (compared with what the place holds, then put, then recorded).
ENCODE_THREADS = min(4, os.cpu_count() or 1)
PUT_THREADS = 4

T = TypeVar("T")

#: what `encoded` takes besides the format: dataset, key, period, day, table
Job = tuple[str, str, date, date | None, pa.Table]


def encoded_all(jobs: Sequence[Job], fmt: str) -> list[Encoded]:
    """`encoded` of each job, in the jobs' order (ENCODE_THREADS at once); the first job to fail in that order
    raises its error, and the jobs not yet started are dropped."""
    return _in_order([partial(encoded, dataset, key, period, day, table, fmt)
                      for dataset, key, period, day, table in jobs], ENCODE_THREADS, "export-encode")


def put_all(sink: ObjectSink, items: Sequence[Encoded], fmt: str) -> None:
    """Put every item (PUT_THREADS at once). The first item to fail in their order raises its error (as a put
    after a put would), the puts not yet started are dropped; a put already done stays done, and is written
    again next time since the run records nothing of a month that failed."""
    _in_order([partial(put, sink, item, fmt) for item in items], PUT_THREADS, "export-put")


def _in_order(calls: Sequence[Callable[[], T]], threads: int, name: str) -> list[T]:
    if threads <= 1 or len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=min(threads, len(calls)), thread_name_prefix=name) as pool:
        # map: the results in the calls' order; an error is raised at its call's place, and the calls not
        # started then are cancelled (leaving the block waits for those running)
        return list(pool.map(lambda call: call(), calls))


def billed_nanos(table: pa.Table) -> int:
    """Σ BilledCost in nanos, exactly: every row's BilledCost is whole nanos (exports/focus.py), so is their sum;
    a sum finer than a nano is refused (core.money.dollars_to_nanos), never cut to a nano."""
    if table.num_rows == 0:
        return 0
    return dollars_to_nanos(pc.sum(table["BilledCost"]).as_py())


def utc(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


# -- focus -------------------------------------------------------------------------------------------------

def focus_days(conn: Conn, workspace_id: int, days: Sequence[date]) -> Iterator[tuple[date, pa.Table]]:
    """The FOCUS usage rows of each day: one read of the rollup and one build for all of them, cut by day
    (the rows come ordered by day)."""
    if not days:
        return
    names = store.workspace_names(conn, workspace_id)
    rows = focus.usage_rows(store.rollup_rows(conn, workspace_id, days), load_rates(), names)
    starts = rows["ChargePeriodStart"].cast(pa.int64()).to_numpy(zero_copy_only=False) // 86_400
    for day in sorted(days):
        number = (day - date(1970, 1, 1)).days
        lo, hi = (int(i) for i in np.searchsorted(starts, [number, number + 1]))
        yield day, rows.slice(lo, hi - lo)


def adjustments(conn: Conn, workspace_id: int, before: date,
                periods: Sequence[date] | None = None) -> dict[date, pa.Table]:
    """Per reconciled month ended before `before` (of `periods` when given), its Adjustment rows (empty when
    its usage already equals the bill)."""
    months = store.reconciled_months(conn, workspace_id, before, periods)
    if not months:
        return {}
    names = store.workspace_names(conn, workspace_id)
    usage = store.usage_by_provider_month(conn, workspace_id, sorted({m.period for m in months}))
    by_period: dict[date, list[focus.MonthReconciliation]] = {}
    for month in months:
        by_period.setdefault(month.period, []).append(month)
    return {period: focus.adjustment_rows(listed, usage, names) for period, listed in sorted(by_period.items())}


def focus_period(conn: Conn, workspace_id: int, start: date, end: date, before: date) -> pa.Table:
    """Every FOCUS row of [start, end): usage rows of its complete days and the Adjustment rows of the whole
    reconciled months inside it."""
    days = [d for d in store.rollup_days_between(conn, workspace_id, start, min(end, before))]
    tables = [table for _, table in focus_days(conn, workspace_id, days)]
    months = whole_months(start, end)
    tables += list(adjustments(conn, workspace_id, before, months).values())
    return pa.concat_tables(tables) if tables else FOCUS_SCHEMA.empty_table()


def whole_months(start: date, end: date) -> list[date]:
    """The first days of the calendar months lying wholly inside [start, end): only those get Adjustment rows
    (a month's adjustment is its bill against its whole month's usage)."""
    month, out = month_start(start), []
    while month < end:
        if month >= start and next_month(month) <= end:
            out.append(month)
        month = next_month(month)
    return out


# -- requests and audit ------------------------------------------------------------------------------------

def requests_of(conn: Conn, workspace_id: int, start: date, end: date, as_of: datetime,
                days: Sequence[date] | None = None) -> pa.Table:
    return store.requests_table(conn, workspace_id, utc(start), utc(end), as_of, days)


def audit_of(conn: Conn, workspace_id: int, start: date, end: date, days: Sequence[date] | None = None) -> pa.Table:
    return store.audit_table(conn, workspace_id, utc(start), utc(end), days)


def dataset_days(conn: Conn, workspace_id: int, dataset: str, days: Sequence[date],
                 as_of: datetime) -> Iterator[tuple[date, pa.Table]]:
    """The requests or audit events of each of `days` (sorted), in one read of those days (from the first to
    the last, only theirs), cut by day: the nightly reads a month's days so."""
    if not days:
        return
    start, end = days[0], days[-1] + timedelta(days=1)
    if dataset == "requests":
        yield from by_day(requests_of(conn, workspace_id, start, end, as_of, days), "started_at", days)
    else:
        yield from by_day(audit_of(conn, workspace_id, start, end, days), "at", days)


def by_day(table: pa.Table, column: str, days: Sequence[date]) -> Iterator[tuple[date, pa.Table]]:
    """The rows of each UTC day of a table ordered by the timestamp `column`, as slices."""
    moments = table[column].cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy(zero_copy_only=False)
    for day in days:
        edges = [(utc(day) - EPOCH) // timedelta(microseconds=1),
                 (utc(day + timedelta(days=1)) - EPOCH) // timedelta(microseconds=1)]
        lo, hi = (int(i) for i in np.searchsorted(moments, edges))
        yield day, table.slice(lo, hi - lo)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def dataset_period(conn: Conn, workspace_id: int, dataset: str, start: date, end: date, as_of: datetime) -> pa.Table:
    """The whole of a dataset for [start, end), as one table (a file named on the command line)."""
    before = as_of.astimezone(UTC).date()
    if dataset == "focus":
        return focus_period(conn, workspace_id, start, end, before)
    if dataset == "requests":
        return requests_of(conn, workspace_id, start, end, as_of)
    if dataset == "audit":
        return audit_of(conn, workspace_id, start, end)
    raise ValueError(f"unknown dataset {dataset!r}")
