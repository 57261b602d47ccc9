"""`halton-workers export`: one dataset of a workspace for a period, to a file, a directory (the bucket
layout) or the workspace's own S3 or GCS destination for a bucket."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from core.errors import UserError

DATASETS = ("focus", "requests", "audit")


def export(
    workspace: Annotated[str, typer.Option(help="slug of the workspace")],
    dataset: Annotated[str, typer.Option(help="focus (FOCUS 1.2 cost and usage), requests, or audit")],
    period: Annotated[str, typer.Option(
        help="last-month, this-month (to today), YYYY-MM, or YYYY-MM-DD..YYYY-MM-DD (both days included); UTC days")],
    to: Annotated[str | None, typer.Option(
        help="s3://bucket/prefix or gs://bucket/prefix (the workspace's own destination for that bucket), a FILE "
             "ending .parquet or .csv, or a DIRECTORY (one object per day, as in a bucket); default: "
             "SLUG-DATASET-PERIOD.parquet here")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="parquet or csv, for a directory (default parquet) or a "
                                                             "bucket (default: the destination's)")] = None,
) -> None:
    """Export a dataset for a period (FOCUS, requests or the audit log), as Parquet or CSV."""
    from pdf.periods import PeriodSyntaxError, parse_period  # CLI start-up
    from store.tenancy import enter_workspace
    from workers.jobs.exports import ExportTarget, OnDemand, export_file, export_period
    from workers.runtime.db import connect
    from workers.settings import database_url_only

    if dataset not in DATASETS:
        raise typer.BadParameter(f"one of {', '.join(DATASETS)}", param_hint="--dataset")
    if fmt not in (None, "parquet", "csv"):
        raise typer.BadParameter("parquet or csv", param_hint="--format")
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        span = parse_period(period, now.date())
    except PeriodSyntaxError as error:
        raise typer.BadParameter(str(error).removeprefix("--period "), param_hint="--period") from None
    with connect(database_url_only()) as conn:
        ws = enter_workspace(conn, workspace)
        job = OnDemand(ws.id, dataset, span.start, span.end, now)
        if to is not None and (to.startswith("s3://") or to.startswith("gs://")):
            from workers.jobs.export_targets import sink_for_url  # CLI start-up

            target = sink_for_url(conn, ws.id, to)
            job = OnDemand(ws.id, dataset, span.start, span.end, now, destination_id=target.destination_id)
            chosen = target.fmt if fmt is None else fmt
            try:
                outcome = export_period(conn, job, ExportTarget(target.destination_id, target.sink, chosen))
            finally:
                target.sink.close()
        else:
            path = Path(to) if to is not None else Path(f"{ws.slug}-{dataset}-{period}.parquet")
            if path.suffix in (".parquet", ".csv"):
                outcome = export_file(conn, job, str(path), path.suffix[1:], lambda data: write_file(path, data))
            else:
                from exports.sink import DirectorySink  # CLI start-up

                outcome = export_period(conn, job, ExportTarget(None, DirectorySink(path), fmt or "parquet"))
    typer.echo(json.dumps(outcome, default=str))


def write_file(path: Path, data: bytes) -> None:
    """Write what a command produced (an export, a report's PDF), its folders made; a path that cannot be
    written is the user's error, said with the system's reason."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror}") from None
