"""Clustering on a 10,000,000-request workspace (30 days), rows made by SQL (generate_series).

Prints, side by side in one process on one database:
- the clustering of the window (per-day key arrays built from scratch, the repeated hashes found
  in them and their rows fetched and clustered: clusters and loop incidents) next to the bare
  `SELECT prompt_hash, count(*) … GROUP BY prompt_hash HAVING count(*) > 1` on the same rows
  (target ratio ≤ 2×);
- the request-shape cells and fit, and the whole stage, for reference;
- the next nightly run after one more day of rows (only the new day's keys are read; the repeated
  hashes' rows are fetched again), next to the first run and to the bare SELECT;
- the peak memory of the stage (issue 18: under 600 MB on 10M requests): VmHWM of a fresh process that
  runs the whole stage from scratch, and one that reruns the nightly, as a worker's child would (a fresh
  process, because allocators keep freed memory for reuse: in this process a second run would look free).

The rows: 85 % of requests carry a prompt seen once, 10 % one of 100,000 recurring prompts (ten
times each, three days apart), 5 % no hash; three agents loop (1,000 calls a second apart each).

Usage: python -m bench.bench_clustering [--requests N] [--runs N]   (DATABASE_URL optional)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import psycopg

from bench.common import bench_database, best_of_interleaved, verdict
from clustering import ClusterRules, request_shapes
from pricing import load_rates
from store import clustering_days as days_store
from store.incremental import DayWindow
from workers.jobs import clustering as clustering_jobs
from workers.jobs import refresh_workspace
from workers.jobs.stage import trailing_window
from workers.settings import clustering_settings

AS_OF = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
START = AS_OF - timedelta(days=30)
SECONDS = 30 * 24 * 3600
INDEXES = {
    "requests_workspace_started": "(workspace_id, started_at)",
    "requests_workspace_synced": "(workspace_id, synced_at) include (started_at)",
    "requests_workspace_prompt": "(workspace_id, prompt_hash) where prompt_hash is not null",
}
# One row per i: time spread evenly over [start, start + span), a prompt by i's bucket.
INSERT = """
    insert into meter.requests (workspace_id, device_id, project_id, provider, model, started_at, status_code,
                                input_tokens, cache_read_tokens, output_tokens, cost_nanos, rates_version,
                                prompt_hash, synced_at)
    select %(ws)s, 1 + i %% 40, case when i %% 9 = 0 then null else 1 + i %% 7 end,
           (array['anthropic','openai','gemini','xai'])[1 + i %% 4],
           (array['claude-sonnet-4-6','gpt-5.1','gemini-2.5-flash','grok-4'])[1 + i %% 4],
           t, case when i %% 97 = 0 then 429 else 200 end,
           500 + (i * 7919) %% 20000, 0, 50 + (i * 104729) %% 2000, 1000000 + (i * 31) %% 9000000, 'bench',
           case when i %% 20 = 0 then null
                when i %% 10 = 1 then md5('recurring' || ((i / 10) %% 100000)::text)
                                      || md5('r' || ((i / 10) %% 100000)::text)
                else md5(%(salt)s || i::text) || md5(i::text || %(salt)s) end,
           t + interval '30 seconds'
    from (select i, %(start)s::timestamptz + (i * %(span)s / %(n)s) * interval '1 second' as t
          from generate_series(1, %(n)s::bigint) as i) as rows"""
LOOPS = """
    insert into meter.requests (workspace_id, device_id, project_id, provider, model, started_at, status_code,
                                input_tokens, output_tokens, cost_nanos, rates_version, prompt_hash, synced_at)
    select %(ws)s, 100 + l, 1, 'anthropic', 'claude-sonnet-4-6', %(start)s::timestamptz + l * interval '5 days'
           + i * interval '1 second', 200, 8000, 100, 30000000, 'bench', md5('loop' || l) || md5('loop' || l),
           %(start)s::timestamptz + l * interval '5 days' + i * interval '1 second' + interval '30 seconds'
    from generate_series(1, 3) as l, generate_series(1, 1000) as i"""
BASELINE = """select prompt_hash, count(*) from meter.requests
              where workspace_id = %s and started_at >= %s and started_at < %s and synced_at <= %s
              group by prompt_hash having count(*) > 1"""


def make_rows(conn: psycopg.Connection[tuple[object, ...]], requests: int) -> int:
    ws = conn.execute("insert into meter.workspaces (slug, name) values ('bench', 'Bench') returning id").fetchone()
    assert ws is not None
    for name in INDEXES:  # building the indexes once afterwards is far faster than maintaining them
        conn.execute(f"drop index meter.{name}")
    began = time.perf_counter()
    conn.execute(INSERT, {"ws": ws[0], "start": START, "span": SECONDS, "n": requests, "salt": "w"})
    conn.execute(LOOPS, {"ws": ws[0], "start": START})
    for name, columns in INDEXES.items():
        conn.execute(f"create index {name} on meter.requests {columns}")
    conn.execute("vacuum analyze meter.requests")
    print(f"made {requests:,} requests with SQL in {time.perf_counter() - began:.0f}s")
    return cast(int, ws[0])


def reset(conn: psycopg.Connection[tuple[object, ...]], ws: int) -> None:
    for table in ("clustering_state", "prompt_key_days", "request_shape_days"):
        conn.execute(f"delete from analysis.{table} where workspace_id = %s", (ws,))


def clustering_only(conn: psycopg.Connection[tuple[object, ...]], ws: int, as_of: datetime) -> int:
    """Keys of every day from scratch, the repeated hashes' rows fetched and clustered (no shapes)."""
    first_day, end_day = clustering_jobs.aggregate_days(as_of)
    days = [first_day + timedelta(days=i) for i in range((end_day - first_day).days)]
    with conn.transaction():
        conn.execute("delete from analysis.prompt_key_days where workspace_id = %s", (ws,))
        clustering_jobs.write_day_keys(conn, ws, days, as_of)
    start, end = trailing_window(as_of)
    clusters, _incidents, _ = clustering_jobs.find_clusters(conn, ws, start, end, as_of, ClusterRules(),
                                                            clustering_settings(), load_rates())
    return len(clusters)


