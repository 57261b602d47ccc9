"""`halton-workers demo`: embedded servers, a seeded workspace, a real worker and beat, the nightly
pipeline through them, and the dashboard's view printed as tables. Stops all it started."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.table import Table

from core.db import Conn
from core.errors import FleetError
from core.money import money
from store import dashboard_reads
from store.migrate import migrate
from store.rollup import RollupWindow
from store.runs import latest_finished_run, latest_runs
from store.workspaces import Workspace
from workers.db import connect, redact_url
from workers.demo_clustering import print_clustering
from workers.embedded import CliProcess, local_servers
from workers.pipeline import STAGE_NAMES

DEMO_SLUG = "acme"
DEMO_DATABASE = "halton_demo"
PIPELINE_TIMEOUT = 300



def run_demo(days: int, requests_per_day: int, data_dir: Path, out_dir: Path) -> None:
    console = Console()
    out_dir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    started = datetime.now(UTC)
    try:
        with local_servers(data_dir, DEMO_DATABASE) as servers:
            console.print(f"[bold]database[/] {redact_url(servers.database_url)}"
                          f"{' (embedded)' if servers.postgres else ' (a database of its own on DATABASE_URL)'}")
            console.print(f"[bold]broker[/]   {servers.redis_url}{' (embedded)' if servers.redis else ''}")
            with connect(servers.database_url) as conn:
                migrate(conn)
                workspace, planted = _demo_workspace(conn, days, requests_per_day, console)
            env = _child_env(servers.database_url, servers.redis_url, shared_broker=servers.redis is None)
            children: list[CliProcess] = []
            try:  # children stop before the servers they use
                for name, args in (("worker", ["worker", "--concurrency", "2", "--loglevel", "INFO"]),
                                   ("beat", ["beat", "--schedule-file", str(data_dir / "celerybeat-schedule")])):
                    children.append(CliProcess.spawn(name, args, env, data_dir / "logs" / f"{name}.log"))
                console.print("worker and beat started; waiting for beat's nightly fan-out to refresh the workspace…")
                with connect(servers.database_url) as conn:
                    _wait_for_refresh(conn, workspace.id, started, children)
            finally:
                for child in children:
                    child.stop()
            with connect(servers.database_url) as conn:
                _print_dashboard(conn, workspace, planted, console)
            console.print(f"artifacts: {out_dir.resolve()}")
    except KeyboardInterrupt:
        console.print("interrupted; stopping what the demo started")
        raise SystemExit(130) from None


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _demo_workspace(conn: Conn, days: int, requests_per_day: int, console: Console) -> tuple[Workspace, list[str]]:
    """Seed the demo workspace into the demo's fresh database."""
    from store.workspaces import workspace_by_slug
    from synthetic import SeedOptions, seed_workspace

    began = time.monotonic()
    report = seed_workspace(conn, SeedOptions(slug=DEMO_SLUG, days=days, requests_per_day=requests_per_day))
    console.print(f"seeded '{DEMO_SLUG}': {report.requests:,} requests over {days} days "
                  f"in {time.monotonic() - began:.1f}s")
    return workspace_by_slug(conn, DEMO_SLUG), report.lines()


def _child_env(database_url: str, redis_url: str, shared_broker: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                # beat fires the nightly fan-out within seconds instead of at 02:00
                "HALTON_NIGHTLY_SCHEDULE": "every:5"})
    if shared_broker:  # on someone's Redis, queues of the demo's own: take no one's tasks
        env.update({f"HALTON_QUEUE_{q.upper()}": f"halton-demo-{q}" for q in ("analysis", "billing", "pdf")})
    if not env.get("HALTON_ENCRYPTION_KEY"):
        from cryptography.fernet import Fernet

        env["HALTON_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    return env


def _wait_for_refresh(conn: Conn, workspace_id: int, since: datetime, children: list[CliProcess]) -> None:
    deadline = time.monotonic() + PIPELINE_TIMEOUT
    while time.monotonic() < deadline:
        for child in children:
            if child.process.poll() is not None:
                raise FleetError(f"the {child.name} exited early; see {child.log_path}")
        # the pipeline's last stage finishes (or is skipped) last; the runs table shows every stage
        finished = latest_finished_run(conn, workspace_id, STAGE_NAMES[-1], since)
        if finished is not None:
            return
        time.sleep(0.5)
    raise FleetError(f"no refresh finished within {PIPELINE_TIMEOUT}s; see the logs in {children[0].log_path.parent}")


def _spend_table(title: str, lines: list[dashboard_reads.SpendLine], label: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(label)
    table.add_column("requests", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("spend", justify="right")
    for line in lines:
        table.add_row(line.label, f"{line.requests:,}", f"{line.errors:,}", money(line.cost_nanos))
    return table


def _print_dashboard(conn: Conn, workspace: Workspace, planted: list[str], console: Console) -> None:
    window = RollupWindow.ending_before(datetime.now(UTC))
    first, end = window.first_day, window.end_day
    console.rule(f"{workspace.name} ({workspace.slug}) — last 30 days, {first} to {end - timedelta(days=1)}")
    console.print(_spend_table("Spend by provider", dashboard_reads.spend_by_provider(conn, workspace.id, first, end),
                               "provider"))
    console.print(_spend_table("Spend by project", dashboard_reads.spend_by_project(conn, workspace.id, first, end),
                               "project"))
    console.print(_spend_table("Top models", dashboard_reads.spend_by_model(conn, workspace.id, first, end),
                               "provider / model"))
    late, late_nanos = dashboard_reads.requests_synced_after(conn, workspace.id, datetime.now(UTC))
    if late:
        console.print(f"{late:,} requests ({money(late_nanos)}) of these days sync later than now (an offline "
                      "laptop); the next refresh adds them.")
    last_week = dashboard_reads.spend_by_day(conn, workspace.id, end - timedelta(days=7), end)
    console.print(_spend_table("Last 7 days", last_week, "day"))
    runs = Table(title="Recent runs", title_justify="left")
    for column in ("run", "job", "status", "started", "took", "stats / error"):
        runs.add_column(column)
    for run_id, job, status, _ws, _we, run_started, finished, error, stats in latest_runs(conn, workspace.id, 5):
        took = f"{(finished - run_started).total_seconds():.2f}s" if finished else "…"
        summary = ", ".join(f"{key.removeprefix('rollup_')}={value}" for key, value in sorted(stats.items()))
        runs.add_row(str(run_id), job, status, f"{run_started:%Y-%m-%d %H:%M:%S}", took, error or summary)
    console.print(runs)
    print_clustering(conn, workspace, planted, console)
    if planted:
        console.rule("What the seed planted (later capabilities must find these)")
        for line in planted:
            console.print(line)
