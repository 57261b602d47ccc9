"""`halton-workers recommendations`: the optimisation catalog's open recommendations as a table."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from checks.overlap import attainable_total
from core.money import money
from store.recommendations import Recommendation

checks_app = typer.Typer(add_completion=False)

WIDTH = 80


class Status(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"
    SUPPRESSED = "suppressed"
    RESOLVED = "resolved"


def quoted_total(rows: list[Recommendation]) -> str:
    """'$X/month', saying so when two quotes were alternatives (checks.overlap) and counted once."""
    total = attainable_total((r.fingerprint, r.monthly_saving_nanos) for r in rows)
    listed = sum(r.monthly_saving_nanos for r in rows)
    return f"{money(total)}/month" + (" (alternative swaps counted once)" if total < listed else "")


def recommendations_table(rows: list[Recommendation], title: str, workspace_slug: str = "") -> Table:
    """Scope, monthly saving, confidence, requests and the rationale cut to one line (80 columns)."""
    table = Table(title=title, title_justify="left", width=WIDTH, pad_edge=False, box=box.SIMPLE_HEAD)
    table.add_column("scope", no_wrap=True, min_width=9, max_width=16, overflow="ellipsis")
    table.add_column("saving/mo", justify="right", no_wrap=True, min_width=9)
    table.add_column("conf", no_wrap=True, min_width=4)
    table.add_column("reqs", justify="right", no_wrap=True, min_width=6)
    table.add_column("rationale", no_wrap=True, overflow="ellipsis", ratio=1)
    for r in rows:
        scope = (r.project or "workspace").removeprefix(f"{workspace_slug}-")  # 'acme-support-bot' -> 'support-bot'
        confidence = r.confidence.replace("medium", "med")
        table.add_row(scope, money(r.monthly_saving_nanos), confidence, f"{r.request_count:,}",
                      f"{r.check_id}: {r.rationale}")
    return table


@checks_app.command("recommendations")
def recommendations(
    workspace: Annotated[str, typer.Option(help="slug of the workspace")],
    status: Annotated[Status, typer.Option(help="which recommendations to show")] = Status.OPEN,
) -> None:
    """Print the workspace's recommendations (open ones by default), largest saving first."""
    from store import recommendations as store
    from store.workspaces import workspace_by_slug
    from workers.db import connect
    from workers.settings import database_url_only

    with connect(database_url_only()) as conn:
        ws = workspace_by_slug(conn, workspace)
        rows = store.recommendations(conn, ws.id, (status.value,))
        total = store.realised_total(conn, ws.id)
    console = Console(width=WIDTH)
    console.print(recommendations_table(rows, f"{len(rows)} {status.value} recommendation(s) for {ws.slug}: "
                                              f"{quoted_total(rows)}", ws.slug))
    console.print(f"realised by accepted recommendations so far: {money(total)}")
