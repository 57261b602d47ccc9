"""The pulse against the nightly refresh, on one workspace of 10,000,000 requests (issue 17's acceptance).

Prints, side by side in one process on one database:
- the nightly refresh of the workspace (every stage: rollup, forecast, clustering, checks, savings) after one
  more day of requests, each stage's time from its run row;
- a pulse after 10 minutes of new requests (the same minutes of the day before, around midday), the median of
  several successive pulses, each with its own 10 minutes; ratio to the nightly refresh (target ≤ 0.05×), and,
  for reference, to the nightly's rollup stage alone.

The workspace is seeded once per run by COPY (synthetic.seed_workspace, a chunk of days at a time so memory
stays bounded), into a database of the bench's own. Seeding 10M requests takes a while on a busy machine:
--requests sets the size (the figure printed says which size was measured).

Usage: python -m bench.bench_pulse [--requests 10000000] [--days 365] [--pulses 5]   (DATABASE_URL optional)
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import psycopg

from bench.bench_seed import requests_per_day_for
from bench.common import bench_database, verdict
from synthetic import SeedOptions, seed_workspace
from workers.jobs import refresh_workspace
from workers.jobs.pulse import pulse_workspace

END = date(2026, 11, 1)  # the nightly refreshes as of END + 1 day, 02:00; fixed so every run measures the same
TEN_MINUTES = timedelta(minutes=10)
CHUNK_DAYS = 30

Conn = psycopg.Connection[tuple[object, ...]]


def seed(conn: Conn, requests: int, days: int) -> tuple[int, int]:
    """`requests` requests over `days` days ending the day before END, then END itself (the nightly's new day)."""
    first = END - timedelta(days=days)
    per_day = requests_per_day_for(requests, END + timedelta(days=1), days + 1)
    began = time.perf_counter()
    workspace_id = 0
    for start in range(0, days, CHUNK_DAYS):
        span = min(CHUNK_DAYS, days - start)
        report = seed_workspace(conn, SeedOptions(slug="bench-pulse", days=span, requests_per_day=per_day, seed=17,
                                                  end_date=first + timedelta(days=start + span), append=start > 0))
        workspace_id = report.workspace_id
        print(f"  seeded {start + span:4d}/{days} days  ({time.perf_counter() - began:6.0f} s)", flush=True)
    conn.execute("vacuum analyze meter.requests")
    return workspace_id, per_day


def add_ten_minutes(conn: Conn, workspace_id: int, start: datetime) -> int:
    """Ten minutes of new requests from `start`: the same minutes of the day before, a day later, synced 30 s
    after they started (the workspace's own rate and mix)."""
    cursor = conn.execute(
        """insert into meter.requests (workspace_id, device_id, project_id, attribution_tier, provider, model,
                provider_request_id, started_at, latency_ms, status_code, service_tier, input_tokens,
                cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, max_tokens, cost_nanos,
                rates_version, prompt_hash, synced_at)
           select workspace_id, device_id, project_id, attribution_tier, provider, model, null,
                  started_at + interval '1 day', latency_ms, status_code, service_tier, input_tokens,
                  cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, max_tokens, cost_nanos,
                  rates_version, prompt_hash, started_at + interval '1 day 30 seconds'
           from meter.requests
           where workspace_id = %s and started_at >= %s and started_at < %s""",
        (workspace_id, start - timedelta(days=1), start - timedelta(days=1) + TEN_MINUTES),
    )
    return cursor.rowcount


def stage_seconds(conn: Conn, workspace_id: int, since: datetime) -> list[tuple[str, float]]:
    rows = conn.execute(
        """select job, extract(epoch from finished_at - started_at) from analysis.runs
           where workspace_id = %s and started_at >= %s and job <> 'pulse' order by id""",
        (workspace_id, since)).fetchall()
    return [(str(job), float(str(seconds))) for job, seconds in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--pulses", type=int, default=5)
    args = parser.parse_args()
    with bench_database("halton_bench_pulse") as url, psycopg.connect(url, autocommit=True) as conn:
        print(f"seeding {args.requests:,} requests over {args.days + 1} days (COPY)", flush=True)
        ws, per_day = seed(conn, args.requests, args.days)
        night_before = datetime.combine(END, datetime.min.time(), UTC) + timedelta(hours=2)
        refresh_workspace(conn, ws, night_before)  # the previous night: the whole history built (untimed)
        seed_workspace(conn, SeedOptions(slug="bench-pulse", days=1, requests_per_day=per_day,
                                         seed=17, end_date=END + timedelta(days=1), append=True))
        conn.execute("analyze meter.requests")
        row = conn.execute("select count(*) from meter.requests where workspace_id = %s", (ws,)).fetchone()
        assert row is not None
        print(f"workspace: {row[0]:,} requests over {args.days + 1} days")

        nightly_as_of = night_before + timedelta(days=1)
        clock = conn.execute("select clock_timestamp()").fetchone()
        assert clock is not None
        began = time.perf_counter()
        refresh_workspace(conn, ws, nightly_as_of)
        nightly = time.perf_counter() - began
        stages = stage_seconds(conn, ws, clock[0])
        rollup_stage = dict(stages)["rollup"]

        timings, added = [], []
        # at midday, the busy hours: ten minutes then hold more requests than the day's average ten minutes
        midday = nightly_as_of + timedelta(hours=10)
        for i in range(args.pulses):
            start = midday + i * TEN_MINUTES
            new = add_ten_minutes(conn, ws, start)
            began = time.perf_counter()
            outcome = pulse_workspace(conn, ws, start + TEN_MINUTES)
            elapsed = time.perf_counter() - began
            if new:  # a quiet 10 minutes (a small workspace at night) costs only the probe: not what is measured
                assert outcome.status == "succeeded", outcome
                timings.append(elapsed)
                added.append(new)
        pulse = statistics.median(timings)

        print(f"nightly refresh (every stage)            : {nightly * 1000:10.1f} ms")
        for job, seconds in stages:
            print(f"  {job:<39}: {seconds * 1000:10.1f} ms")
        print(f"pulse after 10 minutes of new requests   : {pulse * 1000:10.1f} ms   (median of {len(timings)}; "
              f"{statistics.median(added):.0f} requests each)")
        ratio = pulse / nightly
        print(f"ratio pulse / nightly refresh            : {ratio:10.4f}×  (target ≤ 0.05×: {verdict(ratio, 0.05)})")
        print(f"ratio pulse / nightly rollup stage alone : {pulse / rollup_stage:10.4f}×  (for reference)")


if __name__ == "__main__":
    main()
