"""Time seeding a synthetic workspace of about a million requests into DATABASE_URL.

    DATABASE_URL=postgresql://... python bench/bench_seed.py [--requests 1000000] [--days 30] [--keep]

Prints the phases (generate and price in numpy; COPY, statements and commit in Postgres) and rows/s.
The workspace gets a fresh slug and is deleted afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import time

import psycopg

from synthetic import SeedOptions, seed_workspace
from synthetic.catalog import NIGHTLY_SHARE
from synthetic.rhythm import weekday_factor


def requests_per_day_for(total: int, end: dt.date, days: int) -> int:
    """The requests_per_day whose expected total over these days is `total` (weekends are quieter)."""
    dates = [end - dt.timedelta(days=i + 1) for i in range(days)]
    per_unit = sum((1 - NIGHTLY_SHARE) * weekday_factor(d) + NIGHTLY_SHARE for d in dates)
    return math.ceil(total / per_unit)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--slug", default=f"bench-seed-{int(time.time())}")
    parser.add_argument("--keep", action="store_true", help="keep the workspace (e.g. for the rollup bench)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("error: set DATABASE_URL to a migrated database to seed into", file=sys.stderr)
        return 2
    end = dt.datetime.now(dt.UTC).date()
    options = SeedOptions(slug=args.slug, days=args.days, end_date=end,
                          requests_per_day=requests_per_day_for(args.requests, end, args.days))
    with psycopg.connect(url, autocommit=True) as conn:
        began = time.perf_counter()
        report = seed_workspace(conn, options)
        elapsed = time.perf_counter() - began
        print(f"seeded {report.requests:,} requests over {report.days} days into '{report.slug}'")
        print(f"  generate + price  {report.seconds['generate']:7.2f} s")
        print(f"  COPY + commit     {report.seconds['write']:7.2f} s")
        print(f"  total             {elapsed:7.2f} s   {report.requests / elapsed:,.0f} rows/s")
        if not args.keep:
            _delete(conn, report.workspace_id)
            print(f"  (workspace '{report.slug}' deleted; pass --keep to keep it)")
    return 0


def _delete(conn: psycopg.Connection[tuple[object, ...]], workspace_id: int) -> None:
    with conn.transaction():
        for table in ("requests", "billing_statements", "devices", "projects", "cost_centers"):
            conn.execute(f"delete from meter.{table} where workspace_id = %s", (workspace_id,))
        conn.execute("delete from meter.workspaces where id = %s", (workspace_id,))


if __name__ == "__main__":
    sys.exit(main())
