"""Time seeding a synthetic workspace of about a million requests into a fresh database of its own.

    python -m bench.bench_seed [--requests 1000000] [--days 30]

The database is created on DATABASE_URL's server when set, otherwise in an embedded Postgres.
Prints the phases (generate and price in numpy; COPY, statements and commit in Postgres) and rows/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time

import psycopg

from bench.common import bench_database
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
    args = parser.parse_args()
    end = dt.datetime.now(dt.UTC).date()
    options = SeedOptions(slug="bench-seed", days=args.days, end_date=end,
                          requests_per_day=requests_per_day_for(args.requests, end, args.days))
    with bench_database("halton_bench_seed") as url, psycopg.connect(url, autocommit=True) as conn:
        began = time.perf_counter()
        report = seed_workspace(conn, options)
        elapsed = time.perf_counter() - began
        print(f"seeded {report.requests:,} requests over {report.days} days")
        print(f"  generate + price  {report.seconds['generate']:7.2f} s")
        print(f"  COPY + commit     {report.seconds['write']:7.2f} s")
        print(f"  total             {elapsed:7.2f} s   {report.requests / elapsed:,.0f} rows/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
