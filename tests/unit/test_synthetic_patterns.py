"""Each planted pattern is in the rows, shaped as the later checks expect, and reported."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pricing import load_rates, price_requests
from synthetic import PLANTS
from synthetic.catalog import (
    CODE_REVIEW,
    DEVICE_INDEX,
    LOOP_DEVICE,
    NIGHTLY,
    PROJECT_INDEX,
    STALE_RATE_DEVICE,
    SUMMARISER,
    SUPPORT_BOT,
)
from synthetic.columns import SERVICE_TIERS, Mark
from synthetic.patterns import LOOP_DAY_OFFSET
from synthetic.rhythm import MICROS_PER_SECOND, day_start_micros
from tests.unit.test_synthetic_generator import FIRST_DAY, assert_same_rows, generated, local_hours

MARKS = {
    "overpowered_model": Mark.OVERPOWERED,
    "repeated_prompts": Mark.HOT_PROMPT,
    "long_context": Mark.LONG_CONTEXT,
    "nightly_batchable": Mark.NIGHTLY,
    "stale_rate": Mark.STALE_RATE,
    "unattributed": Mark.UNATTRIBUTED,
}


def planted(pattern: str) -> dict[str, Any]:
    entries = [e for e in generated().planted if e["pattern"] == pattern]
    assert len(entries) == 1, pattern
    return entries[0]


def test_every_plant_but_billing_is_reported_by_the_generator() -> None:
    assert {e["pattern"] for e in generated().planted} == set(PLANTS) - {"billing_variance"}


def test_no_plants_no_report() -> None:
    assert generated(plants=frozenset()).planted == []


@pytest.mark.parametrize("plant", sorted(MARKS))
def test_a_plant_touches_only_its_own_rows(plant: str) -> None:
    with_it = generated().rows
    without = generated(plants=frozenset(PLANTS) - {plant}).rows
    untouched = (with_it["mark"] & MARKS[plant]) == 0
    assert (~untouched).sum() > 0
    assert_same_rows({k: v[untouched] for k, v in with_it.items() if k != "mark"},
                     {k: v[untouched] for k, v in without.items() if k != "mark"})


def test_overpowered_model_writes_short_summaries_from_long_prompts() -> None:
    g = generated()
    rows = g.rows
    mask = (rows["mark"] & Mark.OVERPOWERED) != 0
    entry = planted("overpowered_model")
    assert entry["rows"] == (mask & (rows["status"] == 200)).sum() > 500
    assert (rows["origin"][mask] == PROJECT_INDEX[SUMMARISER]).all()
    assert {g.plan.models.facts.names[m] for m in np.unique(rows["model"][mask])} == {"claude-sonnet-4-6"}
    assert entry["where"] == {"project": "acme-batch-summariser", "model": "claude-sonnet-4-6",
                              "cheaper_model": "claude-haiku-4-5"}
    ok = mask & (rows["status"] == 200)
    prompt = rows["input_tokens"] + rows["cache_read_tokens"] + rows["cache_write_tokens"]
    assert np.median(prompt[ok]) > 10 * np.median(rows["output_tokens"][ok])
    assert 0 < entry["expected_nanos"] < rows["cost_nanos"][ok].sum()


def test_without_the_plant_the_summariser_uses_the_cheaper_model() -> None:
    g = generated(plants=frozenset())
    summariser = g.rows["origin"] == PROJECT_INDEX[SUMMARISER]
    names = {g.plan.models.facts.names[m] for m in np.unique(g.rows["model"][summariser])}
    assert "claude-sonnet-4-6" not in names
    assert "claude-haiku-4-5" in names


def test_repeated_prompts_recur_across_devices_and_days() -> None:
    rows = generated().rows
    entry = planted("repeated_prompts")
    frame = pd.DataFrame({"hash": rows["prompt_hash"], "device": rows["device"],
                          "day": rows["started"] // (86_400 * MICROS_PER_SECOND)})
    hot = frame[frame["hash"].isin(entry["where"]["prompt_hashes"])]
    per_hash = hot.groupby("hash").agg(requests=("day", "size"), devices=("device", "nunique"),
                                       days=("day", "nunique"))
    assert len(per_hash) == 6
    assert (per_hash["requests"] >= 10).all()
    assert (per_hash["devices"] >= 2).all()
    assert (per_hash["days"] >= 7).all()
    assert sum(entry["detail"]["requests_per_hash"]) == entry["rows"] == len(hot)
    assert set(np.unique(rows["origin"][hot.index])) == {PROJECT_INDEX[SUPPORT_BOT]}
    assert entry["expected_nanos"] > 0


def test_runaway_loop_is_one_device_one_prompt_hundreds_of_calls_in_minutes() -> None:
    rows = generated().rows
    entry = planted("runaway_loop")
    loop = (rows["mark"] & Mark.LOOP) != 0
    assert 300 <= loop.sum() == entry["rows"] <= 500
    assert set(rows["device"][loop]) == {DEVICE_INDEX[LOOP_DEVICE]}
    assert set(rows["prompt_hash"][loop]) == {entry["where"]["prompt_hash"]}
    started = rows["started"][loop]
    assert (started.max() - started.min()) < 15 * 60 * MICROS_PER_SECOND
    loop_day = FIRST_DAY + dt.timedelta(days=LOOP_DAY_OFFSET)
    assert entry["where"]["day"] == loop_day.isoformat()
    assert day_start_micros(loop_day) <= started.min() and started.max() < day_start_micros(loop_day) + 86_400e6
    assert entry["detail"]["peak_per_minute"] >= 30
    assert entry["expected_nanos"] == rows["cost_nanos"][loop].sum() > 0


def test_the_loop_hash_is_seen_nowhere_else() -> None:
    rows = generated().rows
    loop = (rows["mark"] & Mark.LOOP) != 0
    assert not np.isin(rows["prompt_hash"][~loop], [planted("runaway_loop")["where"]["prompt_hash"]]).any()


def test_a_range_without_the_loop_day_reports_no_loop() -> None:
    g = generated(count=2)
    entry = next(e for e in g.planted if e["pattern"] == "runaway_loop")
    assert entry["rows"] == 0
    assert "outside" in entry["what"]


def test_long_context_prompts_cross_the_models_threshold() -> None:
    g = generated()
    rows, facts = g.rows, g.plan.models.facts
    mask = ((rows["mark"] & Mark.LONG_CONTEXT) != 0) & (rows["status"] == 200)
    prompt = rows["input_tokens"] + rows["cache_read_tokens"] + rows["cache_write_tokens"]
    threshold = facts.long_context_threshold[rows["model"]]
    assert mask.sum() == planted("long_context")["rows"] > 0
    assert (threshold[mask] > 0).all()
    assert (prompt[mask] > threshold[mask]).all()
    assert (rows["origin"][mask] == PROJECT_INDEX[CODE_REVIEW]).all()
    assert (prompt[~mask & (threshold > 0)] <= threshold[~mask & (threshold > 0)]).mean() > 0.99


def test_nightly_traffic_is_standard_tier_between_midnight_and_five() -> None:
    rows = generated().rows
    nightly = rows["origin"] == PROJECT_INDEX[NIGHTLY]
    assert ((rows["mark"][nightly] & Mark.NIGHTLY) != 0).all()
    assert set(local_hours(rows["started"][nightly])) <= {0, 1, 2, 3, 4}
    assert (rows["tier"][nightly] == SERVICE_TIERS.index("standard")).all()
    per_day = np.bincount(rows["started"][nightly] // (86_400 * MICROS_PER_SECOND))
    per_day = per_day[per_day > 0]
    assert per_day.min() > 0.6 * per_day.max()  # steady, weekends included
    assert planted("nightly_batchable")["expected_nanos"] > 0


def test_without_the_plant_nightly_traffic_already_uses_batch_where_offered() -> None:
    g = generated(plants=frozenset())
    nightly = g.rows["origin"] == PROJECT_INDEX[NIGHTLY]
    offers_batch = np.array(["batch" in t for t in g.plan.models.facts.tiers])[g.rows["model"]]
    assert (g.rows["tier"][nightly & offers_batch] == SERVICE_TIERS.index("batch")).all()


def test_stale_rows_carry_the_version_before_the_change_and_its_cost() -> None:
    g = generated()
    rows = g.rows
    change = g.plan.models.price_change
    assert change is not None
    entry = planted("stale_rate")
    stale = (rows["mark"] & Mark.STALE_RATE) != 0
    assert set(rows["device"][stale]) == {DEVICE_INDEX[STALE_RATE_DEVICE]}
    assert set(rows["rates_version"][stale]) == {change.stale_version}
    table = load_rates()
    started = rows["started"][stale].astype("datetime64[us]").astype(dt.datetime)
    assert all(table.version_at(s) != change.stale_version for s in started[:50])
    assert entry["where"]["model"] == change.model
    # rows: the stale rows whose logged cost differs from the current rates (what re-pricing finds);
    # the daemon stamps every row it prices with the old version, most of them on unchanged models
    names = np.array(g.plan.models.facts.names, dtype=object)
    current = price_requests(
        table, model=names[rows["model"][stale]], service_tier=np.array(SERVICE_TIERS, dtype=object)[
            rows["tier"][stale]], input_tokens=rows["input_tokens"][stale],
        cache_read_tokens=rows["cache_read_tokens"][stale], cache_write_tokens=rows["cache_write_tokens"][stale],
        output_tokens=rows["output_tokens"][stale], started_at=rows["started"][stale].astype("datetime64[us]"))
    current_cost = np.where(rows["status"][stale] == 200, current.cost_nanos, 0)
    differs = rows["cost_nanos"][stale] != current_cost
    assert entry["rows"] == entry["detail"]["rows_with_delta"] == differs.sum() > 0
    assert entry["detail"]["rows_stamped"] == stale.sum() > entry["rows"]
    assert entry["expected_nanos"] == int((rows["cost_nanos"][stale] - current_cost).sum()) != 0
    assert f"{entry['rows']} rows logged at a price that differs" in entry["what"]


def test_unattributed_rows_have_no_project_and_no_tier() -> None:
    rows = generated().rows
    mask = rows["project"] < 0
    assert 0.01 < mask.mean() < 0.08
    assert (rows["attribution"][mask] < 0).all()
    assert (rows["attribution"][~mask] >= 0).all()
    assert planted("unattributed")["rows"] == mask.sum()
