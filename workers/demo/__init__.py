"""`halton-workers demo`: embedded servers, a seeded workspace, a real worker and beat, the nightly
pipeline through them, and the dashboard's view printed as tables. Stops all it started."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from rich import box
from rich.console import Console
from rich.table import Table

from core.db import Conn
from core.errors import FleetError
from core.money import money, money_column
from schedules.beat import NIGHTLY_ENTRY
from store import dashboard_reads
from store.incremental import DayWindow
from store.migrate import migrate
from store.roles import ensure_roles
from store.runs import RefreshProgress, latest_finished_run, latest_refresh_runs, refresh_progress
from store.workspaces import Workspace
from synthetic.report import SeedReport
from synthetic.story import planted_story
from workers.demo.budget import plant_budgets, print_budgets
from workers.demo.checks import print_catalog
from workers.demo.clustering import print_clustering
from workers.demo.exports import export_to_embedded_s3
from workers.demo.reconciliation import print_reconciliation
from workers.demo.reports import write_demo_reports
from workers.jobs.pipeline import STAGE_NAMES
from workers.jobs.run_summary import count, run_summary
from workers.runtime.db import connect, redact_url
from workers.runtime.embedded import CliProcess, LocalServers, as_role, local_servers
from workers.settings import role_names

DEMO_SLUG = "acme"
DEMO_DATABASE = "halton_demo"
PIPELINE_TIMEOUT = 300


def run_demo(days: int, requests_per_day: int, data_dir: Path, out_dir: Path, keep: bool = False) -> None:
    console = Console()
    out_dir.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("HALTON_ENCRYPTION_KEY") and not os.environ.get("HALTON_ENCRYPTION_KEYS"):
        from cryptography.fernet import Fernet  # demo only: cryptography

        # one throwaway key for this process (the export destination's sealed credentials) and its children
        os.environ["HALTON_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    signal.signal(signal.SIGTERM, _raise_interrupt)
    started = datetime.now(UTC)
    try:
        with local_servers(data_dir, DEMO_DATABASE) as servers:
            _print_servers(servers, data_dir, console)
            roles = role_names()
            with connect(servers.database_url) as conn:  # the owner: schemas, roles and the seed
                migrate(conn)
                ensure_roles(conn, roles)
                workspace, seeded = _demo_workspace(conn, days, requests_per_day, console)
                budgets = plant_budgets(conn, workspace, datetime.now(UTC))  # the dashboard's and a runaway's
            # the worker and beat connect as the fleet's role, as in production
            env = _child_env(as_role(servers.database_url, roles.fleet), servers.redis_url,
                             shared_broker=servers.redis is None)
            children: list[CliProcess] = []
            beat_log = data_dir / "logs" / "beat.log"
            beat_log_from = beat_log.stat().st_size if beat_log.exists() else 0  # the log is appended to
            try:  # children stop before the servers they use
                for name, args in (("worker", ["worker", "--concurrency", "2", "--loglevel", "INFO"]),
                                   ("beat", ["beat", "--schedule-file", str(data_dir / "celerybeat-schedule")])):
                    children.append(CliProcess.spawn(name, args, env, data_dir / "logs" / f"{name}.log"))
                console.print("worker and beat started; waiting for beat's nightly refresh…")
                with connect(servers.database_url) as conn:
                    sent = _fire_once(conn, workspace.id, started, children, beat_log_from)
                    _wait_for_refreshes(conn, workspace.id, started, sent, children)
                if sent > 1:
                    console.print(f"(beat fired {sent} refreshes before it stopped; all finished, the latest shows)")
            finally:
                for child in children:
                    child.stop()
            with connect(servers.database_url) as conn:
                _print_dashboard(conn, workspace, seeded, console)
                print_budgets(conn, workspace, budgets, console, datetime.now(UTC))
                write_demo_reports(conn, workspace, out_dir, console)
                export_to_embedded_s3(conn, as_role(servers.database_url, roles.fleet), workspace, console)
                failures = pipeline_failures(conn, workspace.id, started)
            console.print(f"artifacts: {out_dir.resolve()}")
            _print_keep(servers, data_dir, keep, console)
            if failures:  # what printed above is partial: say so, and end the demo as failed
                console.print("[bold red]the nightly refresh did not complete:[/] " + "; ".join(failures),
                              soft_wrap=True)
                raise SystemExit(1)
    except KeyboardInterrupt:
        console.print("interrupted; stopping what the demo started")
        raise SystemExit(130) from None


def _shown_path(path: Path) -> str:
    """A path as a person types it here: under the current directory, relative to "$PWD"."""
    try:
        return f"$PWD/{path.resolve().relative_to(Path.cwd())}"
    except ValueError:
        return str(path.resolve())


def _print_servers(servers: LocalServers, data_dir: Path, console: Console) -> None:
    if servers.postgres is not None:
        where = f"an embedded Postgres (data in {_shown_path(data_dir / 'pgdata').removeprefix('$PWD/')})"
    else:
        where = "the server of DATABASE_URL (recreated on each run)"
    console.print(f"[bold]database[/] {DEMO_DATABASE} on {where}")
    if servers.redis is not None:
        console.print(f"[bold]broker[/]   an embedded Redis on 127.0.0.1:{servers.redis.port}")
    else:
        console.print("[bold]broker[/]   REDIS_URL, on queues of the demo's own (halton-demo-*)")


def _print_keep(servers: LocalServers, data_dir: Path, keep: bool, console: Console) -> None:
    """How to try the command line on the demo's database afterwards (kept), or how to keep it."""
    if servers.postgres is None:  # a database of its own on the given server: it stays there anyway
        console.print(f"{DEMO_DATABASE} stays on that server; to try the CLI on it (password elided):")
        # one line however long the URL, so that it can be copied whole
        console.print(f"  export DATABASE_URL={redact_url(servers.database_url)}", soft_wrap=True, highlight=False)
    elif not keep:
        console.print("Tip: `halton-workers demo --keep` leaves its database up to try the CLI on.")
    else:
        console.rule("Kept: the demo's database, to try the command line on")
        servers.postgres.keep_running()  # only once the person is told how to use it and stop it
        pgdata = _shown_path(data_dir / "pgdata")
        console.print("Postgres keeps running. In a shell here, for example:")
        # libpq takes the socket's directory from PGHOST, which keeps both lines short and copyable
        for line in (f'  export PGHOST="{pgdata}"', f"  export DATABASE_URL=postgresql://postgres@/{DEMO_DATABASE}",
                     f"  .venv/bin/halton-workers recommendations --workspace {DEMO_SLUG}",
                     f"  .venv/bin/halton-workers refresh --workspace {DEMO_SLUG}"):
            console.print(line, soft_wrap=True, highlight=False)
        console.print("Stop it with", soft_wrap=True)
        console.print(f'  kill -INT "$(head -1 "{pgdata}/postmaster.pid")"', soft_wrap=True, highlight=False)
        console.print("and start it again (afresh) with `make demo DEMO_ARGS=--keep`.")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _demo_workspace(conn: Conn, days: int, requests_per_day: int, console: Console) -> tuple[Workspace, SeedReport]:
    """Seed the demo workspace into the demo's fresh database."""
    from store.workspaces import workspace_by_slug  # CLI start-up
    from synthetic import SeedOptions, seed_workspace

    began = time.monotonic()
    report = seed_workspace(conn, SeedOptions(slug=DEMO_SLUG, days=days, requests_per_day=requests_per_day))
    console.print(f"seeded '{DEMO_SLUG}': {report.requests:,} requests over {days} days "
                  f"in {time.monotonic() - began:.1f}s")
    return workspace_by_slug(conn, DEMO_SLUG), report


