"""The demo's optimisation catalog: the open recommendations with the catalog's headline (as the command
line prints them), and what the seed planted next to what the catalog found."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from core.db import Conn
from core.money import money
from store import recommendations as store
from store.workspaces import Workspace
from synthetic.catalog_plants import FOUND_BY
from workers.cli_checks import recommendations_view


def planted_vs_found(conn: Conn, workspace: Workspace, planted: list[dict[str, Any]]) -> Table:
    found: dict[tuple[str, str | None], int] = {}  # several findings of a check in a project add up
    for r in store.recommendations(conn, workspace.id, ("open", "accepted", "suppressed")):
        found[(r.check_id, r.project)] = found.get((r.check_id, r.project), 0) + r.impact_nanos
    table = Table(title="Planted vs found ($/month; a loop's waste and a spike's excess as they are)",
                  title_justify="left", pad_edge=False, box=box.SIMPLE_HEAD)
    table.add_column("planted", no_wrap=True, min_width=19, max_width=19, overflow="ellipsis")
    table.add_column("found by", no_wrap=True, min_width=19, max_width=22, overflow="ellipsis")
    for name in ("expected", "found", "diff"):
        table.add_column(name, justify="right", no_wrap=True, min_width=8 if name != "diff" else 9)
    for entry in planted:
        check_id = FOUND_BY.get(entry["pattern"])
        if check_id is None:
            continue
        project = entry["where"].get("project")
        quoted = found.pop((check_id, project), None)
        expected = entry.get("expected_nanos") or 0
        diff = f"{(quoted - expected) / expected:+.1%}" if quoted is not None and expected else "not found"
        table.add_row(entry["pattern"], check_id, money(expected),
                      money(quoted) if quoted is not None else "-", diff)
    for (check_id, project), nanos in sorted(found.items(), key=lambda item: -item[1]):
        scope = (project or "workspace").removeprefix(f"{workspace.slug}-")
        table.add_row("(not planted)", f"{check_id} on {scope}", "-", money(nanos), "")
    return table


def print_catalog(conn: Conn, workspace: Workspace, planted: list[dict[str, Any]], console: Console) -> None:
    console.rule("Optimisation catalog")
    rows = store.recommendations(conn, workspace.id)
    console.print(f"{len(rows)} open recommendations (halton-workers recommendations --workspace "
                  f"{workspace.slug} --id N shows one in full)")
    console.print(recommendations_view(rows, store.catalog_summary(conn, workspace.id), "open"))
    console.print(planted_vs_found(conn, workspace, planted))
    if not store.has_clusters(conn, workspace.id):
        console.print("response-cache, prompt-caching and runaway-loop read the clustering stage's results; "
                      "it wrote none for this workspace.")
    console.print(f"realised by accepted recommendations: {money(store.realised_total(conn, workspace.id))}")
