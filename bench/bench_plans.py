"""Generic plans on a worker's connection: what a workspace's refresh costs after the connection ran others.

psycopg prepares a statement a connection has run five times, and Postgres (plan_cache_mode=auto) may then
plan it once for any parameters. A worker's connection runs many small workspaces' refreshes, then a large
one (or the reverse), so a statement's generic plan may be chosen on one size and used for the other.

`--seed` makes the database (one large workspace, `--small` small ones); each measurement is then one process
(`--order small-first|large-first`, `--variant default|custom|none`) that empties `analysis`, opens one
connection as the fleet's role (row-level security on) and runs the first night's refresh of the small ones
and the large one in that order, printing each refresh's CPU (this process and its backend: bench.common.
cpu_clock) as JSON. `custom` sets plan_cache_mode=force_custom_plan on the connection, `none` turns psycopg's
preparation off (prepare_threshold=None). `--night` next|new-large|new-small|same-connection: the night before
built every cache, the small ones' only, the large one's only (on its own connection), or every cache on the
measured connection; `--owner` runs as the database's owner (no row-level security). Run the code before and
after a change from two directories, alternating (docs/BENCHMARKS.md, row-level security's section, says how it
was run). Not in run_all: a measurement is several processes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, date, datetime, timedelta

import psycopg

from bench.bench_fleet import empty_analysis
from bench.common import cpu_clock
from store.migrate import migrate
from store.roles import Roles, ensure_roles
from store.tenancy import set_workspace
from synthetic import SeedOptions, seed_workspace
from workers.runtime.embedded import as_role, recreate_database, with_database

END = date(2026, 11, 1)
AS_OF = datetime(2026, 11, 1, 2, tzinfo=UTC)


def seed(admin: str, name: str, small: int, large_per_day: int, small_per_day: int | None = None) -> None:
    recreate_database(admin, name)
    url = with_database(admin, name)
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)
        ensure_roles(conn, Roles())
        seed_workspace(conn, SeedOptions(slug="large", days=60, requests_per_day=large_per_day, seed=1,
                                         end_date=END))
        for i in range(small):
            per_day = small_per_day or 10 + (i * 7) % 20
            seed_workspace(conn, SeedOptions(slug=f"small{i:03d}", days=30, requests_per_day=per_day, seed=100 + i,
                                             end_date=END, plants=frozenset()))
        conn.execute("vacuum analyze")


def measure(admin: str, name: str, order: str, variant: str, night: str, owner_role: bool = False
            ) -> dict[str, object]:
    from workers.jobs import refresh_workspace  # the code under test (PYTHONPATH)
    url = with_database(admin, name)
    role_url = url if owner_role else as_role(url, Roles().fleet)
    with psycopg.connect(url, autocommit=True) as owner:
        empty_analysis(owner)
        rows = owner.execute("select id, slug from meter.workspaces order by id").fetchall()
    large = [int(r[0]) for r in rows if r[1] == "large"]
    small = [int(r[0]) for r in rows if r[1] != "large"]
    as_of = AS_OF
    # next: the night before built every cache (on its own connection) and this one brings one day; new-large:
    # it built the small ones' only (the large one is new tonight: its first build); new-small: the reverse;
    # same-connection: the night before ran on the measured connection
    built = {"first": [], "next": large + small, "new-large": small, "new-small": large, "same-connection": []}[night]
    if built:
        with psycopg.connect(role_url, autocommit=True) as before:
            for ws in built:
                set_workspace(before, ws)
                refresh_workspace(before, ws, AS_OF - timedelta(days=1))
    options = "-c plan_cache_mode=force_custom_plan" if variant == "custom" else ""
    with psycopg.connect(role_url, autocommit=True, options=options) as conn:
        if variant == "none":
            conn.prepare_threshold = None
        clock = cpu_clock(conn)
        assert clock is not None
        times: list[tuple[str, float, float]] = []
        if night == "same-connection":  # the night before on this connection, untimed, in the same order
            for ws in (small + large if order == "small-first" else large + small):
                set_workspace(conn, ws)
                refresh_workspace(conn, ws, AS_OF - timedelta(days=1))
        for ws in (small + large if order == "small-first" else large + small):
            set_workspace(conn, ws)  # as workers.runtime.tenancy's workspace_connection does
            cpu, wall = clock(), time.perf_counter()
            refresh_workspace(conn, ws, as_of)
            times.append(("large" if ws in large else "small", clock() - cpu, time.perf_counter() - wall))
        generic = conn.execute("select count(*) filter (where generic_plans > 0), count(*) "
                               "from pg_prepared_statements").fetchone()
        over_requests = conn.execute(
            "select generic_plans, custom_plans, left(regexp_replace(statement, '\\s+', ' ', 'g'), 150) "
            "from pg_prepared_statements where statement ilike '%meter.requests%' order by 1 desc").fetchall()
    return {"order": order, "night": night, "owner": owner_role, "variant": variant, "times": times,
            "generic": generic, "over_requests": over_requests, "load": open("/proc/loadavg").read().split()[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--name", default="plans2_bench")
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--small", type=int, default=30)
    parser.add_argument("--large-per-day", type=int, default=10_000)
    parser.add_argument("--small-per-day", type=int, help="the same for every small one (default: 10 to 29)")
    parser.add_argument("--order", default="small-first")
    parser.add_argument("--variant", default="default")
    parser.add_argument("--night", default="first")
    parser.add_argument("--owner", action="store_true", help="as the database's owner (no row-level security)")
    args = parser.parse_args()
    if args.seed:
        seed(args.admin, args.name, args.small, args.large_per_day, args.small_per_day)
        return
    json.dump(measure(args.admin, args.name, args.order, args.variant, args.night, args.owner), sys.stdout)
    print()


if __name__ == "__main__":
    main()