def _child_env(database_url: str, redis_url: str, shared_broker: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                # beat fires the nightly fan-out within seconds instead of at 02:00 (then the demo stops it)
                "HALTON_NIGHTLY_SCHEDULE": "every:5"})
    if shared_broker:  # on someone's Redis, queues of the demo's own: take no one's tasks
        env.update({f"HALTON_QUEUE_{q.upper()}": f"halton-demo-{q}" for q in ("analysis", "billing", "pdf")})
    if not env.get("HALTON_ENCRYPTION_KEY") and not env.get("HALTON_ENCRYPTION_KEYS"):
        from cryptography.fernet import Fernet  # demo only: cryptography

        env["HALTON_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    return env


def _fire_once(conn: Conn, workspace_id: int, since: datetime, children: list[CliProcess], log_from: int) -> int:
    """Let beat fire the nightly refresh, then stop it: a reader expects one refresh, and a beat left firing
    every few seconds started refreshes that the worker's stop then cut off halfway (a run left 'running'
    in the runs table). Beat is stopped once the refresh has started (its fan-out surely sent); how many
    it sent by then (another, if the worker was slow to take the first) is what the demo waits for."""
    beat = children[1]
    deadline = time.monotonic() + PIPELINE_TIMEOUT
    while refresh_progress(conn, workspace_id, STAGE_NAMES, since).started == 0:
        _check_alive(children, deadline)
        time.sleep(0.2)
    beat.stop()
    return beat_sends(beat.log_path.read_bytes()[log_from:])


def beat_sends(log: bytes) -> int:
    """How many times beat's log says it sent the nightly fan-out (celery beat logs each send at INFO)."""
    return log.count(f"Sending due task {NIGHTLY_ENTRY} ".encode())


def _wait_for_refreshes(conn: Conn, workspace_id: int, since: datetime, sent: int, children: list[CliProcess]) -> None:
    """Until every refresh beat sent has finished, so that stopping the worker cuts none off."""
    deadline = time.monotonic() + PIPELINE_TIMEOUT
    while not refreshes_done(refresh_progress(conn, workspace_id, STAGE_NAMES, since), sent):
        _check_alive(children[:1], deadline)
        time.sleep(0.5)


def refreshes_done(progress: RefreshProgress, sent: int) -> bool:
    """Every refresh beat sent finished its last stage, and no run is left running."""
    return progress.finished >= max(sent, 1) and progress.running == 0


def _check_alive(children: list[CliProcess], deadline: float) -> None:
    for child in children:
        if child.process.poll() is not None:
            raise FleetError(f"the {child.name} exited early; see {child.log_path}")
    if time.monotonic() > deadline:
        raise FleetError(f"no refresh finished within {PIPELINE_TIMEOUT}s; see the logs in "
                         f"{children[0].log_path.parent}")


def pipeline_failures(conn: Conn, workspace_id: int, since: datetime) -> list[str]:
    """'stage failed: why' for each stage whose latest run since `since` failed (skipped ones included)."""
    failures = []
    for stage in STAGE_NAMES:
        finished = latest_finished_run(conn, workspace_id, stage, since)
        if finished is not None and finished[0] == "failed":
            failures.append(f"{stage} failed: {finished[1]}")
    return failures


def _spend_table(title: str, lines: list[dashboard_reads.SpendLine], label: str,
                 total: dashboard_reads.SpendLine | None = None) -> Table:
    """A spend table with a total row; given the total of a top-N list, an "other" row makes the
    rows add up to it."""
    table = Table(title=title, title_justify="left")
    table.add_column(label, no_wrap=True, overflow="ellipsis", max_width=36)
    table.add_column("requests", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("spend", justify="right")
    shown = _sum_lines("total", lines)
    total = total or shown
    rows = list(lines)
    if total.requests != shown.requests or total.cost_nanos != shown.cost_nanos:
        rows.append(dashboard_reads.SpendLine("other", total.requests - shown.requests, total.errors - shown.errors,
                                              total.cost_nanos - shown.cost_nanos))
    # each row to the cent such that the column adds up to the total printed under it
    for line, spend in zip(rows, money_column([x.cost_nanos for x in rows], total.cost_nanos), strict=True):
        table.add_row(line.label, f"{line.requests:,}", f"{line.errors:,}", spend)
    table.add_section()
    table.add_row("total", f"{total.requests:,}", f"{total.errors:,}", money(total.cost_nanos), style="bold")
    return table


def _sum_lines(label: str, lines: list[dashboard_reads.SpendLine]) -> dashboard_reads.SpendLine:
    return dashboard_reads.SpendLine(label, sum(x.requests for x in lines), sum(x.errors for x in lines),
                                     sum(x.cost_nanos for x in lines))


def _runs_table(conn: Conn, workspace_id: int, width: int) -> Table:
    """The latest refresh's run of each stage, one line each in ``width`` columns, what it did in words: the
    raw stats and the full error stay in analysis.runs. One refresh, never the latest run of each job: two
    refreshes that overlapped would mix (and could show one cut off)."""
    rows = []
    for run_id, job, status, _ws, _we, run_started, finished, error, stats in latest_refresh_runs(
            conn, workspace_id, STAGE_NAMES[-1]):
        took = f"{(finished - run_started).total_seconds():.2f}s" if finished else "…"
        what = " ".join(error.split()) if error else run_summary(job, stats or {})
        rows.append((str(run_id), job, status, f"{run_started:%H:%M}", took, what))
    runs = Table(title="The latest refresh, one run per stage (UTC)", title_justify="left", box=box.SIMPLE_HEAD,
                 show_edge=False, collapse_padding=True, pad_edge=False)
    # The short columns keep their width; the last gets what is left and ends in "…" (rich crops a table
    # of no-wrap columns at the edge rather than shrinking them, so say how much).
    short = ("run", "job", "status", "at", "took")
    widths = [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(short)]
    for name, least in zip(short, widths, strict=True):
        runs.add_column(name, no_wrap=True, min_width=least)
    left = width - sum(least + 2 for least in widths)  # 2 = the padding and rule between two columns
    runs.add_column("what it did", no_wrap=True, overflow="ellipsis", max_width=max(left, 12))
    for row in rows:
        runs.add_row(*row)
    return runs


def _print_planted(planted: list[tuple[str, str]], console: Console) -> None:
    console.rule("What the seed planted: what the analysis should find")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(ratio=1)  # the sentence wraps inside its column, never past the edge
    for heading, sentence in planted:
        grid.add_row(heading, sentence)
    console.print(grid)


def _print_dashboard(conn: Conn, workspace: Workspace, report: SeedReport, console: Console) -> None:
    window = DayWindow.ending_before(datetime.now(UTC))
    first, end = window.first_day, window.end_day
    console.rule(f"{workspace.name} ({workspace.slug}) — last 30 days, {first} to {end - timedelta(days=1)}")
    providers = dashboard_reads.spend_by_provider(conn, workspace.id, first, end)
    total = _sum_lines("total", providers)
    console.print(_spend_table("Spend by provider", providers, "provider"))
    console.print(_spend_table("Spend by project", dashboard_reads.spend_by_project(conn, workspace.id, first, end),
                               "project", total))
    console.print(_spend_table("Top models", dashboard_reads.spend_by_model(conn, workspace.id, first, end),
                               "provider / model", total))
    late, late_nanos = dashboard_reads.requests_synced_after(conn, workspace.id, datetime.now(UTC))
    if late:
        console.print(f"Not in these tables yet: {count(late, 'request')} ({money(late_nanos)}) that an offline laptop")
        console.print("syncs later. The next refresh adds them.")
    last_week = dashboard_reads.spend_by_day(conn, workspace.id, end - timedelta(days=7), end)
    console.print(_spend_table("Last 7 days", last_week, "day"))
    console.print(_runs_table(conn, workspace.id, console.width))
    print_reconciliation(conn, workspace, report.planted, console)
    print_clustering(conn, workspace, report, console)
    print_catalog(conn, workspace, report.planted, console)
    planted = planted_story(report)
    if planted:
        _print_planted(planted, console)
