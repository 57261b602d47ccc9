"""The exports of issue 19 on a 1,000,000-request workspace month (30 days), side by side in one process on one
database (bench/bench_exports.py is another thing: the providers' billing exports read by reconciliation).

- the nightly FOCUS export of the month (every day's object regenerated from the rollup, encoded as Parquet,
  written to a directory sink, recorded with its manifest and run) next to a bare `COPY` of the same rollup
  rows into one Parquet file (target ≤ 2×);
- the `requests` dataset of the month (one Parquet object per day, as a person asks for it) next to a bare
  `COPY` of the same columns into one Parquet file (target ≤ 1.5×).

Usage: python -m bench.bench_focus_export [--requests-per-day N] (DATABASE_URL optional)
"""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import sql

from bench.common import bench_database, best_of_interleaved, verdict
from exports.sink import DirectorySink
from store.exports import _REQUESTS, REQUEST_TYPES, ROLLUP_TYPES
from store.frames import copy_table
from synthetic import SeedOptions, seed_workspace
from workers.jobs import refresh_workspace
from workers.jobs.export_datasets import focus_days
from workers.jobs.exports import ExportTarget, OnDemand, export_destination, export_period

END = date(2026, 11, 1)  # the first day not seeded
START = date(2026, 10, 2)
AS_OF = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)

Conn = psycopg.Connection[tuple[object, ...]]


def bare_rollup(conn: Conn, ws: int) -> int:
    query = sql.SQL("select {} from analysis.daily_spend where workspace_id = %s and day >= %s and day < %s").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in ROLLUP_TYPES))
    return _parquet(copy_table(conn, query, [ws, START, END], ROLLUP_TYPES))


def bare_requests(conn: Conn, ws: int) -> int:
    start, end = datetime(2026, 10, 2, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    return _parquet(copy_table(conn, sql.SQL(_REQUESTS), [ws, start, end, AS_OF, None, None],  # type: ignore[arg-type]
                               REQUEST_TYPES))


def _parquet(table: pa.Table) -> int:
    out = io.BytesIO()
    pq.write_table(table, out, compression="snappy")
    return len(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests-per-day", type=int, default=33_334)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="halton-bench-export-"))
    with bench_database("halton_bench_focus_export") as url, psycopg.connect(url, autocommit=True) as conn:
        report = seed_workspace(conn, SeedOptions(slug="bench", days=30, requests_per_day=args.requests_per_day,
                                                  seed=7, end_date=END))
        ws = report.workspace_id
        conn.execute("vacuum analyze meter.requests")
        refresh_workspace(conn, ws, AS_OF, stage="rollup")
        rollup_rows = conn.execute("select count(*) from analysis.daily_spend where workspace_id = %s",
                                   (ws,)).fetchone()
        print(f"workspace: {report.requests:,} requests over 30 days; {rollup_rows[0] if rollup_rows else 0:,} "
              "rollup rows")

        def fresh() -> None:
            conn.execute("delete from analysis.exports where workspace_id = %s", (ws,))
            shutil.rmtree(root, ignore_errors=True)

        written: dict[str, int] = {}

        def nightly() -> None:
            outcome = export_destination(conn, ws, ExportTarget(None, DirectorySink(root / "focus")), AS_OF)
            assert outcome["objects_written"] == 30, outcome
            written["focus"] = int(outcome["rows_written"])

        def requests() -> None:
            export_period(conn, OnDemand(ws, "requests", START, END, AS_OF),
                          ExportTarget(None, DirectorySink(root / "requests")))

        days = [START + timedelta(days=i) for i in range(30)]

        def rows_only() -> int:  # where the time goes: the rows built, then written as one file
            table = pa.concat_tables([t for _, t in focus_days(conn, ws, days)])
            return _parquet(table)

        bare, export, rows_one_file, bare_req, export_req = best_of_interleaved(
            args.runs, (lambda: bare_rollup(conn, ws), None), (nightly, fresh), (rows_only, None),
            (lambda: bare_requests(conn, ws), None), (requests, fresh))
        focus_rows = written["focus"]
        print(f"bare COPY of the month's rollup rows → Parquet : {bare * 1000:8.1f} ms")
        print(f"nightly FOCUS export of the month ({focus_rows:,} rows): {export * 1000:8.1f} ms"
              f"   ratio {export / bare:.2f}× (target ≤ 2×: {verdict(export / bare, 2.0)})")
        print(f"  of which: the same rows built and written as one Parquet file: {rows_one_file * 1000:8.1f} ms"
              f" ({rows_one_file / bare:.2f}×); the rest is 30 objects, their records, the manifest and the run")
        print(f"bare COPY of the month's requests → Parquet    : {bare_req * 1000:8.1f} ms")
        print(f"requests dataset of the month (30 objects)     : {export_req * 1000:8.1f} ms"
              f"   ratio {export_req / bare_req:.2f}× (target ≤ 1.5×: {verdict(export_req / bare_req, 1.5)})")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
