"""The reconciliation tables as a person reads them at 80 columns."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from rich.console import Console

from workers.reconcile_view import findings_table


@pytest.mark.parametrize("variance", [5 * 10**9, -1_234_567_890_123_456])
def test_the_why_heading_is_one_line_at_80_columns(variance: int) -> None:
    table = findings_table("anthropic", dt.date(2026, 11, 1), variance,
                           [("unexplained", 1, variance, [12])])
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(table)
    heading = out.getvalue().splitlines()[0]
    assert heading.startswith("Why anthropic 2026-11 differs by") and heading.rstrip().endswith("(logged − billed)")
