"""The demo's optimisation catalog: the open recommendations with the catalog's headline (as the command
line prints them), and what the seed planted next to what the catalog found."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from core.db import Conn
from core.money import format_dollars, money, total_of_rows
from store import recommendations as store
from store.catalog_reads import has_clusters
from store.recommendations import Recommendation
from store.workspaces import Workspace
from synthetic.catalog_plants import FOUND_BY
from workers.cli.checks import recommendations_view


def planted_vs_found(conn: Conn, workspace: Workspace, planted: list[dict[str, Any]]) -> Table:
    """Each plant next to the recommendations that found it, by their ids in the list above; after it, what
    was found and not planted, by project. A figure found is the total of those rows as the list shows them
    (each at its own rounding), so a reader can check it against the list."""
    groups: dict[tuple[str, str | None], list[Recommendation]] = {}  # several findings of a check in a project
    for r in store.recommendations(conn, workspace.id, ("open", "accepted", "suppressed")):
        groups.setdefault((r.check_id, r.project), []).append(r)
    table = Table(title="Planted vs found ($/month; a loop's waste and a spike's excess as they are)",
                  title_justify="left", pad_edge=False, box=box.SIMPLE_HEAD, width=80)
    # names wrap and fold rather than being cut: they are what a row is
    table.add_column("planted", min_width=max(len(p) for p in FOUND_BY), overflow="fold")
    table.add_column("found by (ids above)", ratio=1, overflow="fold")
    for name in ("expected", "found", "diff"):
        table.add_column(name, justify="right", no_wrap=True)
    for entry in planted:
        check_id = FOUND_BY.get(entry["pattern"])
        if check_id is None:
            continue
        found = groups.pop((check_id, entry["where"].get("project")), [])
        expected = int(entry.get("expected_nanos") or 0)
        table.add_row(entry["pattern"], _found_by(check_id, found), money(expected), *_found(found, expected))
    if groups:
        table.add_row("not planted, on:", style="italic")
    for (check_id, project), found in sorted(groups.items(), key=lambda item: -_nanos(item[1])):
        table.add_row(project or "(no project)", _found_by(check_id, found), "-", *_found(found, None))
    table.caption = "found: the total of the recommendations named, as the list shows them"
    table.caption_justify = "left"
    return table


def _found_by(check_id: str, found: list[Recommendation]) -> str:
    return f"{check_id} {', '.join(f'#{r.id}' for r in found)}" if found else check_id


def _nanos(found: list[Recommendation]) -> int:
    return sum(r.impact_nanos for r in found)


def _found(found: list[Recommendation], expected: int | None) -> tuple[str, str]:
    """(found, diff): the rows' total as printed, and how far it is from what was planted."""
    if not found:
        return "not found", ""
    shown = format_dollars(total_of_rows(r.impact_nanos for r in found))
    if not expected:
        return shown, ""
    return shown, f"{(Decimal(_nanos(found) - expected) / expected):+.1%}"


def print_catalog(conn: Conn, workspace: Workspace, planted: list[dict[str, Any]], console: Console) -> None:
    console.rule("Optimisation catalog")
    rows = store.recommendations(conn, workspace.id)
    console.print(f"{len(rows)} open recommendations (halton-workers recommendations --workspace "
                  f"{workspace.slug} --id N shows one in full)")
    console.print(recommendations_view(rows, store.catalog_summary(conn, workspace.id), "open"))
    console.print(planted_vs_found(conn, workspace, planted))
    if not has_clusters(conn, workspace.id):
        console.print("response-cache, prompt-caching and runaway-loop read the clustering stage's results; "
                      "it wrote none for this workspace.")
    console.print(f"realised by accepted recommendations: {money(store.realised_total(conn, workspace.id))}")
