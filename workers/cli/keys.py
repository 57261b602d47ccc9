"""`halton-workers keys rotate`: re-seal every stored secret under the newest encryption key."""

from __future__ import annotations

import psycopg
import typer

from core.errors import ConfigError
from workers.cli.rates import first_line

keys_app = typer.Typer(add_completion=False, no_args_is_help=True,
                       help="The fleet's encryption keys (HALTON_ENCRYPTION_KEYS, newest first).")


@keys_app.command()
def rotate() -> None:
    """Re-encrypt every stored secret (admin keys, alert channel URLs and secrets) under the newest key of
    HALTON_ENCRYPTION_KEYS, each sealed for its row, in one transaction per table; print the counts.

    Connects as the owner (HALTON_OWNER_DATABASE_URL, else DATABASE_URL, as `migrate` does): the fleet's
    role cannot write `meter`. Exits 1 if a secret could not be re-sealed (no key opens it, or it was sealed
    for another row): keep the old key until that is resolved (deploy/runbook.md, "Rotating the encryption
    key")."""
    from workers.runtime.db import connect
    from workers.runtime.stored_secrets import fleet_keys, rotate_stored_secrets
    from workers.settings import owner_database_url

    fleet_keys()  # no key: one line naming the setting, before connecting
    with connect(owner_database_url()) as conn:
        try:
            rotations = rotate_stored_secrets(conn)
        except psycopg.errors.InsufficientPrivilege as error:  # the table's transaction rolled back whole
            raise ConfigError(f"the role of HALTON_OWNER_DATABASE_URL may not re-seal stored secrets "
                              f"({first_line(str(error))}); it needs UPDATE on them (deploy/runbook.md, \"Rotating "
                              "the encryption key\")") from None
    for r in rotations:
        typer.echo(f"{r.table}: {r.resealed} re-sealed under the newest key ({r.rebound} of them legacy, now bound "
                   f"to their row), {len(r.misplaced)} sealed for another row, {len(r.unreadable)} unreadable")
    problems = [f"{r.table} rows {', '.join(map(str, sorted(set(r.misplaced + r.unreadable))))}"
                for r in rotations if not r.complete]
    if problems:
        typer.echo(f"error: left as they were: {'; '.join(problems)}; keep the old key until each is stored again "
                   "(reconnected) or opens", err=True)
        raise typer.Exit(1)
    typer.echo("every stored secret is under the newest key: the older keys can be dropped")
