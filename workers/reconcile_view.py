"""The reconciliation table and a month's findings as people read them (80 columns, no wrapping)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from rich import box
from rich.table import Table

from core.money import money, ratio_percent

CAUSE_WORDS = {
    "stale_rate": "stale rate (stored − re-priced)",
    "unpriced_model": "model with no rate",
    "unattributed": "unattributed rows",
    "promo_credit": "promo credit",
    "unlogged_spend": "billed, never logged",
    "unexplained": "unexplained rest",
}


def ratio_text(ratio: Decimal | None) -> str:
    return "" if ratio is None else f"{ratio_percent(ratio)}%"


def verdict(band: str | None, status: str) -> str:
    if status == "awaiting_bill":
        return "awaiting bill"
    if status == "error":
        return "error"
    return band or ""


def reconciliation_table(rows: list[tuple[Any, ...]], title: str = "Reconciliation", reasons: bool = True) -> Table:
    """Rows of store.reconciliation.reconciliation_rows; an error's reason goes on its own line, unless
    `reasons` is False (the command that just failed says why on stderr: once is enough)."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in (("month", "left"), ("provider", "left"), ("logged", "right"), ("billed", "right"),
                          ("variance", "right"), ("ratio", "right"), ("band", "left")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    notes = []
    for provider, period, logged, billed, source, variance, ratio, band, status, error in rows:
        shown = verdict(band, status)
        style = {"green": "green", "amber": "yellow", "red": "bold red", "error": "red"}.get(shown, "")
        table.add_row(f"{period:%Y-%m}", provider, money(logged),
                      "" if billed is None else f"{money(billed)}{'*' if source == 'manual' else ''}",
                      "" if variance is None else money(variance), ratio_text(ratio), shown, style=style)
        if error and reasons:
            notes.append(f"{provider} {period:%Y-%m}: {error}")
    table.caption = "\n".join(["* billed as pasted; otherwise from the API or an export", *notes])
    table.caption_justify = "left"
    return table


def findings_table(provider: str, period: dt.date, variance: int,
                   causes: list[tuple[str, int, int, list[int]]]) -> Table:
    title = f"Why {provider} {period:%Y-%m} differs by {money(variance)} (logged − billed)"
    # rich wraps a title to its table's width, narrower than the heading when the columns are short:
    # as wide as the heading (at most 80), it stays one line
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  min_width=min(len(title), 80))
    table.add_column("cause", no_wrap=True)
    table.add_column("findings", justify="right", no_wrap=True)
    table.add_column("amount", justify="right", no_wrap=True)
    table.add_column("e.g. requests", no_wrap=True, overflow="ellipsis", max_width=24)
    for cause, count, delta, ids in causes:
        table.add_row(CAUSE_WORDS.get(cause, cause), f"{count:,}", money(delta), ", ".join(map(str, ids)))
    table.add_row("total", "", money(sum(c[2] for c in causes)), "", style="bold")
    return table
