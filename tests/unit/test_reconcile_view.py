"""The reconciliation tables as a person reads them at 80 columns: one line headings, and figures a
reader adds up that agree with what is printed."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from rich.console import Console
from rich.table import Table

from core.money import FINDINGS_RULE, VARIANCE_RULE, cents, format_dollars, money
from store.reconciliation import ReconciliationRow
from workers.cli.reconcile_view import findings_table, reconciliation_table

DEC = dt.date(2026, 12, 1)
AMOUNT = re.compile(r"-?\$[\d,]+\.\d\d")


def row(logged: int, billed: int | None, provider: str = "gemini", notice: str | None = None) -> ReconciliationRow:
    variance = None if billed is None else logged - billed
    ratio = None if billed is None else (Decimal(abs(logged - billed)) / billed).quantize(Decimal("1e-12"))
    return ReconciliationRow(provider, DEC, logged, billed, "api", variance, ratio,
                             None if billed is None else "red", "ok" if billed is not None else "awaiting_bill",
                             None, notice)


def printed(table: Table) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(table)
    return [line.rstrip() for line in out.getvalue().splitlines()]


def words(lines: list[str]) -> str:
    """The printed text with its wrapping undone."""
    return " ".join(" ".join(lines).split())


def dollars(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


# December gemini of the issue: $34.44 logged and $30.76 billed, each rounded on its own, above a
# variance rounded on its own to $3.67: a reader's subtraction gives $3.68
LOGGED, BILLED = 34_435_100_000, 30_764_900_000


def test_each_row_of_the_month_table_prints_logged_and_billed_at_their_own_rounding_and_their_difference() -> None:
    months = [(LOGGED, BILLED), (1_311_734_999_999, 1_315_670_000_000)]
    lines = printed(reconciliation_table([row(*months[0]), row(*months[1], "openai"),
                                          row(98_654_321_000, None, "xai")]))
    figures = [AMOUNT.findall(line) for line in lines if line.startswith(" 2026-12")]
    for shown, (logged, billed) in zip(figures, months, strict=False):
        assert shown == [money(logged), money(billed), format_dollars(cents(logged) - cents(billed))]
    assert figures[0] == ["$34.44", "$30.76", "$3.68"]  # not the $3.67 the variance rounds to on its own
    assert figures[1] == ["$1,311.73", "$1,315.67", "-$3.94"]
    assert len(figures) == 3 and figures[2] == [money(98_654_321_000)]  # awaiting its bill: no billed, no variance
    assert VARIANCE_RULE in words(lines)
    assert max(len(line) for line in lines) <= 80


def test_a_months_findings_add_up_to_the_variance_of_its_heading_and_of_the_month_table() -> None:
    # four causes whose own roundings ($2.39 + $1.60 − $0.32 + $0.00) make $3.67, not the $3.68 printed
    causes = [("unattributed", 2, 2_392_100_000, [80570, 80594]), ("promo_credit", 1, 1_600_000_000, []),
              ("unlogged_spend", 1, -320_000_000, []), ("unexplained", 1, -1_900_000 + 6_000_000, [])]
    variance = LOGGED - BILLED + 6_000_000
    assert sum(delta for _, _, delta, _ in causes) == variance
    month = row(LOGGED + 6_000_000, BILLED)
    lines = printed(findings_table(month, causes))
    assert lines[0] == "Why gemini 2026-12 differs by $3.68 (logged − billed)"
    amounts = [dollars(AMOUNT.findall(line)[0]) for line in lines[3:] if AMOUNT.search(line)
               and not line.startswith(" total")]
    total = dollars(AMOUNT.findall(next(line for line in lines if line.startswith(" total")))[0])
    shown_in_month_table = AMOUNT.findall(printed(reconciliation_table([month]))[4])[2]
    printed_variance = cents(LOGGED + 6_000_000) - cents(BILLED)  # logged and billed at their own rounding
    assert sum(cents(delta) for _, _, delta, _ in causes) != printed_variance  # the trap
    # each finding at its own rounding (as it is printed elsewhere), then the cent that leaves
    assert amounts == [cents(delta) for _, _, delta, _ in causes] + [Decimal("0.01")]
    assert sum(amounts) == total == dollars(shown_in_month_table) == printed_variance
    caption = words(lines)
    assert FINDINGS_RULE in caption and "unattributed (inferred): not measured" in caption
    assert max(len(line) for line in lines) <= 80


def test_a_notice_is_shown_under_the_month_table() -> None:
    notice = "a paste entered 2026-12-05 10:02 UTC by intern@acme was refused: no amount; reconciled against …"
    text = words(printed(reconciliation_table([row(LOGGED, BILLED, notice=notice)])))
    assert "gemini 2026-12: a paste entered 2026-12-05 10:02 UTC by intern@acme was refused" in text


@pytest.mark.parametrize("variance", [5 * 10**9, -1_234_567_890_123_456])
def test_the_why_heading_is_one_line_at_80_columns(variance: int) -> None:
    lines = printed(findings_table(row(variance + 10**12, 10**12, "anthropic"), [("unexplained", 1, variance, [12])]))
    assert lines[0].startswith("Why anthropic 2026-12 differs by") and lines[0].endswith("(logged − billed)")
