"""The catalog's tables (the recommendations command and the demo print them): the amounts shown in a
kind's table add up to the total row shown under them, whatever the cents the quotes round to."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from decimal import Decimal

from rich.console import Console

from store.recommendations import Recommendation
from workers.cli_checks import WIDTH, kind_table

AT = datetime(2026, 11, 1, tzinfo=UTC)


def recommendation(i: int, nanos: int, recurrence: str) -> Recommendation:
    return Recommendation(i, f"fp-{i}", "batch-api", "acme-p0", f"title {i}", "why", recurrence, nanos,
                          nanos if recurrence == "monthly" else 0, "high", 1, [], {}, "open", AT, AT)


def shown(rows: list[Recommendation], recurrence: str) -> tuple[list[Decimal], Decimal]:
    console = Console(width=WIDTH, record=True)
    console.print(kind_table(rows, recurrence))
    lines = console.export_text().splitlines()
    assert all(len(line) <= WIDTH for line in lines)
    amounts = [Decimal(m.group(2).replace(",", "")) for line in lines
               if (m := re.match(r"^\s*(\d*)\s+\$([\d,]+\.\d\d)\s", line))]
    return amounts[:-1], amounts[-1]


def test_each_kinds_amounts_add_up_to_its_total_row() -> None:
    rng = random.Random(14)
    for recurrence in ("monthly", "one_off", "anomaly"):
        for _ in range(20):
            nanos = [rng.choice([5_000_000, 4_999_999, 15_000_000]) + rng.randrange(0, 10**11)
                     for _ in range(rng.randint(1, 12))]
            rows, total = shown([recommendation(i, n, recurrence) for i, n in enumerate(nanos)], recurrence)
            assert len(rows) == len(nanos) and sum(rows) == total, (nanos, rows, total)


def test_three_half_cents_show_as_two_cents_not_three() -> None:
    # rounded one by one each is $0.01 and the column would add to $0.03 under a $0.02 total
    rows, total = shown([recommendation(i, 5_000_000, "monthly") for i in range(3)], "monthly")
    assert (rows, total) == ([Decimal("0.01"), Decimal("0.01"), Decimal("0.00")], Decimal("0.02"))
