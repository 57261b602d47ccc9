"""What every benchmark needs: a database (DATABASE_URL's server, or an embedded one) and a timer."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from store.migrate import migrate
from workers.runtime.embedded import recreate_database, start_postgres, with_database


@contextmanager
def bench_database(name: str) -> Iterator[str]:
    """A fresh, migrated database of the benchmark's own; dropped server-side data is never reused."""
    root = Path(tempfile.mkdtemp(prefix="halton-bench-"))
    given = os.environ.get("DATABASE_URL")
    postgres = None
    try:
        if given:
            admin = given
        else:
            postgres = start_postgres(root / "pgdata")
            admin = postgres.url()
        recreate_database(admin, name)
        url = with_database(admin, name)
        with psycopg.connect(url, autocommit=True) as conn:
            migrate(conn)
        yield url
    finally:
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


def best_of(runs: int, action: Callable[[], object], before: Callable[[], object] | None = None) -> float:
    """The fastest of `runs` timings of `action`, each after an untimed `before`."""
    timings = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


def best_of_interleaved(runs: int, *actions: tuple[Callable[[], object], Callable[[], object] | None],
                        clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Best timing of each (action, untimed setup) pair, taking turns so drift hits all of them alike."""
    best = [float("inf")] * len(actions)
    for _ in range(runs):
        for i, (action, before) in enumerate(actions):
            if before is not None:
                before()
            started = clock()
            action()
            best[i] = min(best[i], clock() - started)
    return best


def cpu_clock(*conns: psycopg.Connection[tuple[object, ...]]) -> Callable[[], float] | None:
    """Seconds of CPU spent by this process and by the server backends of `conns`, or None when the server
    is not on this machine. On a shared machine wall-clock turns move by ±10 % or far more (other processes
    take the cores); the CPU a query costs barely moves. Linux's /proc/<pid>/schedstat counts a process's
    time on a CPU in nanoseconds, which no Python or Postgres API gives for another process."""
    files = [Path(f"/proc/{conn.info.backend_pid}/schedstat") for conn in conns]
    host = conns[0].info.host if conns else ""
    if not all(f.exists() for f in files) or not (host.startswith("/") or host in ("127.0.0.1", "localhost", "::1")):
        return None

    def clock() -> float:
        backends = sum(int(f.read_text().split()[0]) for f in files)
        return (backends + time.process_time_ns()) / 1e9
    return clock


def median_of(timings: list[float]) -> float:
    return statistics.median(timings)


def verdict(ratio: float, target: float) -> str:
    return "meets target" if ratio <= target else "MISSES target"


# A role with the fleet's grants (a member of it) that bypasses row-level security: the same queries and
# plans as the fleet's, without the policies, for the side-by-side figure of issue 16 item 6.
BYPASS_ROLE = "halton_bench_bypassrls"


@contextmanager
def rls_on_and_off(url: str, workspace_id: int) -> Iterator[tuple[psycopg.Connection[tuple[object, ...]],
                                                                 psycopg.Connection[tuple[object, ...]]]]:
    """(the fleet's role, row-level security on; a member of it with BYPASSRLS, off), both connected to the
    benchmark's database and scoped to `workspace_id`, as a job's connection is. Needs a superuser URL
    (BYPASSRLS is a superuser's to give)."""
    from store.roles import Roles, ensure_roles
    from store.tenancy import set_workspace
    from workers.runtime.embedded import as_role

    roles = Roles()
    with psycopg.connect(url, autocommit=True) as owner:
        ensure_roles(owner, roles)
        if owner.execute("select 1 from pg_roles where rolname = %s", (BYPASS_ROLE,)).fetchone() is None:
            owner.execute(f"create role {BYPASS_ROLE} login bypassrls in role {roles.fleet}")
    with psycopg.connect(as_role(url, roles.fleet), autocommit=True) as on, \
            psycopg.connect(as_role(url, BYPASS_ROLE), autocommit=True) as off:
        for conn in (on, off):
            set_workspace(conn, workspace_id)
        row = on.execute("select row_security_active('meter.requests'), current_user").fetchone()
        assert row == (True, roles.fleet), row
        row = off.execute("select row_security_active('meter.requests'), current_user").fetchone()
        assert row == (False, BYPASS_ROLE), row
        yield on, off
