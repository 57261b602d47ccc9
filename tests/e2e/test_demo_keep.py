"""`halton-workers demo` as a new user runs it, on embedded servers: everything it prints fits an
80-column terminal, and with --keep its database stays up for the command lines it prints."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from workers.demo import _print_keep, _print_servers
from workers.jobs.pipeline import STAGE_NAMES
from workers.runtime.embedded import LocalServers

CLI = f"{sys.executable} -m workers.cli"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def _postgres_stopped_afterwards(pgdata: Path) -> Iterator[None]:
    """Whatever the test asserts, the Postgres it kept is stopped at the end (by its own pid file)."""
    try:
        yield
    finally:
        pid_file = pgdata / "postmaster.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)


@pytest.fixture
def demo_env() -> dict[str, str]:
    """A new user's shell: no servers configured (the demo starts embedded ones), an 80-column terminal."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "PGHOST"} and not key.startswith(("HALTON_", "SENTRY_"))}
    env["COLUMNS"] = "80"
    return env


def test_the_demo_fits_80_columns_and_keeps_its_database_for_the_cli(tmp_path: Path,
                                                                     demo_env: dict[str, str]) -> None:
    pgdata = tmp_path / ".halton" / "pgdata"
    with _postgres_stopped_afterwards(pgdata):
        done = subprocess.run([sys.executable, "-m", "workers.cli", "demo", "--days", "3", "--requests-per-day",
                               "100", "--keep"], cwd=tmp_path, env=demo_env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        lines = done.stdout.splitlines()
        assert [line for line in lines if len(line) > 80] == []
        assert lines[0] == "database halton_demo on an embedded Postgres (data in .halton/pgdata)"
        # one refresh, every stage of it finished: beat fires once and the worker stops after the last stage
        title = next(i for i, line in enumerate(lines) if line.startswith("The latest refresh, one run per stage"))
        runs = [line.split()[:3] for line in itertools.takewhile(lambda line: line[:1].isdigit(), lines[title + 3:])]
        assert sorted(run[1] for run in runs) == sorted(STAGE_NAMES), lines[title:title + 8]
        assert all(run[2] == "succeeded" for run in runs), lines[title:title + 8]

        kept = lines[next(i for i, line in enumerate(lines) if line.startswith("─") and "Kept" in line):]
        exports = [line.strip() for line in kept if line.startswith("  export ")]
        assert exports == ['export PGHOST="$PWD/.halton/pgdata"',
                           "export DATABASE_URL=postgresql://postgres@/halton_demo"]
        commands = [line.strip().replace(".venv/bin/halton-workers", CLI) for line in kept
                    if line.startswith("  .venv/bin/halton-workers ")]
        assert commands, kept
        for command in commands:  # what the demo tells a person to type, in a shell in the same directory
            tried = subprocess.run(["bash", "-c", "; ".join([*exports, command])], cwd=tmp_path, env=demo_env,
                                   capture_output=True, text=True, timeout=300)
            assert tried.returncode == 0, (command, tried.stderr)
            assert "acme" in tried.stdout

        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        stop = next(line.strip() for line in kept if line.startswith("  kill "))
        subprocess.run(["bash", "-c", stop], cwd=tmp_path, env=demo_env, check=True, timeout=30)
        deadline = time.monotonic() + 30
        while _alive(postmaster):
            assert time.monotonic() < deadline, "the printed command did not stop the kept Postgres"
            time.sleep(0.1)


def test_on_given_servers_the_demo_says_where_in_80_columns_and_how_to_use_its_database(tmp_path: Path) -> None:
    """The lines the demo prints around the dashboard when DATABASE_URL/REDIS_URL are set: where, in
    80 columns whatever the URLs, and how to use its database afterwards (it stays on that server)."""
    for host in ("db.internal", "db-" * 30 + ".example.com"):
        servers = LocalServers(database_url=f"postgresql://fleet:secret@{host}:5432/halton_demo",
                               redis_url="redis://127.0.0.1:6379/0", postgres=None, redis=None)
        out = io.StringIO()
        console = Console(file=out, width=80, color_system=None)
        _print_servers(servers, tmp_path / ".halton", console)
        _print_keep(servers, tmp_path / ".halton", False, console)
        lines = out.getvalue().splitlines()
        assert lines == ["database halton_demo on the server of DATABASE_URL (recreated on each run)",
                         "broker   REDIS_URL, on queues of the demo's own (halton-demo-*)",
                         "halton_demo stays on that server; to try the CLI on it (password elided):",
                         f"  export DATABASE_URL=postgresql://fleet:***@{host}:5432/halton_demo"]
        # only a URL longer than the terminal runs past it, on one line to copy whole
        assert all(len(line) <= 80 for line in lines[:3]) and (len(lines[3]) <= 80) == (host == "db.internal")
