"""The FOCUS dataset's pure parts: the exact allocation, the rows, the formats, the conformance check."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from exports import conformance
from exports.focus import MonthReconciliation, Workspace, adjustment_rows, allocate, usage_rows
from exports.formats import encode, to_csv
from pricing import load_rates, price_requests
from store.exports import ROLLUP_TYPES

WS = Workspace(slug="acme", name="Acme", projects={1: ("search", "=HYPERLINK(\"http://x\")", "R&D"),
                                                    2: ("batch", "Batch jobs", None)},
               devices={10: "alice-mbp", 11: "@bob"})
D = 1_000_000_000


def rollup(rows: list[dict[str, Any]]) -> pa.Table:
    base = {"project_id": 1, "device_id": 10, "provider": "anthropic", "model": "claude-sonnet-4-6",
            "service_tier": "standard", "requests": 1, "input_tokens": 0, "cache_read_tokens": 0,
            "cache_write_tokens": 0, "output_tokens": 0, "cost_nanos": 0}
    full = [{**base, **row} for row in rows]
    return pa.table({name: pa.array([r[name] for r in full], kind) for name, kind in ROLLUP_TYPES.items()})


def priced(day: date, model: str, inp: int, cr: int, cw: int, out: int) -> int:
    batch = price_requests(load_rates(), model=[model], service_tier="standard", input_tokens=[inp],
                           cache_read_tokens=[cr], cache_write_tokens=[cw], output_tokens=[out], at=day)
    return int(batch.cost_nanos[0])


def sample() -> pa.Table:
    d1, d2 = date(2026, 11, 3), date(2026, 11, 4)
    return rollup([
        {"day": d1, "requests": 7, "input_tokens": 123_457, "cache_read_tokens": 99_991, "cache_write_tokens": 3_331,
         "output_tokens": 7_777, "cost_nanos": 7 * priced(d1, "claude-sonnet-4-6", 17_637, 14_285, 476, 1_111) + 3},
        {"day": d1, "project_id": None, "device_id": 11, "provider": "openai", "model": "gpt-4o-mini",
         "requests": 3, "input_tokens": 1_000, "output_tokens": 10, "cost_nanos": 171},
        {"day": d1, "project_id": 2, "model": "some-unknown-model", "requests": 2, "input_tokens": 5,
         "output_tokens": 5, "cost_nanos": 1_000_001},
        {"day": d2, "requests": 4, "cost_nanos": 0},  # failed requests, no tokens: still counted
        {"day": d2, "requests": 1, "service_tier": "batch", "input_tokens": 10, "output_tokens": 3, "cost_nanos": 17},
    ])


def test_allocation_is_exact_and_gives_leftover_units_to_the_largest_remainders() -> None:
    shares = allocate(np.array([10, 7, -7, 0]), np.array([[1, 1, 1, 0], [3, 3, 1, 0], [3, 3, 1, 0], [1, 2, 3, 4]]))
    assert shares.sum(axis=1).tolist() == [10, 7, -7, 0]
    assert shares.tolist()[0] == [4, 3, 3, 0]  # 3.33 each: the leftover unit to the leftmost on a tie
    assert shares.tolist()[1] == [3, 3, 1, 0] and shares.tolist()[2] == [-3, -3, -1, 0]
    big = allocate(np.array([2**62]), np.array([[2**61, 3, 2**40, 1]]))
    assert int(big.sum()) == 2**62


def test_a_days_billed_cost_equals_the_rollups_to_the_nano_and_list_cost_is_the_list_rate() -> None:
    table = usage_rows(sample(), load_rates(), WS)
    rows = table.to_pylist()
    by_day: dict[Any, Decimal] = {}
    for row in rows:
        by_day[row["ChargePeriodStart"].date()] = by_day.get(row["ChargePeriodStart"].date(), Decimal(0)) + \
            row["BilledCost"]
    source = sample().to_pylist()
    for day, total in by_day.items():
        assert total * D == sum(r["cost_nanos"] for r in source if r["day"] == day)
    assert sum(r["x_RequestCount"] for r in rows) == sum(r["requests"] for r in source)
    sonnet = [r for r in rows if r["x_ModelId"] == "claude-sonnet-4-6" and r["x_ServiceTier"] == "standard"
              and r["ConsumedQuantity"] and r["ChargePeriodStart"].day == 3]
    assert [r["SkuMeter"] for r in sonnet] == ["Input Tokens", "Cached Input Tokens", "Cache Write Tokens",
                                                "Output Tokens"]
    for row in sonnet:
        assert row["ListCost"] == row["ListUnitPrice"] * row["PricingQuantity"]
        assert row["PricingQuantity"] * 1_000_000 == row["ConsumedQuantity"]
    unknown = [r for r in rows if r["x_ModelId"] == "some-unknown-model"]
    assert all(r["ListUnitPrice"] is None and r["ListCost"] == r["BilledCost"] for r in unknown)
    empty = [r for r in rows if r["ChargePeriodStart"].day == 4 and r["x_ServiceTier"] == "standard"]
    assert len(empty) == 1 and empty[0]["x_RequestCount"] == 4 and empty[0]["BilledCost"] == 0
    assert rows[0]["Tags"] == '{"cost_center":"R&D","device":"alice-mbp"}'
    assert {r["ServiceProviderName"] for r in rows} == {"Anthropic", "OpenAI"}


def test_adjustment_rows_make_a_providers_month_sum_to_the_bill() -> None:
    usage = usage_rows(sample(), load_rates(), WS)
    logged = sum(r["cost_nanos"] for r in sample().to_pylist() if r["provider"] == "anthropic")
    month = MonthReconciliation("anthropic", date(2026, 11, 1), billed_nanos=logged - 123_456_789, logged_nanos=logged,
                                causes=[("stale_rate", 3, 100_000_000), ("unexplained", 1, 23_456_789)])
    adjustments = adjustment_rows([month], {("anthropic", date(2026, 11, 1)): logged}, WS)
    (row,) = adjustments.to_pylist()
    assert row["ChargeCategory"] == "Adjustment" and row["BilledCost"] == Decimal("-0.123456789")
    assert "stale_rate -$0.10 (3 findings)" in row["ChargeDescription"]
    both = pa.concat_tables([usage, adjustments]).to_pylist()
    assert sum(r["BilledCost"] for r in both if r["ProviderName"] == "Anthropic") * D == logged - 123_456_789


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_written_files_conform_and_the_same_content_gives_the_same_bytes(fmt: str) -> None:
    month = MonthReconciliation("openai", date(2026, 11, 1), billed_nanos=500, logged_nanos=171, causes=[])
    table = pa.concat_tables([usage_rows(sample(), load_rates(), WS),
                              adjustment_rows([month], {("openai", date(2026, 11, 1)): 171}, WS)])
    data = encode(table, fmt)
    # the one finding: rows of a model the price table does not know have no list price (FOCUS requires one on
    # usage rows; the export does not invent it)
    unknown = [i + 1 for i, model in enumerate(table["x_ModelId"].to_pylist()) if model == "some-unknown-model"]
    assert conformance.check(data, fmt) == [f"ListUnitPrice row {i}: null on a Usage row that is not a correction"
                                            for i in unknown]
    known = table.filter(pc.not_equal(table["x_ModelId"].fill_null(""), "some-unknown-model"))
    assert conformance.check(encode(known, fmt), fmt) == []
    assert encode(usage_rows(sample(), load_rates(), WS), fmt) == encode(usage_rows(sample(), load_rates(), WS), fmt)


def test_the_check_fails_a_planted_bad_file() -> None:
    table = usage_rows(sample(), load_rates(), WS)
    bad = table.set_column(table.schema.get_field_index("ChargeCategory"), "ChargeCategory",
                           pa.array(["usage"] * table.num_rows))
    bad = bad.set_column(bad.schema.get_field_index("ListCost"), "ListCost",
                         bad["ListCost"].cast(pa.float64()))
    bad = bad.drop_columns(["BillingCurrency"]).append_column("RequestCount", pa.array([1] * bad.num_rows))
    problems = conformance.check(encode(bad, "parquet"), "parquet")
    text = "\n".join(problems)
    assert "BillingCurrency: a mandatory column is missing" in text
    assert "RequestCount: neither a FOCUS column nor prefixed x_" in text
    assert "ListCost: Decimal column stored as double" in text
    assert "ChargeCategory row 1: 'usage' is not an allowed value" in text
    csv = to_csv(table).replace(b"T00:00:00Z", b" 00:00:00", 1)
    assert any("is not YYYY-MM-DDTHH:mm:ssZ" in p for p in conformance.check(csv, "csv"))


def test_csv_neutralises_formula_cells_but_not_numbers() -> None:
    month = MonthReconciliation("openai", date(2026, 11, 1), billed_nanos=0, logged_nanos=171, causes=[])
    table = pa.concat_tables([usage_rows(sample(), load_rates(), WS),
                              adjustment_rows([month], {("openai", date(2026, 11, 1)): 1_500_000_000}, WS)])
    data = to_csv(table)
    read = pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(
        column_types={name: pa.string() for name in table.column_names}))
    names = set(read["SubAccountName"].to_pylist())
    assert "'=HYPERLINK(\"http://x\")" in names and "Batch jobs" in names
    assert any('"device":"@bob"' in (t or "") for t in read["Tags"].to_pylist())  # JSON begins with {: left alone
    assert "-1.5" in read["BilledCost"].to_pylist()  # a negative amount stays a number
    assert pq.read_table(io.BytesIO(encode(table, "parquet")))["SubAccountName"].to_pylist()[0] == \
        "=HYPERLINK(\"http://x\")"  # Parquet keeps the value as it is


def test_a_day_built_alone_has_the_bytes_of_the_same_day_cut_from_a_longer_build() -> None:
    """The nightly export compares digests: a day regenerated alone must not look restated."""
    whole = usage_rows(sample(), load_rates(), WS)
    day = whole.filter(pc.equal(pc.day(whole["ChargePeriodStart"]), 4))
    cut = whole.slice(whole.num_rows - day.num_rows, day.num_rows)
    alone_rollup = sample().filter(pc.equal(sample()["day"], pa.scalar(date(2026, 11, 4), pa.date32())))
    alone = usage_rows(alone_rollup, load_rates(), WS)
    for fmt in ("parquet", "csv"):
        assert encode(cut, fmt) == encode(alone, fmt)
