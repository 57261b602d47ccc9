"""The fleet as a whole (issue 18 item 1): the real nightly fan-out over a realistic population, through Redis,
on real worker processes (`halton-workers worker --concurrency 1`, then `--concurrency 2`).

Seeds several hundred small workspaces and a few large ones (bench/fleet_population.py: long-tailed sizes,
the large ones first so the fan-out meets them first), then for each concurrency empties `analysis`, starts a
worker with its defaults (every queue), enqueues `halton.nightly_fanout` by name as beat does and waits for
every workspace's refresh. Prints, each next to its target:
- the makespan (the fan-out enqueued to the last stage's run finished, the database's clock);
- the stage time of a small workspace (a few hundred requests): the sum of its stages' run rows
  (finished_at - started_at), the median, with the stages' split (target ≤ 60 ms), and, at concurrency 1, the
  whole task (one workspace's first stage start to the next one's: broker, connection and stages);
- throughput in workspaces per second per worker process (pool child), and the scaling from one to two
  (target ≥ 1.7×);
- the peak resident memory of each worker process (the parent and its pool children, sampled every 0.2 s);
- whether every small workspace finished before the first large one did (target: yes, at concurrency 2);
- then a second night: one more day of requests on every workspace and the fan-out as of a day later, at the
  last concurrency, on what the first night left (the night every workspace has after its first: each stage
  brings only the new day into its caches), with the same figures.

Usage: python -m bench.bench_fleet [--requests 1000000] [--small 200] [--full] [--concurrency 1,2] [--database NAME]
`--full` is issue 18's population: 10,000,000 requests, 400 small workspaces (seeding takes a while).
The database is created on DATABASE_URL's server when set, otherwise in an embedded Postgres; likewise Redis
(REDIS_URL, with queue names of the bench's own, or an embedded redis-server).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import psycopg

from bench.common import bench_database
from bench.fleet_population import Conn, Member, Seeded, plan_population, seed_next_day, seed_population
from bench.fleet_watch import MemoryPeaks, start_worker, wait_for_refreshes
from store.roles import Roles, ensure_roles
from workers.jobs.pipeline import STAGE_NAMES
from workers.runtime.embedded import as_role, start_redis

END = date(2026, 11, 1)  # the last seeded day is the day before; the nightly runs as of END, 02:00 UTC
AS_OF = datetime.combine(END, clock(2), UTC)
FEW_HUNDRED = (100, 1_000)  # "a workspace of a few hundred requests"
STAGE_TARGET = 0.060
SCALING_TARGET = 1.7


@dataclass
class Pass:
    concurrency: int
    night: int  # 1: the first (every cache built from scratch); 2: the next, one more day of requests
    makespan: float
    stage_seconds: dict[int, float]  # workspace id → its stages' summed run time
    stage_split: dict[str, float]  # stage → median over the few-hundred ones
    task_cycle: float | None  # concurrency 1: median start-to-next-start of the few-hundred ones
    small_done_before_large: bool
    last_small: float  # seconds after the fan-out was enqueued
    first_large: float
    failed: int
    peaks: MemoryPeaks


@contextlib.contextmanager
def broker(root: Path) -> Iterator[tuple[str, str]]:
    """(REDIS_URL, a queue prefix): the given Redis with queues of the bench's own, or an embedded one."""
    given = os.environ.get("REDIS_URL")
    if given:
        yield given, f"bench-fleet-{uuid.uuid4().hex[:8]}-"
        return
    server = start_redis(root / "redis")
    try:
        yield server.url, ""
    finally:
        server.stop()


