"""`halton-workers partitions`: meter.requests by month (migration 0026; deploy/runbook.md, "Partitions").

Run as the owner of `meter` (HALTON_OWNER_DATABASE_URL, else DATABASE_URL), as `migrate` is: the fleet's
role may not create or move tables."""

from __future__ import annotations

from typing import Annotated

import typer

partitions_app = typer.Typer(no_args_is_help=True)

Ahead = Annotated[int, typer.Option(min=0, max=24, help="months after the current one to create ahead")]


@partitions_app.command("status")
def status() -> None:
    """Whether meter.requests is partitioned, and its partitions with their estimated rows."""
    from store import partitions
    from workers.runtime.db import connect
    from workers.settings import owner_database_url

    with connect(owner_database_url()) as conn:
        if not partitions.is_partitioned(conn):
            typer.echo("meter.requests is not partitioned (convert it with `halton-workers partitions convert`)")
            return
        for part in partitions.partitions(conn):
            rows = "not analyzed" if part.rows < 0 else f"~{part.rows:,} rows"
            typer.echo(f"meter_partitions.{part.name}  {part.bounds}  {rows}")


@partitions_app.command("maintain")
def maintain(ahead: Ahead = 3) -> None:
    """Create the current month's and the next months' partitions, and give the months the default partition
    holds rows of their own (moving the rows). Idempotent; `migrate` runs it too."""
    from store import partitions
    from workers.runtime.db import connect
    from workers.settings import owner_database_url

    with connect(owner_database_url()) as conn:
        if not partitions.is_partitioned(conn):
            typer.echo("meter.requests is not partitioned: nothing to maintain")
            return
        created = partitions.maintain(conn, ahead)
    typer.echo(f"partitions created: {created}")


@partitions_app.command("convert")
def convert(ahead: Ahead = 3,
            yes: Annotated[bool, typer.Option("--yes", help="convert without asking")] = False) -> None:
    """Convert a populated, unpartitioned meter.requests to monthly partitions, in one transaction (every
    row, grant, policy, trigger and index kept). The sync's writes wait on its lock meanwhile."""
    from store import partitions
    from workers.runtime.db import connect
    from workers.settings import owner_database_url

    with connect(owner_database_url()) as conn:
        if partitions.is_partitioned(conn):
            typer.echo("meter.requests is already partitioned")
            return
        estimate = partitions.estimated_rows(conn)
        if not yes:
            typer.confirm(f"copy about {max(estimate, 0):,} rows under an exclusive lock on meter.requests?",
                          abort=True)
        copied = partitions.convert(conn, ahead)
        parts = len(partitions.partitions(conn))
    typer.echo(f"meter.requests partitioned by month: {copied:,} rows copied into {parts} partitions")
