"""The catalog's tables (the recommendations command and the demo print them): each recommendation shows its
own amount (as `--id N` and the project report show it), and the total row is the total of the rows shown,
whatever the cents the quotes round to."""

from __future__ import annotations

import dataclasses
import random
import re
from datetime import UTC, datetime
from decimal import Decimal

from rich.console import Console

from core.money import cents, money
from store.recommendations import Recommendation
from workers.cli.checks import WIDTH, kind_table, recommendation_view

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


def test_each_row_shows_its_own_amount_and_the_total_row_adds_them_up() -> None:
    rng = random.Random(14)
    for recurrence in ("monthly", "one_off", "anomaly"):
        for _ in range(20):
            nanos = [rng.choice([5_000_000, 4_999_999, 15_000_000]) + rng.randrange(0, 10**11)
                     for _ in range(rng.randint(1, 12))]
            rows, total = shown([recommendation(i, n, recurrence) for i, n in enumerate(nanos)], recurrence)
            assert rows == [cents(n) for n in nanos] and sum(rows) == total, (nanos, rows, total)


def test_three_half_cents_show_as_a_cent_each_under_the_total_of_the_rows_shown() -> None:
    # each is $0.01 wherever it is shown; the total is what the rows shown add up to, and says so
    rows, total = shown([recommendation(i, 5_000_000, "monthly") for i in range(3)], "monthly")
    assert (rows, total) == ([Decimal("0.01")] * 3, Decimal("0.03"))
    console = Console(width=WIDTH, record=True)
    console.print(kind_table([recommendation(1, 5_000_000, "one_off")], "one_off"))
    assert "total of the rows shown" in console.export_text()


def test_evidence_in_dollars_is_labelled_without_its_storage_unit() -> None:
    r = dataclasses.replace(recommendation(10, 139_974_924_300, "monthly"), evidence={
        "actual_nanos": 245_730_000_000, "counterfactual_nanos": 105_755_075_700,
        "counterfactual": {"kind": "model", "from": "a", "to": "b"}, "days_observed": 30})
    console = Console(width=WIDTH, record=True)
    console.print(recommendation_view(r))
    text = " ".join(console.export_text().split())
    assert f"saving {money(139_974_924_300)}/month" in text
    assert "actual $245.73" in text and "counterfactual amount $105.76" in text
    assert 'counterfactual {"kind": "model", "from": "a", "to": "b"}' in text and "days_observed 30" in text
    assert "_nanos" not in text


def test_one_recommendation_in_full_wraps_long_evidence_values_instead_of_cutting_them() -> None:
    # the demo's repeated-prompt quote: a prompt hash and a list of hashes, wider than the value's column
    digest = "3cbadfd" + "0123456789abcdef" * 3 + "127b4e0d1"
    hashes = [digest[::-1], digest.upper(), "f" * 70]
    long_fingerprint = "repeated-prompts:" + "e" * 90
    r = dataclasses.replace(recommendation(26, 1_000_000_000, "monthly"), fingerprint=long_fingerprint,
                            evidence={"prompt_hash": digest, "prompt_hashes": hashes,
                                      "note": "word " * 40})
    console = Console(width=WIDTH, record=True)
    console.print(recommendation_view(r))
    printed = console.export_text()
    assert all(len(line) <= WIDTH for line in printed.splitlines())
    assert "…" not in printed
    unbroken = "".join(printed.split())  # the value folded over lines, every character kept
    for value in (digest, *hashes, long_fingerprint, "word" * 40):
        assert value in unbroken, value
