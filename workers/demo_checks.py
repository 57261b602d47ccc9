"""The demo's optimisation catalog: what the seed planted next to what the catalog found, both figures."""

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
from workers.cli_checks import recommendations_table


def planted_vs_found(conn: Conn, workspace: Workspace, planted: list[dict[str, Any]]) -> Table:
    found = {(r.check_id, r.project): r for r in store.recommendations(conn, workspace.id,
                                                                          ("open", "accepted", "suppressed"))}
    table = Table(title="Planted vs found (catalog, $/month)", title_justify="left", pad_edge=False,
                  box=box.SIMPLE_HEAD)
    table.add_column("planted", no_wrap=True, min_width=19)
    table.add_column("found by", no_wrap=True, min_width=19)
    for name in ("expected", "quoted", "diff"):
        table.add_column(name, justify="right", no_wrap=True, min_width=9)
    for entry in planted:
        check_id = FOUND_BY.get(entry["pattern"])
        if check_id is None:
            continue
        project = entry["where"].get("project")
        match = found.pop((check_id, project), None)
        expected = entry.get("expected_nanos") or 0
        quoted = match.monthly_saving_nanos if match else None
        diff = f"{(quoted - expected) / expected:+.1%}" if quoted is not None and expected else "not found"
        table.add_row(entry["pattern"], check_id, money(expected),
                      money(quoted) if quoted is not None else "-", diff)
    for (check_id, project), rec in sorted(found.items(), key=lambda item: -item[1].monthly_saving_nanos):
        scope = (project or "workspace").removeprefix(f"{workspace.slug}-")
        table.add_row(f"(not planted: {scope})", check_id, "-", money(rec.monthly_saving_nanos), "")
    return table


def print_catalog(conn: Conn, workspace: Workspace, planted: list[dict[str, Any]], console: Console) -> None:
    console.rule("Optimisation catalog")
    rows = store.recommendations(conn, workspace.id)
    console.print(recommendations_table(rows, f"{len(rows)} open recommendations: "
                                              f"{money(sum(r.monthly_saving_nanos for r in rows))}/month",
                                        workspace.slug))
    console.print(planted_vs_found(conn, workspace, planted))
    console.print(f"realised by accepted recommendations: {money(store.realised_total(conn, workspace.id))}")
