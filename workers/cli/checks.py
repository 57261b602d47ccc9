"""`halton-workers recommendations`: the optimisation catalog's recommendations by kind of money (monthly
savings, one-off waste, anomalies), each with the id that `--id N` shows in full (rationale, evidence,
sample requests), in 80 columns."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from core.errors import UserError
from core.money import ROWS_TOTAL, format_dollars, money, total_of_rows
from store.recommendations import CatalogSummary, Recommendation

checks_app = typer.Typer(add_completion=False)

WIDTH = 80
KINDS = {  # recurrence: heading, amount column (and what one amount is), what the amounts are
    "monthly": ("Monthly savings", "saving/mo", "each quoted for a 30-day month"),
    "one_off": ("One-off waste", "waste", "already spent; a fix stops the next one"),
    "anomaly": ("Anomalies", "excess", "spend above its baseline week; it may be wanted"),
}


class Status(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"
    SUPPRESSED = "suppressed"
    RESOLVED = "resolved"


def headline(summary: CatalogSummary | None, rows: list[Recommendation]) -> str:
    """The monthly figure of the open recommendations taken together (the catalog's, analysis.catalog_summary),
    and, when it differs, what the quotes listed below add up to and why the two differ."""
    monthly = [r for r in rows if r.recurrence == "monthly"]
    listed = format_dollars(total_of_rows(r.monthly_saving_nanos for r in monthly))
    if summary is None:  # no catalog run wrote a summary: the quotes are all there is
        return f"{len(monthly)} monthly quote(s) adding up to {listed}/month"
    together = money(summary.monthly_saving_nanos)
    text = f"saves {together}/month taken together"
    if together == listed:
        return text
    if summary.monthly_saving_nanos < sum(r.monthly_saving_nanos for r in monthly):
        return (f"{text}; the {len(monthly)} quotes below add up to {listed}, but quotes on the same "
                "traffic overlap (a swap and batching compound; alternatives count once)")
    return f"{text}; the {len(monthly)} quotes below, each rounded to the cent, add up to {listed}"


def kind_table(rows: list[Recommendation], recurrence: str) -> Table:
    """One kind of money: id, amount, confidence and what to do. Each amount is the recommendation's own
    (`money`, as `--id N` and the project report show it); the total row is the total of the rows shown."""
    heading, amount, meaning = KINDS[recurrence]
    table = Table(title=f"{heading} ({meaning})", title_justify="left", width=WIDTH, pad_edge=False,
                  box=box.SIMPLE_HEAD)
    table.add_column("id", justify="right", no_wrap=True, min_width=3)
    table.add_column(amount, justify="right", no_wrap=True, min_width=9)
    table.add_column("conf", no_wrap=True, min_width=4)
    table.add_column("what (the rationale: --id N)", ratio=1)  # wraps: never cut
    for r in rows:
        table.add_row(str(r.id), money(r.impact_nanos), r.confidence.replace("medium", "med"), r.title)
    table.add_section()
    # a monthly column's total is not the saving: quotes on the same traffic overlap (the headline's figure)
    label = f"{ROWS_TOTAL} (taken together: see above)" if recurrence == "monthly" else ROWS_TOTAL
    table.add_row("", format_dollars(total_of_rows(r.impact_nanos for r in rows)), "", label, style="bold")
    return table


def recommendations_view(rows: list[Recommendation], summary: CatalogSummary | None, status: str) -> RenderableType:
    """The recommendations of one status as a table per kind of money; for open ones the catalog's headline."""
    parts: list[RenderableType] = []
    if status == Status.OPEN:
        parts.append(Text(f"Monthly: {headline(summary, rows)}."))
    for recurrence in KINDS:
        of_kind = [r for r in rows if r.recurrence == recurrence]
        if of_kind:
            parts.append(kind_table(of_kind, recurrence))
    if not rows:
        parts.append(Text(f"no {status} recommendation"))
    return Group(*parts)


def recommendation_view(r: Recommendation) -> RenderableType:
    """One recommendation in full: what, how much, why, the evidence and the sample requests."""
    _heading, label, meaning = KINDS[r.recurrence]
    facts = Table.grid(padding=(0, 2))
    facts.add_column(no_wrap=True, style="bold")
    # in full means every character: a value wraps at its spaces, and a word wider than the column (a
    # hash, a fingerprint) folds onto the next line instead of ending in "…" (a column's default)
    facts.add_column(ratio=1, overflow="fold")
    amount = f"{money(r.impact_nanos)}/month" if r.recurrence == "monthly" else money(r.impact_nanos)
    facts.add_row("check", f"{r.check_id} on {r.project or 'the whole workspace'}")
    facts.add_row(label.removesuffix("/mo"), f"{amount} ({meaning.removeprefix('each ')}), {r.confidence} "
                                             f"confidence, {r.request_count:,} requests")
    facts.add_row("status", f"{r.status}; first seen {r.first_seen_at:%Y-%m-%d %H:%M} UTC, "
                            f"last seen {r.last_seen_at:%Y-%m-%d %H:%M} UTC")
    facts.add_row("fingerprint", r.fingerprint)
    evidence = Table.grid(padding=(0, 2))
    evidence.add_column(no_wrap=True)
    evidence.add_column(ratio=1, overflow="fold")
    for key, value in r.evidence.items():
        evidence.add_row(*_evidence_row(key, value, r.evidence))
    samples = ", ".join(str(i) for i in r.sample_request_ids) or "none"
    return Group(Text(f"#{r.id} {r.title}", style="bold"), facts, Text(""), Text(r.rationale), Text(""),
                 Text("evidence", style="bold"), evidence, Text(""),
                 Text(f"sample requests ({len(r.sample_request_ids)}): {samples}"))


def _evidence_row(key: str, value: Any, evidence: dict[str, Any]) -> tuple[str, str]:
    """(label, value): money in dollars under a label without the unit it is stored in ('actual $245.73');
    'counterfactual amount' when the evidence also has a 'counterfactual' (the lever it describes)."""
    if key.endswith("_nanos") and isinstance(value, int) and not isinstance(value, bool):
        label = key.removesuffix("_nanos")
        return (f"{label} amount" if label in evidence else label), money(value)
    return key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@checks_app.command("recommendations")
def recommendations(
    workspace: Annotated[str, typer.Option(help="slug of the workspace")],
    status: Annotated[Status, typer.Option(help="which recommendations to list")] = Status.OPEN,
    recommendation_id: Annotated[int | None, typer.Option("--id", help="show this one in full")] = None,
) -> None:
    """List the workspace's recommendations (open ones by default) by kind of money, largest first; `--id N`
    shows one in full (rationale, evidence, sample requests)."""
    from store import recommendations as store  # CLI start-up
    from store.tenancy import enter_workspace
    from workers.runtime.db import connect
    from workers.settings import database_url_only

    console = Console(width=WIDTH)
    with connect(database_url_only()) as conn:
        ws = enter_workspace(conn, workspace)
        if recommendation_id is not None:
            found = store.recommendation(conn, ws.id, recommendation_id)
            if found is None:
                raise UserError(f"no recommendation {recommendation_id} in workspace '{ws.slug}'")
            console.print(recommendation_view(found))
            return
        rows = store.recommendations(conn, ws.id, (status.value,))
        summary = store.catalog_summary(conn, ws.id)
        realised = store.realised_total(conn, ws.id)
    console.print(f"{len(rows)} {status.value} recommendation(s) for {ws.slug}")
    console.print(recommendations_view(rows, summary, status.value))
    console.print(f"realised by accepted recommendations so far: {money(realised)}")