def status_mb(field: str) -> float:
    """VmRSS or VmHWM (the peak resident set of this process image) in MB. Not getrusage's ru_maxrss:
    Linux carries that across exec from the parent, so a child of a large parent would start at its peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


MEMORY_TARGET_MB = 600.0


def stage_memory(url: str, ws: int, run: str) -> tuple[float, float]:
    """(resident MB once the stage's modules are imported, peak MB) of a fresh process running the stage:
    `first` from scratch, `nightly` a rerun at the nightly's moment."""
    done = subprocess.run([sys.executable, "-m", "bench.bench_clustering", "--memory-of", run, "--url", url,
                           "--workspace", str(ws)], check=True, capture_output=True, text=True)
    before, peak = done.stdout.split()
    return float(before), float(peak)


def memory_child(url: str, ws: int, run: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        if run == "first":
            reset(conn, ws)
        before = status_mb("VmRSS")
        as_of = AS_OF if run == "first" else AS_OF + timedelta(days=1)
        refresh_workspace(conn, ws, as_of, stage="clustering", replay=run == "nightly")
        print(f"{before:.0f} {status_mb('VmHWM'):.0f}")


def memory_line(what: str, before: float, peak: float) -> str:
    return (f"peak memory, {what}: {peak:5.0f} MB (a fresh process: {before:.0f} MB after its imports) "
            f"(target < {MEMORY_TARGET_MB:.0f} MB: {verdict(peak, MEMORY_TARGET_MB)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-of", choices=["first", "nightly"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--workspace", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_of:
        memory_child(args.url, args.workspace, args.memory_of)
        return
    with bench_database("halton_bench_clustering") as url, psycopg.connect(url, autocommit=True) as conn:
        ws = make_rows(conn, args.requests)
        start, end = trailing_window(AS_OF)
        params = (ws, start, end, AS_OF)
        bare, ours = best_of_interleaved(
            args.runs,
            (lambda: conn.execute(BASELINE, params).fetchall(), None),
            (lambda: clustering_only(conn, ws, AS_OF), None),
        )
        print(f"bare SELECT prompt_hash, count(*) … HAVING count(*) > 1 : {bare:7.2f} s")
        print(f"clustering, first build (keys of 31 days + repeated)   : {ours:7.2f} s   ratio {ours / bare:.2f}× "
              f"(target ≤ 2×: {verdict(ours / bare, 2.0)})")

        shape_window = DayWindow.ending_before(AS_OF)
        began = time.perf_counter()
        with conn.transaction():
            days_store.rebuild_shape_days(conn, ws, "UTC", shape_window.days(), AS_OF)
        cells = days_store.read_shape_cells(conn, ws, shape_window.first_day, shape_window.end_day)
        shapes = request_shapes(cells)
        print(f"request shapes (cells of 30 days in SQL + k-means)     : {time.perf_counter() - began:7.2f} s "
              f"({len(cells):,} cells, {len(shapes)} shapes)")

        reset(conn, ws)
        began = time.perf_counter()
        outcome = refresh_workspace(conn, ws, AS_OF, stage="clustering")
        full = time.perf_counter() - began
        stats = outcome.stage("clustering").stats
        print(f"whole clustering stage, first run                      : {full:7.2f} s "
              f"({stats['clusters']:,} clusters, {stats['loop_incidents']} loop incidents)")
        print(memory_line("whole stage, first run", *stage_memory(url, ws, "first")))
        day = args.requests // 30
        conn.execute(INSERT, {"ws": ws, "start": AS_OF - timedelta(hours=2), "span": 24 * 3600, "n": day,
                              "salt": "next"})
        conn.execute("analyze meter.requests")
        began = time.perf_counter()
        outcome = refresh_workspace(conn, ws, AS_OF + timedelta(days=1), stage="clustering")
        nightly = time.perf_counter() - began
        stats = outcome.stage("clustering").stats
        print(f"next nightly run (+{day:,} requests; {stats['days_rebuilt']} days rebuilt)  : {nightly:7.2f} s "
              f"   {nightly / full:.2f}× the first run; {nightly / bare:.2f}× the bare SELECT "
              f"(target ≤ 2×: {verdict(nightly / bare, 2.0)})")
        print(memory_line("nightly rerun", *stage_memory(url, ws, "nightly")))


if __name__ == "__main__":
    main()
