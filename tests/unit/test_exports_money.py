"""The exports' dollar figures follow the house's one rule (core.money): people's text and a manifest's `cost`
to the cent, half-up; an object's cost in nanos exact, never cut."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from exports.columns import AMOUNT
from exports.focus import MonthReconciliation, adjustment_description
from exports.manifest import Version, build_manifest
from workers.jobs.export_datasets import billed_nanos

NOV = date(2026, 11, 1)


def test_an_adjustments_description_prints_each_amount_to_the_cent_half_up() -> None:
    month = MonthReconciliation("openai", NOV, billed_nanos=1_235_000_000, logged_nanos=1_234_999_999,
                                causes=[("stale_rate", 2, -4_999_999)])
    text = adjustment_description(month, "OpenAI", 1_234_999_999)
    assert text == ("Reconciliation with the OpenAI bill for 2026-11: billed $1.24, logged usage $1.23; "
                    "causes: stale_rate $0.00 (2 findings)")


def test_a_manifests_cost_is_the_exact_nanos_in_dollars_and_the_objects_add_up_to_the_total() -> None:
    at = datetime(2026, 12, 2, 3, tzinfo=UTC)
    versions = [Version("focus/billing_period=2026-11/2026-11-01.parquet", date(2026, 11, 1), 3, 10, 1_234_999_999,
                        "a" * 64, at),
                Version("focus/billing_period=2026-11/2026-11-02.parquet", date(2026, 11, 2), 3, 10, 5_000_000,
                        "b" * 64, at)]
    document = json.loads(build_manifest("focus", NOV, "parquet", versions, pa.schema([("BilledCost", AMOUNT)]), at))
    assert [(o["cost"], o["cost_nanos"]) for o in document["objects"]] == [("1.234999999", 1_234_999_999),
                                                                           ("0.005000000", 5_000_000)]
    assert (document["totals"]["cost"], document["totals"]["cost_nanos"]) == ("1.239999999", 1_239_999_999)


def focus_costs(*amounts: str) -> pa.Table:
    return pa.table({"BilledCost": pa.array([Decimal(a) for a in amounts], AMOUNT)})


def test_an_objects_cost_in_nanos_is_exact_and_a_sub_nano_sum_is_refused_not_cut() -> None:
    assert billed_nanos(focus_costs("-0.123456789", "0.000000001")) == -123_456_788
    assert billed_nanos(focus_costs()) == 0
    with pytest.raises(ValueError, match="finer than a nano-dollar"):
        billed_nanos(focus_costs("1.000000000999"))
