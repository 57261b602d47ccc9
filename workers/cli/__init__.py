"""`halton-workers`: the fleet's command line."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import psycopg
import typer

# typer vendors click; it re-exports only part of click's exceptions under public names.
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from core.errors import ConfigError, FleetError, TransientError, UserError
from workers.cli.alerts import alerts
from workers.cli.checks import checks_app
from workers.cli.clustering import clusters
from workers.cli.exports import export
from workers.cli.keys import keys_app
from workers.cli.partitions import partitions_app
from workers.cli.pulse import register as register_pulse_commands
from workers.cli.rates import first_line, rates_app
from workers.cli.reconcile import register as register_reconcile_commands
from workers.cli.reports import report_app

if TYPE_CHECKING:
    from celery import Celery

cli = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="The Halton Meter analysis fleet.")

cli.add_typer(rates_app, name="rates", help="The dated price table: import, check, price.")
cli.add_typer(report_app, name="report", help="PDF reports: a project's report, the signed executive summary.")
cli.add_typer(keys_app, name="keys", help="The encryption keys of stored secrets: rotate.")
cli.add_typer(partitions_app, name="partitions", help="meter.requests by month: status, maintain, convert.")
register_reconcile_commands(cli)
cli.registered_commands += checks_app.registered_commands  # `recommendations` (workers/cli/checks.py)
cli.command()(clusters)
cli.command()(alerts)
cli.command()(export)
register_pulse_commands(cli)  # `pulse`, `budget` (workers/cli/pulse.py)

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


@cli.command()
def migrate(
    skip_meter: Annotated[
        bool, typer.Option(help="leave `meter` alone (production: the sync service owns it)")
    ] = False,
) -> None:
    """Create or update the meter and analysis schemas and the fleet's and dashboard's roles (idempotent)."""
    from store.migrate import migrate as apply  # CLI start-up
    from store.roles import ensure_roles
    from workers.runtime.db import connect
    from workers.settings import owner_database_url, role_names

    roles = role_names()
    from store.partitions import maintain

    with connect(owner_database_url()) as conn:
        applied = apply(conn, include_meter=not skip_meter)
        ensure_roles(conn, roles, include_meter=not skip_meter)
        if not skip_meter:
            maintain(conn)  # meter.requests by month (0026): this month and the next ones exist
    typer.echo(f"applied migrations: {', '.join(applied)}" if applied else "schema is up to date")
    typer.echo(f"roles granted: {roles.fleet} (reads meter, writes analysis), {roles.dashboard} (reads both, "
               "writes the dashboard's meter tables)")


@cli.command()
def seed(
    workspace: Annotated[str, typer.Option(help="slug of the workspace to create")],
    days: Annotated[int, typer.Option(min=1)] = 30,
    requests_per_day: Annotated[int, typer.Option(min=1)] = 2000,
    seed: Annotated[int, typer.Option(help="random seed; same options, same rows")] = 1,
    end_date: Annotated[str | None, typer.Option(help="first day NOT seeded (UTC), default today")] = None,
    plant: Annotated[list[str] | None, typer.Option(help="plant only these patterns (repeatable)")] = None,
    no_plants: Annotated[bool, typer.Option("--no-plants", help="plant no pattern")] = False,
    append: Annotated[bool, typer.Option(help="add days to an existing workspace")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the seed report as JSON")] = False,
) -> None:
    """Fill meter with a realistic, deterministic synthetic workspace."""
    from synthetic import PLANTS, SeedOptions, seed_workspace  # CLI start-up
    from synthetic.story import told
    from workers.runtime.db import connect
    from workers.settings import owner_database_url

    if not SLUG.fullmatch(workspace):
        raise UserError(f"'{workspace}' is not a slug: use lowercase letters, digits and dashes, like acme-ai")
    unknown = sorted(set(plant or []) - set(PLANTS))
    if unknown:
        raise typer.BadParameter(f"unknown pattern(s) {', '.join(unknown)}; choose from {', '.join(PLANTS)}",
                                 param_hint="--plant")
    plants = frozenset() if no_plants else frozenset(plant) if plant else frozenset(PLANTS)
    try:
        end = date.fromisoformat(end_date) if end_date else None
    except ValueError:  # a malformed option value is a usage error (exit 2), like --at and --effective
        raise typer.BadParameter(f"'{end_date}' is not a date like 2026-11-26", param_hint="--end-date") from None
    options = SeedOptions(slug=workspace, days=days, requests_per_day=requests_per_day, seed=seed,
                          end_date=end, plants=plants, append=append)
    with connect(owner_database_url()) as conn:  # the seed writes meter, as the sync service would
        try:
            report = seed_workspace(conn, options)
        except ValueError as error:
            raise UserError(str(error)) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), default=str, indent=2))
    else:  # plain sentences for a person; --json keeps the developer's detail for machines
        for line in told(report, shutil.get_terminal_size().columns):
            typer.echo(line)


@cli.command()
def refresh(
    workspace: Annotated[str, typer.Option(help="slug of the workspace")],
    as_of: Annotated[str | None, typer.Option(help="ISO moment to refresh for (default now, UTC)")] = None,
    via_queue: Annotated[bool, typer.Option(help="send it through Redis to a worker and wait")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait with --via-queue")] = 600,
    replay: Annotated[bool, typer.Option(help="recompute an --as-of older than the rollup's")] = False,
    stage: Annotated[str | None, typer.Option(
        help="run only this stage: rollup, forecast, clustering, checks, savings")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the outcome as JSON (figures in nanos)")] = False,
) -> None:
    """Run the nightly refresh of one workspace: every stage in order, or one with --stage."""
    from store.tenancy import enter_workspace  # CLI start-up
    from workers import jobs
    from workers.runtime.db import connect
    from workers.settings import database_url_only, get_settings

    moment = jobs.parse_as_of(as_of)
    url = get_settings().database_url if via_queue else database_url_only()
    with connect(url) as conn:
        ws = enter_workspace(conn, workspace)
        if via_queue:
            from celery.exceptions import TimeoutError as CeleryTimeout  # CLI start-up

            from workers.app.celery import app

            _require_broker(app)
            result = app.send_task("halton.refresh_workspace",
                                   kwargs={"workspace_id": ws.id, "as_of": moment.isoformat(), "replay": replay,
                                           "stage": stage})
            try:
                outcome = result.get(timeout=timeout)
            except CeleryTimeout:
                result.backend.remove_pending_result(result)  # type: ignore[attr-defined]  # stop listening
                raise ConfigError(f"no worker finished the refresh within {timeout:.0f}s; is a worker running "
                                  f"on the analysis queue? The task stays queued and runs when one starts "
                                  f"(task id {result.id})") from None
        else:
            from workers.jobs.pipeline import run_pipeline  # CLI start-up

            ran = run_pipeline(conn, ws.id, moment, only=stage, replay=replay, worker=jobs.worker_name())
            outcome = ran.to_dict()
            if ran.first_error is not None:
                _print_refresh(outcome, ws.slug, as_json)
                failed = next(s for s in ran.stages if s.status == "failed")
                raise UserError(f"stage {failed.stage} failed (run {failed.run_id}): {failed.error}") \
                    if isinstance(ran.first_error, UserError) else ran.first_error
    _print_refresh(outcome, ws.slug, as_json)


def _print_refresh(outcome: dict[str, Any], slug: str, as_json: bool) -> None:
    """Dollars and words for a person; the raw outcome (nanos, every stat) as one JSON line for scripts."""
    from workers.jobs.run_summary import refresh_lines  # CLI start-up

    if as_json:
        typer.echo(json.dumps(outcome, default=str))
    else:
        for line in refresh_lines(outcome, slug, shutil.get_terminal_size().columns):
            typer.echo(line)


def _require_broker(app: Celery) -> None:
    """Fail in seconds with one line when Redis is unreachable (Celery would retry for long)."""
    import kombu.exceptions  # CLI start-up

    from workers.runtime.db import redact_url
    from workers.settings import get_settings

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except (kombu.exceptions.OperationalError, OSError) as error:
        raise ConfigError(f"cannot reach Redis at {redact_url(get_settings().redis_url)}: {error}") from None


@cli.command()
def worker(
    queues: Annotated[str | None, typer.Option(
        help="comma-separated queues (default: all four, the heavy queue at the lowest priority)")] = None,
    concurrency: Annotated[int, typer.Option(min=1)] = 2,
    loglevel: Annotated[str, typer.Option()] = "INFO",
    pool: Annotated[str, typer.Option(help="prefork (default) or solo")] = "prefork",
) -> None:
    """Start a Celery worker."""
    from workers.runtime import metrics  # CLI start-up
    from workers.runtime.threads import one_thread_per_process
    from workers.runtime.worker_guard import require_unprivileged_role
    from workers.settings import get_settings

    one_thread_per_process()  # before the tasks load numpy's BLAS: the pool is the parallelism
    settings = get_settings()
    require_unprivileged_role(settings)  # reachable, and a role that cannot write meter (exit 2 otherwise)
    if settings.metrics_port is not None:
        metrics.prepare_multiprocess_dir()  # before the tasks are imported and the pool forks
    from workers.app.celery import app  # CLI start-up
    from workers.app.queues import worker_queues

    names = queues or ",".join(worker_queues(settings))
    if settings.metrics_port is not None:
        metrics.start_metrics_server(settings.metrics_port, metrics.FleetCollector(
            settings.redis_url, names.split(","), settings.database_url), addr=str(settings.metrics_addr))
    app.worker_main(["worker", "-Q", names, "-c", str(concurrency), f"--loglevel={loglevel}", f"--pool={pool}",
                     "--without-gossip", "--without-mingle"])


@cli.command()
def beat(
    schedule_file: Annotated[Path, typer.Option(help="where beat keeps its last-run times")] = Path(
        ".halton/celerybeat-schedule"),
    loglevel: Annotated[str, typer.Option()] = "INFO",
) -> None:
    """Start Celery beat (the nightly schedule)."""
    from workers.app.celery import app  # CLI start-up
    from workers.settings import get_settings

    get_settings()
    schedule_file.parent.mkdir(parents=True, exist_ok=True)
    app.start(["beat", "-s", str(schedule_file), f"--loglevel={loglevel}"])


@cli.command()
def demo(
    days: Annotated[int, typer.Option(min=1)] = 30,
    requests_per_day: Annotated[int, typer.Option(min=1)] = 3000,
    data_dir: Annotated[Path, typer.Option(help="where embedded servers keep their data")] = Path(".halton"),
    out_dir: Annotated[Path, typer.Option(help="where artifacts (PDFs) go")] = Path("demo-out"),
    keep: Annotated[bool, typer.Option("--keep", help="leave its database running afterwards, to try the "
                                       "command line on (it prints how to use and stop it)")] = False,
) -> None:
    """The whole nightly pipeline on a demo workspace, through a real worker and beat."""
    from workers.demo import run_demo  # CLI start-up

    run_demo(days=days, requests_per_day=requests_per_day, data_dir=data_dir.resolve(), out_dir=out_dir,
             keep=keep)


def main() -> None:
    try:
        # Not standalone: click would print usage errors as a boxed, multi-line panel; here they
        # become one line like every other error. A command's typer.Exit comes back as its code.
        code = cli(prog_name="halton-workers", standalone_mode=False)
    except NoArgsIsHelpError as error:
        error.show()  # a bare command prints its help, as a person expects
        sys.exit(error.exit_code)
    except UsageError as error:
        where = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
        message = first_line(error.format_message()).removesuffix('.').replace("Value error, ", "")
        _report(f"{message}{where}", error.exit_code)
    except typer.TyperException as error:  # click's other errors (a file that cannot be opened...)
        _report(first_line(error.format_message()), error.exit_code)
    except typer.Abort:
        _report("aborted", 130)
    except ConfigError as error:
        _report(str(error), 2)
    except UserError as error:
        _report(str(error), 1)
    except TransientError as error:
        _report(str(error), 75)  # EX_TEMPFAIL: try again later
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as error:
        _report(f"the schema is missing or old ({str(error).splitlines()[0]}); run `halton-workers migrate`", 2)
    except psycopg.OperationalError as error:
        _report(f"database error: {str(error).strip().splitlines()[0]}", 2)
    except FleetError as error:
        _report(str(error), 1)
    except Exception as error:
        if os.environ.get("HALTON_DEBUG"):
            raise
        _report(f"unexpected {type(error).__name__}: {first_line(str(error))} (HALTON_DEBUG=1 shows the traceback)",
                1)
    else:
        sys.exit(code if isinstance(code, int) else 0)


def _report(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    sys.exit(code)

