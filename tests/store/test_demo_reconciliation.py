"""The demo's reconciliation section as a person reads it at 80 columns: every figure a reader adds up
agrees with what is printed, and what was planted (the seed's stale prices, the Gemini export's causes)
stands next to what the findings hold."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from rich.console import Console

from store.workspaces import workspace_by_slug
from synthetic import SeedOptions, seed_workspace
from tests.factories import Conn
from workers.cli.reconcile_view import CAUSE_WORDS
from workers.demo.reconciliation import print_reconciliation

AMOUNT = re.compile(r"-?\$[\d,]+\.\d\d")
MONTH_ROW = re.compile(r"^ (\d{4}-\d\d)\s+(\w+)\s")
WHY = re.compile(r"^Why (\w+) (\d{4}-\d\d) differs by (-?\$[\d,]+\.\d\d) \(logged − billed\)$")


def dollars(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


@pytest.fixture
def section(db_conn: Conn) -> tuple[list[str], list[dict[str, object]]]:
    report = seed_workspace(db_conn, SeedOptions(slug="acme", days=30, requests_per_day=200))
    out = io.StringIO()
    print_reconciliation(db_conn, workspace_by_slug(db_conn, "acme"), report.planted,
                         Console(file=out, width=80, color_system=None))
    return [line.rstrip() for line in out.getvalue().splitlines()], report.planted


def test_every_table_of_the_section_adds_up_as_printed(section: tuple[list[str], list[dict[str, object]]]) -> None:
    lines, _ = section
    assert max(len(line) for line in lines) <= 80
    variances: dict[tuple[str, str], Decimal] = {}
    for line in lines[:next(i for i, line in enumerate(lines) if line.startswith("Why "))]:
        row = MONTH_ROW.match(line)
        figures = AMOUNT.findall(line)
        if row and len(figures) == 3:
            logged, billed, variance = map(dollars, figures)
            assert logged - billed == variance, line
            variances[(row.group(2), row.group(1))] = variance
    assert len(variances) >= 8  # four providers, two months, every one with a bill
    whys = [i for i, line in enumerate(lines) if WHY.match(line)]
    assert whys  # the Gemini export's months are red
    for start in whys:
        why = WHY.match(lines[start])
        assert why is not None
        provider, month, shown = why.groups()
        total_at = next(i for i in range(start, len(lines)) if lines[i].startswith(" total"))
        amounts = [dollars(AMOUNT.findall(line)[0]) for line in lines[start + 3:total_at] if AMOUNT.search(line)]
        total = dollars(AMOUNT.findall(lines[total_at])[0])
        assert sum(amounts) == total == dollars(shown) == variances[(provider, month)], lines[start]


def test_the_planted_stale_prices_and_the_exports_causes_are_shown_next_to_what_was_found_at_one_amount(
        section: tuple[list[str], list[dict[str, object]]]) -> None:
    lines, planted = section
    stale = next(entry for entry in planted if entry["pattern"] == "stale_rate")
    assert stale["expected_nanos"]  # the seed planted stale prices in this window
    start = lines.index("Planted, and what reconciliation found")
    table = lines[start:]
    stale_row = next(line for line in table if " stale rate " in line)
    assert stale_row.startswith(" openai ") and stale_row.endswith(" exact")
    planted_figure, found_figure = AMOUNT.findall(stale_row)
    assert planted_figure == found_figure
    causes = [line for line in table if line.startswith(" gemini ")]
    assert len(causes) >= 3 and all(line.endswith(" exact") for line in causes)
    # a finding shows one amount on the screen: what was found here is what its month's "Why" table prints
    compared = 0
    for line in causes:
        month = line.split()[1]
        why = next((i for i, at in enumerate(lines) if at.startswith(f"Why gemini {month} differs by")), None)
        if why is None:
            continue  # a month that is not red has no "Why" table
        total = next(i for i in range(why, len(lines)) if lines[i].startswith(" total"))
        label = next(words for words in CAUSE_WORDS.values() if f" {words.split(' (')[0]} " in line)
        [row] = [at for at in lines[why:total] if at.startswith(f" {label} ")]
        assert AMOUNT.findall(row)[0] == AMOUNT.findall(line)[1], (row, line)
        compared += 1
    assert compared >= 3
    text = " ".join(" ".join(table).split())
    assert "olivia-mbp runs an old daemon" in text and "unattributed: inferred, not measured" in text
