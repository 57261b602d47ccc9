"""The demo's reconciliation section: import the planted Gemini billing export, reconcile every month
whose inputs changed (the seed's pastes included), print the table with its bands and, for each red
row, the findings that explain it."""

from __future__ import annotations

import datetime as dt

from rich.console import Console
from rich.table import Table

from core.db import Conn
from core.errors import UserError
from core.money import money
from store.reconciliation import findings_by_cause, reconciliation_rows
from store.workspaces import Workspace
from synthetic.billing_export import gemini_billing_export
from workers import reconcile_jobs
from workers.reconcile_view import findings_table, reconciliation_table


def print_reconciliation(conn: Conn, workspace: Workspace, console: Console) -> None:
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
    for provider, period, _logged, _billed, _source, variance, _ratio, band, _status, _error in rows:
        if band == "red" and variance is not None:
            console.print(findings_table(provider, period, variance,
                                         findings_by_cause(conn, workspace.id, provider, period)), width=80)
    console.print("* marks a pasted bill. The Gemini export was entered after the seed's Gemini pastes, and the "
                  "latest bill of a month is the one that counts.", width=80)
    planted = Table(title="Planted in the Gemini export (the findings above must match)", title_justify="left",
                    box=None, width=80)
    planted.add_column("cause", no_wrap=True)
    planted.add_column("amount", justify="right", no_wrap=True)
    planted.add_column("what", ratio=1)  # wraps within the 80 columns
    for entry in export.planted:
        planted.add_row(entry["pattern"].replace("_", " "), money(int(entry["expected_nanos"])),
                        entry["what"])
    console.print(planted)