def worker_env(url: str, redis_url: str, prefix: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HALTON_", "SENTRY_"))}
    env.update({"DATABASE_URL": as_role(url, Roles().fleet), "REDIS_URL": redis_url,
                "HALTON_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "HALTON_QUEUE_ANALYSIS": f"{prefix}analysis", "HALTON_QUEUE_BILLING": f"{prefix}billing",
                "HALTON_QUEUE_PDF": f"{prefix}pdf"})
    return env


def empty_analysis(conn: Conn) -> None:
    tables = conn.execute("""select 'analysis.' || tablename from pg_tables
                             where schemaname = 'analysis' and tablename <> 'schema_migrations'""").fetchall()
    conn.execute(f"truncate {', '.join(str(t[0]) for t in tables)} restart identity cascade")


def run_pass(conn: Conn, env: dict[str, str], seeded: list[Seeded], concurrency: int, logs: Path,
             night: int = 1) -> Pass:
    from celery import Celery

    if night == 1:
        empty_analysis(conn)
    conn.execute("checkpoint")
    as_of = AS_OF + timedelta(days=night - 1)
    client = Celery("dashboard", broker=env["REDIS_URL"])
    client.conf.update(task_serializer="json", accept_content=["json"])
    with start_worker(env, concurrency, logs / f"worker-c{concurrency}-n{night}.log") as (worker, peaks):
        row = conn.execute("select clock_timestamp()").fetchone()
        assert row is not None and isinstance(row[0], datetime)
        began = row[0]
        client.send_task("halton.nightly_fanout", kwargs={"as_of": as_of.isoformat()},
                         queue=env["HALTON_QUEUE_ANALYSIS"])
        wait_for_refreshes(conn, len(seeded), worker, timeout=max(600.0, sum(s.requests for s in seeded) / 2_000),
                           as_of=as_of)
    client.close()
    return summarise(conn, seeded, concurrency, night, as_of, began, peaks)


def summarise(conn: Conn, seeded: list[Seeded], concurrency: int, night: int, as_of: datetime, began: datetime,
              peaks: MemoryPeaks) -> Pass:
    rows = conn.execute(
        """select workspace_id, job, status, started_at, finished_at from analysis.runs
           where job = any(%s) and finished_at is not null and as_of = %s""", (list(STAGE_NAMES), as_of)).fetchall()
    by_id = {s.workspace_id: s for s in seeded}
    total: dict[int, float] = {}
    split: dict[str, list[float]] = {}
    first_start: dict[int, datetime] = {}
    finished: dict[int, datetime] = {}
    failed = 0
    for workspace_id, job, status, started, ended in rows:
        assert isinstance(workspace_id, int) and isinstance(started, datetime) and isinstance(ended, datetime)
        seconds = (ended - started).total_seconds()
        total[workspace_id] = total.get(workspace_id, 0.0) + seconds
        failed += status == "failed"
        if FEW_HUNDRED[0] <= by_id[workspace_id].requests < FEW_HUNDRED[1]:
            split.setdefault(str(job), []).append(seconds)
        first_start[workspace_id] = min(first_start.get(workspace_id, started), started)
        finished[workspace_id] = max(finished.get(workspace_id, ended), ended)
    makespan = (max(finished.values()) - began).total_seconds()
    small = [s.workspace_id for s in seeded if s.member.kind == "small"]
    large = [s.workspace_id for s in seeded if s.member.kind == "large"]
    last_small = (max(finished[w] for w in small) - began).total_seconds()
    first_large = (min(finished[w] for w in large) - began).total_seconds()
    cycle = None
    if concurrency == 1:  # one child: the next workspace starts when this one's task (all of it) is done
        order = sorted(first_start, key=first_start.__getitem__)
        gaps = [(first_start[b] - first_start[a]).total_seconds() for a, b in itertools.pairwise(order)
                if FEW_HUNDRED[0] <= by_id[a].requests < FEW_HUNDRED[1]]
        cycle = statistics.median(gaps) if gaps else None
    return Pass(concurrency, night, makespan, total, {job: statistics.median(v) for job, v in split.items()}, cycle,
                last_small < first_large, last_small, first_large, failed, peaks)


def report(seeded: list[Seeded], passes: list[Pass]) -> None:
    few = [s.workspace_id for s in seeded if FEW_HUNDRED[0] <= s.requests < FEW_HUNDRED[1]]
    print(f"\nfleet: {len(seeded)} workspaces, {sum(s.requests for s in seeded):,} requests; "
          f"{len(few)} of {FEW_HUNDRED[0]}-{FEW_HUNDRED[1] - 1} requests; large: "
          + ", ".join(f"{s.requests:,}" for s in seeded if s.member.kind == "large"))
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for p in passes:
        stage = statistics.median(p.stage_seconds[w] for w in few)
        p90 = statistics.quantiles([p.stage_seconds[w] for w in few], n=10)[-1]
        print(f"\n{'first' if p.night == 1 else 'second'} night, concurrency {p.concurrency} (one worker, "
              f"{p.concurrency} pool process{'es' if p.concurrency > 1 else ''})")
        print(f"  makespan                          {p.makespan:8.1f} s")
        print(f"  stage time, few-hundred workspace {stage * 1000:8.1f} ms median, {p90 * 1000:.1f} ms p90"
              f"   target ≤ {STAGE_TARGET * 1000:.0f} ms: {'meets' if stage <= STAGE_TARGET else 'MISSES'} target")
        print("    by stage (median, ms)          " + "  ".join(f"{job} {p.stage_split.get(job, 0) * 1000:.1f}"
                                                              for job in STAGE_NAMES))
        if p.task_cycle is not None:
            print(f"  whole task, few-hundred workspace {p.task_cycle * 1000:8.1f} ms median (start to next start)")
        rate = len(seeded) / p.makespan / p.concurrency
        print(f"  throughput                        {rate:8.2f} workspaces/s per worker process")
        print(f"  peak RSS                          parent {p.peaks.parent / 2**20:.0f} MiB, pool processes "
              + ", ".join(f"{rss / 2**20:.0f}" for rss in p.peaks.children) + " MiB")
        verdict = ("meets target" if p.small_done_before_large else "MISSES target") if p.concurrency > 1 else \
            f"{'yes' if p.small_done_before_large else 'no'} (the target is at concurrency 2)"
        print(f"  small ones before the first large last small done at {p.last_small:.1f} s, first large done at "
              f"{p.first_large:.1f} s   target: every small one first: {verdict}")
        if p.failed:
            print(f"  failed stage runs                 {p.failed}")
    one = next((p for p in passes if p.concurrency == 1 and p.night == 1), None)
    two = next((p for p in passes if p.concurrency == 2 and p.night == 1), None)
    if one and two:
        scaling = one.makespan / two.makespan
        print(f"\nscaling, 2 processes against 1    {scaling:8.2f}×   target ≥ {SCALING_TARGET}×: "
              f"{'meets' if scaling >= SCALING_TARGET else 'MISSES'} target")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--full", action="store_true", help="10,000,000 requests, 400 small workspaces")
    parser.add_argument("--concurrency", default="1,2", help="the passes, comma-separated")
    parser.add_argument("--database", default="halton_bench_fleet",
                        help="the database it recreates on DATABASE_URL's server (two runs there need two names)")
    args = parser.parse_args()
    total, small = (10_000_000, 400) if args.full else (args.requests, args.small)
    members = plan_population(total, small)
    root = Path(tempfile.mkdtemp(prefix="halton-bench-fleet-"))  # the workers' logs and the embedded Redis
    try:
        _run(args.database, total, members, args.concurrency, root)
    except BaseException:
        print(f"the workers' logs are kept in {root}", file=sys.stderr)
        raise
    shutil.rmtree(root, ignore_errors=True)
    return 0


def _run(database: str, total: int, members: list[Member], concurrency_list: str, root: Path) -> None:
    with bench_database(database) as url, psycopg.connect(url, autocommit=True) as conn, \
            broker(root) as (redis_url, prefix):
        ensure_roles(conn, Roles())
        print(f"seeding {len(members)} workspaces, about {total:,} requests (COPY)", flush=True)
        seeded = seed_population(conn, members, END)
        env = worker_env(url, redis_url, prefix)
        passes = []
        for concurrency in (int(c) for c in concurrency_list.split(",")):
            print(f"nightly fan-out, one worker of concurrency {concurrency}", flush=True)
            passes.append(run_pass(conn, env, seeded, concurrency, root))
        print("a second night: one more day of requests on every workspace (COPY)", flush=True)
        seed_next_day(conn, seeded, END)
        print(f"nightly fan-out a day later, one worker of concurrency {passes[-1].concurrency}", flush=True)
        passes.append(run_pass(conn, env, seeded, passes[-1].concurrency, root, night=2))
        report(seeded, passes)


if __name__ == "__main__":
    sys.exit(main())
