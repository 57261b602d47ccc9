"""The reconciliation table and a month's findings as people read them (80 columns, no wrapping).

Sums a reader can check hold on what is printed, and each table says its rule once. The month table
prints logged, billed and the variance by core.money's one rule (`reconciled`, as the executive summary
does); a month's findings, each at its own rounding and with a row for the cents that leaves, add up to
that printed variance (`findings_cents`).
"""

from __future__ import annotations

from decimal import Decimal

from rich import box
from rich.table import Table

from core.money import (
    FINDINGS_RULE,
    ROUNDING_ROW,
    VARIANCE_RULE,
    findings_cents,
    format_dollars,
    money,
    ratio_percent,
    reconciled,
)
from store.reconciliation import ReconciliationRow

CAUSE_WORDS = {
    "stale_rate": "stale rate (stored − re-priced)",
    "unpriced_model": "model with no rate",
    "unattributed": "unattributed (inferred)",
    "promo_credit": "promo credit",
    "unlogged_spend": "billed, never logged",
    "unexplained": "unexplained rest",
}
UNATTRIBUTED_RULE = ("unattributed (inferred): not measured; what the measured causes leave of logged > billed, "
                     "up to the cost of the rows no project claims")


def ratio_text(ratio: Decimal | None) -> str:
    return "" if ratio is None else f"{ratio_percent(ratio)}%"


def verdict(band: str | None, status: str) -> str:
    if status == "awaiting_bill":
        return "awaiting bill"
    if status == "error":
        return "error"
    return band or ""


def reconciliation_table(rows: list[ReconciliationRow], title: str = "Reconciliation",
                         reasons: bool = True) -> Table:
    """Rows of store.reconciliation.reconciliation_rows; an error's reason goes on its own line, unless
    `reasons` is False (the command that just failed says why on stderr: once is enough). A notice (a
    later paste refused, an earlier bill used) is always shown."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in (("month", "left"), ("provider", "left"), ("logged", "right"), ("billed", "right"),
                          ("variance", "right"), ("ratio", "right"), ("band", "left")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    notes = []
    for row in rows:
        shown = verdict(row.band, row.status)
        style = {"green": "green", "amber": "yellow", "red": "bold red", "error": "red"}.get(shown, "")
        logged, billed, variance, ratio = money(row.logged_nanos), "", "", ""
        if row.billed_nanos is not None:
            figures = reconciled(row.logged_nanos, row.billed_nanos)
            logged, billed, variance = (format_dollars(f) for f in (figures.logged, figures.billed, figures.variance))
            billed += "*" if row.billed_source == "manual" else ""
            ratio = ratio_text(figures.ratio)  # from the figures printed beside it, signed (VARIANCE_RULE)
        table.add_row(f"{row.period:%Y-%m}", row.provider, logged, billed, variance, ratio, shown, style=style)
        if row.error and reasons:
            notes.append(f"{row.provider} {row.period:%Y-%m}: {row.error}")
        if row.notice:
            notes.append(f"{row.provider} {row.period:%Y-%m}: {row.notice}")
    table.caption = "\n".join([f"* billed as pasted; otherwise from the API or an export; {VARIANCE_RULE}.",
                               *notes])
    table.caption_justify = "left"
    return table


def findings_table(row: ReconciliationRow, causes: list[tuple[str, int, int, list[int]]]) -> Table:
    """`causes`: store.reconciliation.findings_by_cause of the row's month (their deltas sum to its variance)."""
    if row.billed_nanos is None:
        raise ValueError("a month without a bill has no findings")
    variance = format_dollars(reconciled(row.logged_nanos, row.billed_nanos).variance)
    title = f"Why {row.provider} {row.period:%Y-%m} differs by {variance} (logged − billed)"
    # rich wraps a title to its table's width, narrower than the heading when the columns are short:
    # as wide as the heading (at most 80), it stays one line
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  min_width=min(len(title), 80))
    table.add_column("cause", no_wrap=True)
    table.add_column("findings", justify="right", no_wrap=True)
    table.add_column("amount", justify="right", no_wrap=True)
    table.add_column("e.g. requests", no_wrap=True, overflow="ellipsis", max_width=24)
    amounts, rounding = findings_cents([delta for _, _, delta, _ in causes], row.logged_nanos, row.billed_nanos)
    for (cause, count, _delta, ids), amount in zip(causes, amounts, strict=True):
        table.add_row(CAUSE_WORDS.get(cause, cause), f"{count:,}", format_dollars(amount), ", ".join(map(str, ids)))
    if rounding:
        table.add_row("rounding", "", format_dollars(rounding), "", style="dim")
    table.add_row("total", "", variance, "", style="bold")
    notes = [f"{FINDINGS_RULE}" + (f"; {ROUNDING_ROW}." if rounding else ".")]
    if any(cause == "unattributed" for cause, *_ in causes):
        notes.append(f"{UNATTRIBUTED_RULE}.")
    table.caption = "\n".join(notes)
    table.caption_justify = "left"
    return table

