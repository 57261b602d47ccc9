"""The demo's reconciliation section: import the planted Gemini billing export, reconcile every month
whose inputs changed (the seed's pastes included), print the table with its bands, for each red row the
findings that explain it, and what was planted (the seed's stale prices, the export's three causes)
next to what the findings say."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from core.db import Conn
from core.errors import UserError
from core.money import money
from store.reconciliation import findings_by_cause, findings_sums, reconciliation_rows
from store.workspaces import Workspace
from synthetic.billing_export import gemini_billing_export
from workers.cli.reconcile_view import CAUSE_WORDS, findings_table, reconciliation_table
from workers.jobs import reconcile as reconcile_jobs

Sums = dict[tuple[str, dt.date, str], tuple[int, int]]


def print_reconciliation(conn: Conn, workspace: Workspace, planted: Sequence[dict[str, Any]],
                         console: Console) -> None:
    """`planted`: the seed report's planted entries (its stale-rate plant is shown against the findings)."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    export = gemini_billing_export(conn, workspace.id)
    reconcile_jobs.import_billing_export(conn, workspace.id, "gemini", export.text, now,
                                         name="gemini-billing-export.csv")
    for provider, period in reconcile_jobs.stale_months(conn, workspace.id, now):
        try:  # the worker's sweep may have done these already; a rerun of the same inputs changes nothing
            reconcile_jobs.reconcile(conn, workspace.id, provider, period, now)
        except UserError as error:
            console.print(f"{provider} {period:%Y-%m}: {error}")
    rows = reconciliation_rows(conn, workspace.id)
    console.rule("Reconciliation: logged against billed (pastes, and a Gemini billing export)")
    console.print(reconciliation_table(rows, "By month and provider"), width=80)
    console.print("The Gemini export was entered after the seed's Gemini pastes, and the latest bill of a month "
                  "is the one that counts.", width=80)
    for row in rows:
        if row.band == "red":
            console.print(findings_table(row, findings_by_cause(conn, workspace.id, row.provider, row.period)),
                          width=80)
    sums = findings_sums(conn, workspace.id)
    stale = next((entry for entry in planted if entry["pattern"] == "stale_rate" and entry["expected_nanos"]), None)
    console.print(planted_against_found(stale, export.planted, sums), width=80)


def planted_against_found(stale: dict[str, Any] | None, export_plants: Sequence[dict[str, Any]],
                          sums: Sums) -> Table:
    """What the seed and the export planted next to what the findings hold, each to the cent on its own
    (nothing here is added up); 'exact' when they agree to the nano-dollar."""
    table = Table(title="Planted, and what reconciliation found", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    for name, justify in (("where", "left"), ("cause", "left"), ("planted", "right"), ("found", "right"),
                          ("", "left")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    notes = []
    if stale is not None:
        found = {(p, m): delta for (p, m, cause), (_n, delta) in sums.items() if cause == "stale_rate"}
        where = _months(sorted(found)) or "nowhere"
        table.add_row(where, CAUSE_WORDS["stale_rate"].split(" (")[0], money(stale["expected_nanos"]),
                      money(sum(found.values())), _match(stale["expected_nanos"], sum(found.values())))
        notes.append(f"stale rate: {stale['where']['device']} runs an old daemon that still prices "
                     f"{stale['where']['model']} at rates {stale['where']['rates_version']}")
    for entry in export_plants:
        period = dt.date.fromisoformat(entry["where"]["period"])
        cause, expected = entry["pattern"], int(entry["expected_nanos"])
        delta = sums.get((entry["where"]["provider"], period, cause), (0, 0))[1]
        table.add_row(f"{entry['where']['provider']} {period:%Y-%m}", CAUSE_WORDS[cause].split(" (")[0],
                      money(expected), money(delta), _match(expected, delta))
    table.caption = "\n".join([*notes, "unattributed: inferred, not measured (see the table above); each "
                               "figure rounded on its own, 'exact' to the nano-dollar"])
    table.caption_justify = "left"
    return table


def _months(keys: list[tuple[str, dt.date]]) -> str:
    by_provider: dict[str, list[dt.date]] = {}
    for provider, period in keys:
        by_provider.setdefault(provider, []).append(period)
    return "; ".join(f"{provider} {_span(periods[0], periods[-1])}" for provider, periods in by_provider.items())


def _span(first: dt.date, last: dt.date) -> str:
    if first == last:
        return f"{first:%Y-%m}"
    return f"{first:%Y-%m}–{last:%m}" if first.year == last.year else f"{first:%Y-%m}–{last:%Y-%m}"


def _match(planted: int, found: int) -> str:
    return "exact" if planted == found else f"off by {money(found - planted)}"
