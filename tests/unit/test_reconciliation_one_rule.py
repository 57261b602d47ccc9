"""One reconciliation month prints the same three figures on every surface: the command line (`reconciliation`,
`reconcile`, the demo) and the executive summary. Logged and billed are each rounded to the cent and the
variance is their difference as printed; a month's findings add up to that printed variance."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

from core.money import VARIANCE_RULE, cents, findings_cents, money, reconciled
from pdf import render
from pdf.model import Branding, ExecutiveData, ReconciliationLine, Signature, SpanSpend
from pdf.periods import Period
from store.reconciliation import ReconciliationRow
from tests.unit.pdf_tables import tables
from workers.cli.reconcile_view import findings_table, reconciliation_table

DECEMBER = dt.date(2026, 12, 1)
# the demo's gemini 2026-12: what was logged, and the Gemini export's bill (fractions of a cent: an export)
LOGGED, BILLED = 34_436_838_820, 30_764_900_000
AMOUNT = re.compile(r"-?\$[\d,]+\.\d\d")


def dollars(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def printed(table: Table) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(table)
    return [line.rstrip() for line in out.getvalue().splitlines()]


def cli_row() -> ReconciliationRow:
    ratio = (Decimal(LOGGED - BILLED) / BILLED).quantize(Decimal("1e-12"))
    return ReconciliationRow("gemini", DECEMBER, LOGGED, BILLED, "api", LOGGED - BILLED, ratio, "red", "ok", None,
                             None)


def executive(line: ReconciliationLine) -> ExecutiveData:
    period = Period(DECEMBER, dt.date(2027, 1, 1))
    span = SpanSpend("This month", period.start, period.end, 10, LOGGED)
    return ExecutiveData(branding=Branding("acme", "Acme"), period=period, this_month=span, last_month=span,
                         year_to_date=span, period_spend=span, previous_period=span, top_projects=[], months=[],
                         reconciliation=[line], savings=[])


def test_the_cli_and_the_executive_summary_print_one_month_alike() -> None:
    # worked out from the inputs: each figure at its own rounding, the variance as their printed difference
    expected = [money(LOGGED), money(BILLED), f"${cents(LOGGED) - cents(BILLED)}"]
    assert expected == ["$34.44", "$30.76", "$3.68"]  # the seed's text says "$34.44 logged"
    lines = printed(reconciliation_table([cli_row()]))
    cli = next(AMOUNT.findall(line) for line in lines if line.startswith(" 2026-12"))
    line = ReconciliationLine("gemini", DECEMBER, LOGGED, BILLED, LOGGED - BILLED, "0.119352", "red", "ok",
                              dt.datetime(2027, 1, 2, tzinfo=dt.UTC))
    html = render.executive_html(executive(line), Signature(signer=None, signing_time=None))
    pdf = tables(html)["reconciliation"].rows[0][2:5]
    assert cli == pdf == expected
    # the rule is stated once under each table
    assert " ".join(" ".join(lines).split()).count(VARIANCE_RULE) == 1
    assert " ".join(html.split()).count(VARIANCE_RULE[0].upper() + VARIANCE_RULE[1:]) == 1


def test_the_findings_add_up_to_the_variance_the_month_table_prints() -> None:
    # the export's causes: rounded one by one ($2.39 + $1.60 − $0.32 + $0.00 = $3.67), not the $3.68 printed
    deltas = [2_392_100_000, 1_600_000_000, -320_000_000, LOGGED - BILLED - 3_672_100_000]
    causes: list[tuple[str, int, int, list[int]]] = [(cause, 1, delta, []) for cause, delta in zip(
        ("unattributed", "promo_credit", "unlogged_spend", "unexplained"), deltas, strict=True)]
    assert sum(cents(delta) for delta in deltas) == Decimal("3.67")
    lines = printed(findings_table(cli_row(), causes))
    assert lines[0] == "Why gemini 2026-12 differs by $3.68 (logged − billed)"
    amounts = [dollars(AMOUNT.findall(line)[0]) for line in lines[3:]
               if AMOUNT.search(line) and not line.startswith(" total")]
    total = dollars(AMOUNT.findall(next(line for line in lines if line.startswith(" total")))[0])
    assert len(amounts) == 4 and sum(amounts) == total == cents(LOGGED) - cents(BILLED)


@given(logged=st.integers(0, 10**13), billed=st.integers(0, 10**13),
       deltas=st.lists(st.integers(-10**12, 10**12), max_size=6))
def test_any_month_prints_logged_and_billed_at_their_own_rounding_and_findings_add_up(
        logged: int, billed: int, deltas: list[int]) -> None:
    shown = reconciled(logged, billed)
    assert (shown.logged, shown.billed) == (cents(logged), cents(billed))
    assert shown.variance == shown.logged - shown.billed
    parts = [*deltas, logged - billed - sum(deltas)]  # the findings of a month sum to its variance
    amounts = findings_cents(parts, logged, billed)
    assert sum(amounts) == shown.variance
    for part, amount in zip(parts, amounts, strict=True):  # no finding moves by a cent or more
        assert abs(amount * 10**9 - part) < 10**7
