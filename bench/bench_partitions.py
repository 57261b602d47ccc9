"""meter.requests partitioned by month against the plain table (issue 18 item 3), the same rows in both.

One workspace of about `--requests` requests over `--days` days (the synthetic seed, by COPY) is seeded into a
database migrated without 0026 (the plain table); a copy of that database (CREATE DATABASE … TEMPLATE) is
migrated with 0026 and converted by meter.partition_requests_by_month(), timed: the conversion path of an
existing install (deploy/runbook.md, "Partitions"). Then, taking turns between the two databases, each
`--runs` times, the median of each:

- the rollup's first build of the whole history (every day summed from meter.requests, written);
- the nightly rollup (the rollup one day behind brought up to date: the days synced since, about two);
- clustering's first build of its window (keys of 31 days, the repeated hashes' rows fetched and clustered);
- the whole optimisation catalog of the 30-day window (its reads and checks, the daily sums up to date).

As the owner of the databases (a superuser: row-level security does not apply; its cost is bench_rollup's
and bench_checks'). Usage: python -m bench.bench_partitions [--requests N] [--days D] [--runs K]
[--reuse]
(DATABASE_URL optional: otherwise an embedded Postgres; --reuse times the databases a previous run left).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

from bench.bench_clustering import clustering_only
from bench.bench_rollup import full_rollup, reset_rollup, restore_state, rollup_state
from bench.bench_seed import requests_per_day_for
from checks import run_catalog
from store import partitions
from store.migrate import bundled_migrations, migrate
from synthetic import SeedOptions, seed_workspace
from workers.jobs.checks import catalog_inputs
from workers.jobs.pipeline import run_pipeline
from workers.jobs.stage import StageContext
from workers.runtime.embedded import recreate_database, start_postgres, with_database

END = date(2026, 11, 1)  # first day not seeded; fixed so every run measures the same rows
AS_OF = datetime.combine(END, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)
CHUNK_DAYS = 30
PLAIN, MONTHLY = "halton_bench_part_plain", "halton_bench_part_month"

Conn = psycopg.Connection[tuple[object, ...]]


@contextmanager
def server() -> Iterator[str]:
    """DATABASE_URL's server, or an embedded one for the run."""
    given = os.environ.get("DATABASE_URL")
    if given:
        yield given
        return
    root = Path(tempfile.mkdtemp(prefix="halton-bench-"))
    postgres = start_postgres(root / "pgdata")
    try:
        yield postgres.url()
    finally:
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


def seed(conn: Conn, requests: int, days: int) -> int:
    per_day = requests_per_day_for(requests, END, days)
    began, workspace_id = time.perf_counter(), 0
    for start in range(0, days, CHUNK_DAYS):
        span = min(CHUNK_DAYS, days - start)
        workspace_id = seed_workspace(conn, SeedOptions(
            slug="bench", days=span, requests_per_day=per_day, seed=7,
            end_date=END - timedelta(days=days - start - span), append=start > 0)).workspace_id
        print(f"  seeded {start + span:4d}/{days} days  ({time.perf_counter() - began:5.0f} s)", flush=True)
    conn.execute("vacuum analyze meter.requests")
    return workspace_id


def prepare(admin: str, requests: int, days: int) -> int:
    """The plain database seeded, its copy converted; the workspace's id."""
    recreate_database(admin, PLAIN)
    with psycopg.connect(with_database(admin, PLAIN), autocommit=True) as conn:
        migrate(conn, [m for m in bundled_migrations() if m.version != "0026"])
        workspace_id = seed(conn, requests, days)
        rows = conn.execute("select count(*) from meter.requests").fetchone()
        print(f"workspace: {rows[0] if rows else 0:,} requests over {days} days ending {END - timedelta(days=1)}")
    with psycopg.connect(admin, autocommit=True) as conn:  # a file copy of the seeded database
        conn.execute(f'drop database if exists "{MONTHLY}" with (force)')
        conn.execute(f'create database "{MONTHLY}" template "{PLAIN}"')
    with psycopg.connect(with_database(admin, MONTHLY), autocommit=True) as conn:
        migrate(conn)  # 0026 on a populated table: its functions, no conversion
        assert not partitions.is_partitioned(conn)
        began = time.perf_counter()
        copied = partitions.convert(conn)
        took = time.perf_counter() - began
        print(f"conversion by meter.partition_requests_by_month(): {copied:,} rows in {took:.1f} s "
              f"({took / max(copied, 1) * 1e6:.2f} s per million, analyze included), "
              f"{len(partitions.partitions(conn))} partitions")
        conn.execute("vacuum analyze meter.requests")
    return workspace_id


def reused(admin: str) -> int:
    with psycopg.connect(with_database(admin, MONTHLY), autocommit=True) as conn:
        row = conn.execute("select id, (select count(*) from meter.requests) from meter.workspaces "
                           "where slug = 'bench'").fetchone()
        assert row is not None and partitions.is_partitioned(conn)
        print(f"reusing the databases of a previous run: {row[1]:,} requests, "
              f"{len(partitions.partitions(conn))} partitions")
        return int(row[0])


def catalog(conn: Conn, workspace_id: int) -> None:
    inputs = catalog_inputs(StageContext(conn, workspace_id, AS_OF))
    run_catalog(inputs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="time the two databases a previous run left")
    args = parser.parse_args()
    with server() as admin:
        ws = reused(admin) if args.reuse else prepare(admin, args.requests, args.days)
        with psycopg.connect(with_database(admin, PLAIN), autocommit=True) as plain, \
                psycopg.connect(with_database(admin, MONTHLY), autocommit=True) as monthly:
            layouts = {"plain": plain, "by month": monthly}
            states = {}
            for conn in layouts.values():  # untimed: what the nightly and the catalog start from
                full_rollup(conn, ws, AS_OF - timedelta(days=1))
                states[id(conn)] = rollup_state(conn, ws)
                for stage in ("rollup", "clustering"):
                    run_pipeline(conn, ws, AS_OF, only=stage)
                catalog(conn, ws)
            cases: list[tuple[str, Callable[[Conn], object], Callable[[Conn], object] | None]] = [
                ("rollup, first build of the history", lambda c: full_rollup(c, ws, AS_OF),
                 lambda c: reset_rollup(c, ws)),
                ("rollup, nightly (one day behind)", lambda c: full_rollup(c, ws, AS_OF),
                 lambda c: restore_state(c, ws, states[id(c)])),
                ("clustering, first build (31 days)", lambda c: clustering_only(c, ws, AS_OF), None),
                ("catalog, 30-day window", lambda c: catalog(c, ws), None),
            ]
            for label, action, before in cases:
                if before is not None:  # the nightly starts from the state a night before
                    for conn in layouts.values():
                        full_rollup(conn, ws, AS_OF - timedelta(days=1))
                timings: dict[str, list[float]] = {name: [] for name in layouts}
                for _ in range(args.runs):
                    for name, conn in layouts.items():
                        if before is not None:
                            before(conn)
                        started = time.perf_counter()
                        action(conn)
                        timings[name].append(time.perf_counter() - started)
                medians = {name: statistics.median(t) for name, t in timings.items()}
                print(f"{label:38s}: plain {medians['plain'] * 1000:9.1f} ms, by month "
                      f"{medians['by month'] * 1000:9.1f} ms: {medians['by month'] / medians['plain']:.3f}× "
                      f"(runs: {', '.join(f'{t * 1000:.0f}' for t in timings['plain'])} / "
                      f"{', '.join(f'{t * 1000:.0f}' for t in timings['by month'])} ms)", flush=True)


if __name__ == "__main__":
    main()
