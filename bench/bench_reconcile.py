"""Reconciling the biggest provider-month of a 1,000,000-request workspace (30 days).

Prints, side by side in one process on one database:
- the whole reconcile job (read the month through COPY, re-price every request at the rates in force
  that day, findings, write row, days, findings and audit event with the run row), forced to recompute;
- the floor it cannot go below: reading the same rows through COPY and re-pricing them, nothing else
  (target ratio ≤ 2×);
- a rerun with no new input (the inputs check only), for reference.

Usage: python -m bench.bench_reconcile [--requests-per-day N]   (DATABASE_URL optional)
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

import psycopg

from bench.common import bench_database, best_of, best_of_interleaved, verdict
from reconciliation.findings import reprice
from store.reconciliation import insert_statement, month_requests
from synthetic import SeedOptions, seed_workspace
from workers.jobs import reconcile as reconcile_jobs

END = date(2026, 11, 1)  # fixed, so every run measures the same rows: October is the month
PERIOD = date(2026, 10, 1)
AS_OF = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests-per-day", type=int, default=33_334)
    args = parser.parse_args()
    with bench_database("halton_bench_reconcile") as url, psycopg.connect(url, autocommit=True) as conn:
        report = seed_workspace(conn, SeedOptions(slug="bench", days=30, requests_per_day=args.requests_per_day,
                                                  seed=7, end_date=END))
        ws = report.workspace_id
        conn.execute("vacuum analyze meter.requests")
        provider, rows = conn.execute(
            """select provider, count(*) from meter.requests where workspace_id = %s group by 1
                order by 2 desc limit 1""", (ws,)).fetchone() or ("anthropic", 0)
        insert_statement(conn, ws, provider, PERIOD, "$1,234.56", "bench")
        print(f"workspace: {report.requests:,} requests over 30 days; {provider} {PERIOD:%Y-%m}: {rows:,} requests")
        table = reconcile_jobs.rates()

        def job() -> object:
            return reconcile_jobs.reconcile(conn, ws, provider, PERIOD, AS_OF, force=True)

        def floor() -> object:
            return reprice(month_requests(conn, ws, provider, PERIOD), table)

        job()  # warm: the rate table's lookups, the first COPY
        job_s, floor_s = best_of_interleaved(3, (job, None), (floor, None))
        rerun_s = best_of(3, lambda: reconcile_jobs.reconcile(conn, ws, provider, PERIOD, AS_OF))
        ratio = job_s / floor_s
        print(f"reconcile job (forced):          {job_s * 1000:8.0f} ms  ({rows / job_s:,.0f} requests/s)")
        print(f"floor: COPY the month + re-price: {floor_s * 1000:8.0f} ms")
        print(f"ratio: {ratio:.2f}x (target <= 2x: {verdict(ratio, 2.0)})")
        print(f"rerun with no new input:          {rerun_s * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
