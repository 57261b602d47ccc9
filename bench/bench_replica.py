"""Heavy reads on a streaming replica (DATABASE_READ_URL, issue 18 item 3) against the primary, same rows.

An embedded Postgres primary with one workspace of about `--requests` requests over 30 days (the synthetic
seed), and a hot standby of it made by `pg_basebackup -R` (workers/runtime/standby.py) on the same machine.
Taking turns, `--runs` times each, the median of:

- the clustering stage and the checks stage (the two whose COPY readers may go to the replica), with
  DATABASE_READ_URL unset (every read on the primary) and set to the current standby;
- the fixed cost of choosing: opening the reader's connection and comparing the log positions
  (workers.runtime.replica.heavy_reader on a current standby), against nothing at all without a replica;
- what the primary itself works for during the clustering stage, each way (its backends' CPU time, from
  /proc): the point of a replica is the primary's load, not the stage's time on one shared machine.

Both servers share this machine's cores, so the stage's own time says little about a replica on its own
host; the primary's CPU time says what moves off it. Usage: python -m bench.bench_replica [--requests N]
[--runs K] (always embedded: it starts its own primary and standby).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import psutil
import psycopg

from store.migrate import migrate
from store.replica import current_wal_lsn, replayed_past
from synthetic import SeedOptions, seed_workspace
from workers.jobs import refresh_workspace
from workers.runtime.embedded import recreate_database, start_postgres, with_database
from workers.runtime.replica import READ_URL, heavy_reader
from workers.runtime.standby import start_standby

END = date(2026, 11, 1)
AS_OF = datetime.combine(END, datetime.min.time(), tzinfo=UTC)

Conn = psycopg.Connection[tuple[object, ...]]


def server_cpu_seconds(postmaster_pid: int) -> float:
    """User and system CPU time of the server's processes: the postmaster, its living children, and the
    children it has reaped (backends of closed connections)."""
    own = psutil.Process(postmaster_pid).cpu_times()
    total = float(own.user + own.system + own.children_user + own.children_system)
    for child in psutil.Process(postmaster_pid).children(recursive=True):
        try:
            times = child.cpu_times()
            total += float(times.user + times.system)
        except psutil.NoSuchProcess:
            continue
    return total


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="halton-bench-replica-"))
    primary = start_postgres(root / "primary")
    try:
        recreate_database(primary.url(), "halton_bench_replica")
        url = with_database(primary.url(), "halton_bench_replica")
        with psycopg.connect(url, autocommit=True) as conn:
            migrate(conn)
            ws = seed_workspace(conn, SeedOptions(slug="bench", days=30, requests_per_day=args.requests // 30,
                                                  seed=7, end_date=END)).workspace_id
            conn.execute("vacuum analyze meter.requests")
            refresh_workspace(conn, ws, AS_OF)  # untimed: the rollup and the states the stages start from
        standby = start_standby(primary, root / "standby")
        try:
            run(url, standby.url("halton_bench_replica"), ws, args.runs, primary.server.get_pid())
        finally:
            standby.stop()
    finally:
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


def run(url: str, standby_url: str, ws: int, runs: int, postmaster: int | None) -> None:
    with psycopg.connect(url, autocommit=True) as conn, psycopg.connect(standby_url, autocommit=True) as standby:
        rows = conn.execute("select count(*) from meter.requests").fetchone()
        print(f"workspace: {rows[0] if rows else 0:,} requests over 30 days; primary and standby on this machine")
        lsn = current_wal_lsn(conn)
        while not replayed_past(standby, lsn):
            time.sleep(0.1)
        ways = {"primary": None, "replica": standby_url}
        stage_times: dict[tuple[str, str], list[float]] = {}
        primary_cpu: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(runs):
            for way, read_url in ways.items():
                if read_url is None:
                    os.environ.pop(READ_URL, None)
                else:
                    os.environ[READ_URL] = read_url
                for stage in ("clustering", "checks"):
                    # a replay of the same as_of: the stage redoes its reads each time
                    cpu = server_cpu_seconds(postmaster) if postmaster else 0.0
                    took = timed(partial(refresh_workspace, conn, ws, AS_OF, stage=stage, replay=True))
                    if stage == "clustering" and postmaster:
                        primary_cpu[way].append(server_cpu_seconds(postmaster) - cpu)
                    stage_times.setdefault((stage, way), []).append(took)
        os.environ.pop(READ_URL, None)
        for stage in ("clustering", "checks"):
            on_primary = statistics.median(stage_times[(stage, "primary")])
            on_replica = statistics.median(stage_times[(stage, "replica")])
            print(f"{stage:10s} stage: reads on the primary {on_primary * 1000:8.1f} ms, on the replica "
                  f"{on_replica * 1000:8.1f} ms: {on_replica / on_primary:.3f}×")
        if postmaster:
            print(f"primary's CPU during the clustering stage: {statistics.median(primary_cpu['primary']):.2f} s "
                  f"with every read there, {statistics.median(primary_cpu['replica']):.2f} s with the heavy reads "
                  "on the replica")
        os.environ[READ_URL] = standby_url
        choose = []
        for _ in range(runs * 4):
            lsn = current_wal_lsn(conn)
            choose.append(timed(partial(open_reader, conn, ws, lsn)))
        os.environ.pop(READ_URL, None)
        print(f"choosing the replica (the process's reader connection: compare the log positions, set its "
              f"session): {statistics.median(choose) * 1000:.1f} ms"
              " a stage (median); without DATABASE_READ_URL: no query at all")


def open_reader(conn: Conn, ws: int, lsn: str) -> None:
    with heavy_reader(conn, ws, lsn) as (_, source):
        assert source == "replica", source


if __name__ == "__main__":
    main()
