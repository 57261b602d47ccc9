"""The optimisation catalog on a 3,000,000-request workspace (30 days).

Prints, in one process on one database: the whole catalog for the window (bringing the catalog's daily
sums up to date and reading them, the odd requests, the clustering stage's hashes' requests, the rollups,
the clusters and loop incidents; every check with its sample ids; the monthly findings combined on one
bill per project and model (checks/overlap.py); not the writes) next to one bare
aggregate scan of the same window (`SELECT project_id, model, count(*), sum(…) … GROUP BY project_id,
model`), and their ratio (target ≤ 2×), taking turns between the two.

The catalog's daily sums (analysis.catalog_daily) are built incrementally, like the rollup: the first
run builds all thirty days (printed on its own, "cold"); a nightly run rebuilds only the days that got
rows synced since the last one. Rerunning at the same as_of, as the timed runs do, rebuilds the days
that received rows in the last ten minutes before as_of (the late-commit margin), here two of thirty:
about what a nightly run rebuilds (the new day and late rows).

The clusters and loop incidents the catalog reads are written once, untimed, by the clustering stage.

Then the same whole catalog as the fleet's role, under row-level security, next to a member of that role
with BYPASSRLS, and their ratio (target ≤ 1.05×, issue 16 item 6).

Usage: python -m bench.bench_checks [--requests-per-day N]   (DATABASE_URL optional)
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime, timedelta

import psycopg

from bench.common import bench_database, best_of_interleaved, rls_on_and_off, verdict
from checks import run_catalog
from checks.overlap import combine
from synthetic import SeedOptions, seed_workspace
from workers.jobs.checks import catalog_inputs
from workers.jobs.pipeline import run_pipeline
from workers.jobs.stage import StageContext

END = date(2026, 11, 1)  # first day not seeded; fixed so every run measures the same rows
AS_OF = datetime.combine(END, datetime.min.time(), tzinfo=UTC)
BARE_SCAN = """
    select project_id, model, count(*), sum(input_tokens), sum(output_tokens), sum(cost_nanos)
    from meter.requests
    where workspace_id = %s and started_at >= %s and started_at < %s and synced_at <= %s
    group by 1, 2"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests-per-day", type=int, default=100_000)
    args = parser.parse_args()
    with bench_database("halton_bench_checks") as url, psycopg.connect(url, autocommit=True) as conn:
        began = time.perf_counter()
        report = seed_workspace(conn, SeedOptions(slug="bench", days=30, requests_per_day=args.requests_per_day,
                                                  seed=7, end_date=END))
        ws = report.workspace_id
        conn.execute("vacuum analyze meter.requests")
        for stage in ("rollup", "clustering"):
            run_pipeline(conn, ws, AS_OF, only=stage)
        print(f"workspace: {report.requests:,} requests over 30 days (seeded in {time.perf_counter() - began:.0f}s)")

        ctx = StageContext(conn, ws, AS_OF)
        found: list[int] = []

        def catalog() -> None:
            inputs = catalog_inputs(ctx)
            findings = run_catalog(inputs)
            combine(findings, inputs)
            found.append(len(findings))

        params = (ws, AS_OF - timedelta(days=30), AS_OF, AS_OF)
        started = time.perf_counter()
        catalog()
        print(f"cold catalog (builds 30 days of daily sums) : {(time.perf_counter() - started) * 1000:8.1f} ms")
        bare, whole = best_of_interleaved(
            3, (lambda: conn.execute(BARE_SCAN, params).fetchall(), None), (catalog, None))
        print(f"bare aggregate scan of the window          : {bare * 1000:8.1f} ms")
        print(f"whole catalog (read + {found[-1]} findings)         : {whole * 1000:8.1f} ms"
              f"   ratio {whole / bare:.2f}× (target ≤ 2×: {verdict(whole / bare, 2.0)})")
        started = time.perf_counter()
        inputs = catalog_inputs(ctx)
        read = time.perf_counter() - started
        started = time.perf_counter()
        findings = run_catalog(inputs)
        checked = time.perf_counter()
        combine(findings, inputs)
        print(f"  of which reading the inputs               : {read * 1000:8.1f} ms; the checks: "
              f"{(checked - started) * 1000:.1f} ms; combining: {(time.perf_counter() - checked) * 1000:.1f} ms")
        # the next night: the window moves a day; the daily sums rebuild the days that got rows synced since
        # (the seed's late rows) and drop the day that left the window
        started = time.perf_counter()
        run_catalog(catalog_inputs(StageContext(conn, ws, AS_OF + timedelta(days=1))))
        print(f"the next night's catalog (as_of + 1 day, once): {(time.perf_counter() - started) * 1000:8.1f} ms")

        # issue 16 item 6: the whole catalog as the fleet's role (row-level security on) next to a member of
        # it with BYPASSRLS (off), taking turns, at the next night's as_of (the daily sums are up to date for
        # it, as for the timed runs above: an earlier as_of would rebuild all thirty days each time)
        with rls_on_and_off(url, ws) as (on, off):
            timed = {}
            for name, role_conn in (("on", on), ("off", off)):
                context = StageContext(role_conn, ws, AS_OF + timedelta(days=1))
                catalog_inputs(context)
                timed[name] = context
            with_rls, without = best_of_interleaved(
                5, (lambda: run_catalog(catalog_inputs(timed["on"])), None),
                (lambda: run_catalog(catalog_inputs(timed["off"])), None))
        print(f"whole catalog, row-level security off (BYPASSRLS): {without * 1000:8.1f} ms")
        print(f"whole catalog, row-level security on (the fleet) : {with_rls * 1000:8.1f} ms"
              f"   ratio {with_rls / without:.3f}× (target ≤ 1.05×: {verdict(with_rls / without, 1.05)})")


if __name__ == "__main__":
    main()
