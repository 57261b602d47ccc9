"""`halton-workers reconcile | paste-bill | reconciliation | import-billing | pull-billing`: reconciliation by
hand."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.db import Conn
from core.errors import UserError, present

Workspace = Annotated[str, typer.Option("--workspace", help="slug of the workspace")]
Provider = Annotated[str, typer.Option("--provider", help="anthropic, openai, gemini or xai")]
Period = Annotated[str, typer.Option("--period", help="the UTC month, YYYY-MM")]


def reconcile(workspace: Workspace, provider: Provider, period: Period,
              force: Annotated[bool, typer.Option(help="recompute even if no input changed")] = False) -> None:
    """Reconcile one workspace, provider and month in this process and print the result."""
    from workers import jobs  # CLI start-up
    from workers.jobs import reconcile as reconcile_jobs

    month = _period(period)
    with _connection() as conn:
        ws = _workspace(conn, workspace)
        outcome = reconcile_jobs.reconcile(conn, ws, reconcile_jobs.check_provider(provider), month,
                                           jobs.parse_as_of(None), force=force)
        _print_month(conn, ws, provider, month)
    typer.echo(json.dumps(outcome.to_dict(), default=str))


def paste_bill(workspace: Workspace, provider: Provider, period: Period,
               text: Annotated[str | None, typer.Option("--text", help="the paste, e.g. '$342.04'")] = None,
               file: Annotated[str | None, typer.Option(
                   "--file", help="read the paste from a file (a statement block), or '-' for stdin")] = None,
               entered_by: Annotated[str, typer.Option(help="who pasted it")] = "cli") -> None:
    """Enter a pasted bill the way the dashboard does, then reconcile that month. A paste that cannot be
    read is refused before anything is stored (exit 1), and the month keeps the bill it had."""
    from store.reconciliation import insert_statement  # CLI start-up
    from workers import jobs
    from workers.jobs import reconcile as reconcile_jobs

    month = _period(period)
    reconcile_jobs.check_provider(provider)
    paste = _paste_text(text, file)
    _readable(paste)
    # the paste is the dashboard's write into meter: made with the owner's connection, as `seed` does
    with _connection(as_owner=True) as dashboard:
        ws = _workspace(dashboard, workspace)
        statement = insert_statement(dashboard, ws, provider, month, paste, entered_by)
    typer.echo(f"statement {statement} entered for {provider} {month:%Y-%m}")
    with _connection() as conn:
        _workspace(conn, workspace)  # the fleet's connection enters the workspace too (row-level security)
        try:
            reconcile_jobs.reconcile(conn, ws, provider, month, jobs.parse_as_of(None))
        finally:
            _print_month(conn, ws, provider, month)


def _paste_text(text: str | None, file: str | None) -> str:
    """The paste from --text, or from --file (a path, or '-' for stdin): exactly one of them."""
    if (text is None) == (file is None):
        raise typer.BadParameter("give the paste with --text or --file (one of them)", param_hint="--text/--file")
    if text is not None:
        return text
    file = present(file, "--file (checked above)")
    if file == "-":
        data = sys.stdin.buffer.read()
    else:
        path = Path(file)
        if not path.is_file():
            raise typer.BadParameter(f"{file}: {'not a file' if path.exists() else 'no such file'}",
                                     param_hint="--file")
        data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        where = "stdin" if file == "-" else file
        raise UserError(f"the pasted bill could not be read: {where} is not UTF-8 text; paste the amount "
                        "billed, like $342.04, or the statement as text") from None


def _readable(paste: str) -> None:
    """Refuse a paste the reconciliation could not read, before it is stored (the same parser reads it)."""
    from reconciliation.statement import StatementError, parse_statement  # CLI start-up

    try:
        parse_statement(paste)
    except StatementError as error:
        raise UserError(f"the pasted bill could not be read: {error}") from None


def pull_billing(workspace: Workspace,
                 as_of: Annotated[str | None, typer.Option(help="ISO moment of the pull (default now, UTC)")] = None,
                 ) -> None:
    """Run the nightly billing pull of one workspace in this process: every live connection (OpenAI,
    Anthropic), the previous and current month, then reconcile them; print the outcome."""
    from workers import jobs  # CLI start-up
    from workers.jobs import reconcile as reconcile_jobs

    moment = jobs.parse_as_of(as_of)
    with _connection() as conn:
        ws = _workspace(conn, workspace)
        outcome = reconcile_jobs.pull_billing(conn, ws, moment)
        _print_table(conn, ws, workspace)
    typer.echo(json.dumps(outcome.to_dict(), default=str))
    if outcome.stats["failed"]:
        raise UserError(f"the pull failed for {'; '.join(outcome.stats['failed'])}")


def import_billing(workspace: Workspace, provider: Provider,
                   file: Annotated[Path, typer.Option(
                       "--file", exists=True, dir_okay=False,
                       help="a Gemini billing export or xAI usage export (CSV)")]) -> None:
    """Import a billing export file and reconcile the months it covers."""
    from workers import jobs  # CLI start-up
    from workers.jobs import reconcile as reconcile_jobs

    with _connection() as conn, file.open("rb") as export:  # read as a stream, never whole
        ws = _workspace(conn, workspace)
        outcome = reconcile_jobs.import_billing_export(conn, ws, provider, export, jobs.parse_as_of(None),
                                                       name=file.name)
        _print_table(conn, ws, workspace)
    typer.echo(json.dumps(outcome.to_dict(), default=str))


def reconciliation(workspace: Workspace) -> None:
    """Print the workspace's reconciliation table."""
    with _connection() as conn:
        _print_table(conn, _workspace(conn, workspace), workspace)


