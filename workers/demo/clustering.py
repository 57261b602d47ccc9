"""The clusters page as tables at 80 columns: top prompt clusters and loop incidents by avoidable cost
(shared by `halton-workers clusters` and the demo, which prints them next to what the seed planted)."""

from __future__ import annotations

from dataclasses import replace

from rich.console import Console
from rich.table import Table

from core.db import Conn
from core.money import money
from store import clustering as store
from store.workspaces import Workspace
from synthetic.report import SeedReport
from synthetic.story import planted_story

PLANTS_SHOWN = ("repeated_prompts", "runaway_loop")
SHORT_KINDS = {"duplicate": "dup", "cacheable": "cache", "loop": "loop"}


def cluster_table(lines: list[store.ClusterLine]) -> Table:
    table = Table(title="Top prompt clusters by avoidable cost", title_justify="left")
    for name, justify in (("prompt", "left"), ("kinds", "left"), ("reqs", "right"), ("dups", "right"),
                          ("devs", "right"), ("spend", "right"), ("avoidable", "right")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for line in lines:
        kinds = " ".join(SHORT_KINDS.get(k, k) for k in line.kinds) or "-"
        table.add_row(line.prompt_hash[:10], kinds, f"{line.requests:,}", f"{line.duplicate_requests:,}",
                      str(line.devices), money(line.cost_nanos),
                      money(line.avoidable_nanos))
    return table


def incident_table(lines: list[store.IncidentLine]) -> Table:
    table = Table(title="Loop incidents by cost", title_justify="left")
    for name, justify in (("prompt", "left"), ("device", "left"), ("started (UTC)", "left"), ("min", "right"),
                          ("reqs", "right"), ("peak/m", "right"), ("cost", "right")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for line in lines:
        minutes = (line.ended_at - line.started_at).total_seconds() / 60
        table.add_row(line.prompt_hash[:10], line.device[:14], f"{line.started_at:%m-%d %H:%M}", f"{minutes:.0f}",
                      f"{line.requests:,}", str(line.peak_per_minute), money(line.cost_nanos))
    return table


def print_clusters(conn: Conn, workspace: Workspace, console: Console, limit: int = 10) -> None:
    count, avoidable, duplicates, window_end = store.cluster_summary(conn, workspace.id)
    if window_end is None:
        console.print(f"no prompt clusters for '{workspace.slug}' yet: run `halton-workers refresh "
                      f"--workspace {workspace.slug}` first")
        return
    console.print(f"{count:,} prompts seen more than once in the 30 days to {window_end:%Y-%m-%d %H:%M} UTC;")
    console.print(f"{duplicates:,} repeats a cache could have answered: {money(avoidable)} avoidable")
    console.print(cluster_table(store.top_clusters(conn, workspace.id, limit)))
    incidents = store.top_incidents(conn, workspace.id, limit)
    if incidents:
        console.print(incident_table(incidents))
    else:
        console.print("no loop incidents")


def print_clustering(conn: Conn, workspace: Workspace, report: SeedReport, console: Console) -> None:
    """The demo's section: the clusters page, then the seed's planted repeats and loop beside it."""
    console.rule("Prompt clusters and loops (clustering stage)")
    print_clusters(conn, workspace, console, limit=8)
    shown = planted_story(replace(report, planted=[e for e in report.planted if e["pattern"] in PLANTS_SHOWN]))
    if shown:
        console.print("what the seed planted, for comparison:")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True, style="bold")
        grid.add_column(ratio=1)
        for heading, sentence in shown:
            grid.add_row(heading, sentence)
        console.print(grid)
