"""``halton-workers report ...``: render the PDF reports from the command line.

`report project` / `report executive` render straight to a file (the rollup is brought up to date first,
as for any report; no report row is written); `report --request ID` renders a pending meter.report_requests
row exactly as the worker would, into analysis.reports (and to --out when given)."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from core.errors import present
from workers.cli.exports import write_file

report_app = typer.Typer(no_args_is_help=False, invoke_without_command=True,
                         help="PDF reports: a project's report, the signed executive summary.")

Workspace = Annotated[str, typer.Option(help="slug of the workspace")]
PeriodOption = Annotated[str, typer.Option(
    help="last-month, this-month (to today), YYYY-MM, or YYYY-MM-DD..YYYY-MM-DD (both days included); UTC days")]
Out = Annotated[Path, typer.Option(help="the PDF file to write")]


@report_app.callback()
def report(
    ctx: typer.Context,
    request: Annotated[int | None, typer.Option(help="render this meter.report_requests row as the worker would")]
    = None,
    out: Annotated[Path | None, typer.Option(help="with --request: also write the PDF here")] = None,
    force: Annotated[bool, typer.Option(help="with --request: render again a request that already succeeded "
                                             "(its PDF is replaced only if the new render succeeds)")] = False,
) -> None:
    if ctx.invoked_subcommand is not None:
        if request is not None:
            raise typer.BadParameter("--request renders a stored request; give it without a subcommand",
                                     param_hint="--request")
        return
    if request is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    from store.report_writes import report_row  # CLI start-up
    from store.tenancy import enter_report_request
    from workers.jobs.reports import render_report
    from workers.runtime.db import connect
    from workers.settings import database_url_only

    with connect(database_url_only()) as conn:
        enter_report_request(conn, request)
        outcome = render_report(conn, request, force=force)
        if out is not None:
            row = report_row(conn, request, int(outcome["workspace_id"]))
            pdf = present(row, "the rendered report's row")[2]
            write_file(out, bytes(present(pdf, "the rendered report's PDF")))
    typer.echo(json.dumps(outcome, default=str))


@report_app.command()
def project(workspace: Workspace, project: Annotated[str, typer.Option(help="slug of the project")],
            period: PeriodOption, out: Out) -> None:
    """A project's report for a period, to attach to an invoice."""
    _adhoc(workspace, "project", project, period, out)


@report_app.command()
def executive(workspace: Workspace, period: PeriodOption, out: Out) -> None:
    """The executive summary (signed when HALTON_SIGNING_CERT and HALTON_SIGNING_KEY are set)."""
    _adhoc(workspace, "executive", None, period, out)


def _adhoc(workspace: str, kind: str, project_slug: str | None, period_text: str, out: Path) -> None:
    from pdf.periods import PeriodSyntaxError, parse_period, refuse_future  # CLI start-up
    from store.report_reads import ReportRequest, project_id_by_slug
    from store.tenancy import enter_workspace  # CLI start-up
    from workers.jobs.reports import build_artifact
    from workers.runtime.db import connect
    from workers.settings import database_url_only, get_signing_settings

    now = datetime.now(UTC).replace(microsecond=0)
    try:
        period = parse_period(period_text, now.date())
    except PeriodSyntaxError as error:  # malformed text is a usage error (exit 2), like --at and --end-date
        raise typer.BadParameter(str(error).removeprefix("--period "), param_hint="--period") from None
    refuse_future(period, now.date())
    signing = get_signing_settings()
    with connect(database_url_only()) as conn:
        ws = enter_workspace(conn, workspace)
        project_id = project_id_by_slug(conn, ws.id, project_slug) if project_slug is not None else None
        # the signing time of a command-line summary is now; a stored request's is its requested_at
        request = ReportRequest(None, ws.id, kind, project_id, period.start, period.end,
                                f"cli:{getpass.getuser()}", now)
        artifact = build_artifact(conn, request, signing, now=now)
    write_file(out, artifact.pdf)
    typer.echo(f"wrote {out} ({artifact.pages} page{'s' if artifact.pages != 1 else ''}, "
               f"signed={'true' if artifact.signed else 'false'}, sha256 {artifact.sha256})")