def register(cli: typer.Typer) -> None:
    cli.command("reconcile")(reconcile)
    cli.command("paste-bill")(paste_bill)
    cli.command("import-billing")(import_billing)
    cli.command("pull-billing")(pull_billing)
    cli.command("reconciliation")(reconciliation)


def _connection(as_owner: bool = False) -> Conn:
    from workers.runtime.db import connect  # CLI start-up
    from workers.settings import database_url_only, owner_database_url

    return connect(owner_database_url() if as_owner else database_url_only())


def _workspace(conn: Conn, slug: str) -> int:
    from store.tenancy import enter_workspace  # CLI start-up

    return enter_workspace(conn, slug).id


def _period(text: str) -> dt.date:
    """The month of --period, checked before anything connects: malformed text is a usage error (exit 2,
    like --at and --end-date); a month after the current UTC month is refused as bad input (exit 1)."""
    from core.periods import parse_month, refuse_future_month  # CLI start-up

    try:
        month = parse_month(text)
    except ValueError as error:
        raise typer.BadParameter(str(error).removeprefix("period "), param_hint="--period") from None
    refuse_future_month(month, dt.datetime.now(dt.UTC).date())
    return month


def _print_table(conn: Conn, workspace_id: int, slug: str) -> None:
    from store.reconciliation import reconciliation_rows  # CLI start-up
    from workers.cli.reconcile_view import reconciliation_table

    rows = reconciliation_rows(conn, workspace_id)
    console = Console(width=80)
    if not rows:
        console.print(f"no reconciliation yet for '{slug}': paste a bill or run `halton-workers reconcile`")
        return
    console.print(reconciliation_table(rows, f"Reconciliation of {slug}"))


def _print_month(conn: Conn, workspace_id: int, provider: str, period: dt.date) -> None:
    from store.reconciliation import findings_by_cause, reconciliation_rows  # CLI start-up
    from workers.cli.reconcile_view import findings_table, reconciliation_table

    rows = reconciliation_rows(conn, workspace_id, provider, period)
    console = Console(width=80)
    if rows:
        console.print(reconciliation_table(rows, reasons=False))  # a failure's reason is the stderr line
        if rows[0].billed_nanos is not None:
            console.print(findings_table(rows[0], findings_by_cause(conn, workspace_id, provider, period)))
