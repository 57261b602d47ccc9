"""`halton-workers clusters`: the top prompt clusters and loop incidents of a workspace."""

from __future__ import annotations

from typing import Annotated

import typer


def clusters(
    workspace: Annotated[str, typer.Option(help="slug of the workspace")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="rows per table")] = 10,
) -> None:
    """Print the top prompt clusters and loop incidents by avoidable cost (from the last refresh)."""
    from rich.console import Console  # CLI start-up

    from store.tenancy import enter_workspace  # CLI start-up
    from workers.demo.clustering import print_clusters
    from workers.runtime.db import connect
    from workers.settings import database_url_only

    with connect(database_url_only()) as conn:
        print_clusters(conn, enter_workspace(conn, workspace), Console(width=80), limit=limit)
