"""The daily rollup on a 1,000,000-request workspace (30 days).

Prints, side by side in one process on one database:
- the full rollup step next to one bare `SELECT … GROUP BY day, project, model` over the same rows
  (target ratio ≤ 1.5×);
- an incremental refresh after one more day of data next to the full rollup (target ratio ≤ 0.15×);
- the whole refresh job, run row and all, for reference.

Usage: python bench/bench_rollup.py [--requests-per-day N]   (DATABASE_URL optional)
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta

import psycopg

from bench.common import bench_database, best_of, best_of_interleaved, verdict
from store import rollup
from synthetic import SeedOptions, seed_workspace
from workers.jobs import refresh_workspace

END = date(2026, 11, 1)  # first day not seeded; fixed so every run measures the same rows
AS_OF = datetime.combine(END, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)
BARE_GROUP_BY = """
    select (started_at at time zone 'UTC')::date as day, project_id, model, count(*), sum(cost_nanos)
    from meter.requests
    where workspace_id = %s and started_at >= %s and started_at < %s and synced_at <= %s
    group by 1, 2, 3"""
# The same, bucketing days with date_bin as the rollup does: a stricter reference, printed for honesty.
BARE_GROUP_BY_DATE_BIN = BARE_GROUP_BY.replace(
    "(started_at at time zone 'UTC')::date", "date_bin('1 day', started_at, timestamptz '2000-01-01 00:00:00+00')")


def reset_rollup(conn: psycopg.Connection[tuple[object, ...]], workspace_id: int) -> None:
    conn.execute("delete from analysis.rollup_state where workspace_id = %s", (workspace_id,))
    conn.execute("delete from analysis.daily_spend where workspace_id = %s", (workspace_id,))
    conn.execute("vacuum analysis.daily_spend")  # untimed: each round starts from the same table state


def full_rollup(conn: psycopg.Connection[tuple[object, ...]], workspace_id: int,
                as_of: datetime) -> rollup.RollupResult:
    with conn.transaction():
        return rollup.refresh_daily_spend(conn, workspace_id, as_of, run_id=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests-per-day", type=int, default=33_334)
    args = parser.parse_args()
    with bench_database("halton_bench_rollup") as url, psycopg.connect(url, autocommit=True) as conn:
        report = seed_workspace(conn, SeedOptions(slug="bench", days=30, requests_per_day=args.requests_per_day,
                                                  seed=7, end_date=END))
        ws = report.workspace_id
        conn.execute("vacuum analyze meter.requests")
        window = rollup.RollupWindow.ending_before(AS_OF)
        print(f"workspace: {report.requests:,} requests over 30 days")

        params = (ws, window.start, window.end, AS_OF)
        bare, bare_binned, full = best_of_interleaved(
            5,
            (lambda: conn.execute(BARE_GROUP_BY, params).fetchall(), None),
            (lambda: conn.execute(BARE_GROUP_BY_DATE_BIN, params).fetchall(), None),
            (lambda: full_rollup(conn, ws, AS_OF), lambda: reset_rollup(conn, ws)),
        )
        print(f"bare SELECT … GROUP BY day, project, model : {bare * 1000:8.1f} ms")
        print(f"full rollup step (30 days, written)        : {full * 1000:8.1f} ms"
              f"   ratio {full / bare:.2f}× (target ≤ 1.5×: {verdict(full / bare, 1.5)})")
        print(f"  the same bare SELECT with date_bin days   : {bare_binned * 1000:8.1f} ms"
              f"   ratio {full / bare_binned:.2f}× (stricter reference)")

        reset_rollup(conn, ws)
        refresh_workspace(conn, ws, AS_OF)
        state = conn.execute("select synced_through, window_start, window_end, run_id, updated_at "
                             "from analysis.rollup_state where workspace_id = %s", (ws,)).fetchone()
        assert state is not None
        seed_workspace(conn, SeedOptions(slug="bench", days=1, requests_per_day=args.requests_per_day, seed=7,
                                         end_date=END + timedelta(days=1), append=True))
        conn.execute("analyze meter.requests")
        next_as_of = AS_OF + timedelta(days=1)

        def restore_state() -> None:
            conn.execute("update analysis.rollup_state set synced_through = %s, window_start = %s, window_end = %s "
                         "where workspace_id = %s", (state[0], state[1], state[2], ws))
            conn.execute("vacuum analysis.daily_spend")

        incremental = best_of(5, lambda: full_rollup(conn, ws, next_as_of), before=restore_state)
        restore_state()
        days = full_rollup(conn, ws, next_as_of).days_recomputed
        print(f"incremental rollup after one more day      : {incremental * 1000:8.1f} ms"
              f"   ratio {incremental / full:.3f}× of full (target ≤ 0.15×: {verdict(incremental / full, 0.15)})")
        print(f"  it recomputed {len(days)} days: the new one and {len(days) - 1} that received late rows")

        job = best_of(5, lambda: refresh_workspace(conn, ws, AS_OF), before=lambda: reset_rollup(conn, ws))
        print(f"whole refresh job, first run (run row etc.) : {job * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
