"""The synthetic rows: deterministic, day-separable, and shaped like real traffic."""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pandas as pd
import pytest

from pricing import load_rates
from synthetic import PLANTS, SeedOptions
from synthetic.catalog import DEVICES, NIGHTLY, PROJECT_INDEX
from synthetic.columns import Columns, Mark
from synthetic.rhythm import MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_SECOND, day_start_micros
from synthetic.rows import GeneratedRows, generate_rows

FIRST_DAY = dt.date(2026, 10, 5)  # a Monday
TIMEZONE = "America/New_York"


def days(start: dt.date, count: int) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range(count)]


@cache
def generated(
    count: int = 14, plants: frozenset[str] = frozenset(PLANTS), seed: int = 3, start: dt.date = FIRST_DAY,
    requests_per_day: int = 400,
) -> GeneratedRows:
    options = SeedOptions(slug="acme", requests_per_day=requests_per_day, seed=seed, plants=plants)
    return generate_rows(options, days(start, count), FIRST_DAY, TIMEZONE, load_rates())


def assert_same_rows(left: Columns, right: Columns) -> None:
    assert left.keys() == right.keys()
    for name in left:
        assert np.array_equal(left[name], right[name]), name


def test_same_options_give_identical_rows() -> None:
    first = generated.__wrapped__(count=3)
    again = generated.__wrapped__(count=3)
    assert_same_rows(first.rows, again.rows)


def test_another_seed_gives_other_rows() -> None:
    assert not np.array_equal(generated(count=2).rows["started"][:50], generated(count=2, seed=4).rows["started"][:50])


def test_days_generated_apart_equal_days_generated_together() -> None:
    together = generated(count=6).rows
    first, rest = generated(count=3).rows, generated(count=3, start=FIRST_DAY + dt.timedelta(days=3)).rows
    assert_same_rows(together, {name: np.concatenate([first[name], rest[name]]) for name in together})


def test_switching_a_plant_off_leaves_the_other_rows_alone() -> None:
    with_loop = generated(count=4).rows
    without = generated(count=4, plants=frozenset(PLANTS) - {"runaway_loop"}).rows
    kept = (with_loop["mark"] & Mark.LOOP) == 0
    assert kept.sum() == len(without["model"]) < len(with_loop["model"])
    assert_same_rows({k: v[kept] for k, v in with_loop.items()}, without)


def test_weekdays_are_busier_than_weekends() -> None:
    rows = generated().rows
    per_day = np.bincount((rows["started"] - day_start_micros(FIRST_DAY)) // MICROS_PER_DAY)
    weekdays = [n for i, n in enumerate(per_day) if (FIRST_DAY + dt.timedelta(days=i)).weekday() < 5]
    weekends = [n for i, n in enumerate(per_day) if (FIRST_DAY + dt.timedelta(days=i)).weekday() >= 5]
    assert np.mean(weekdays) > 1.8 * np.mean(weekends)


def test_daytime_traffic_follows_the_local_working_day() -> None:
    rows = generated().rows
    daytime = rows["origin"] != PROJECT_INDEX[NIGHTLY]
    hours = local_hours(rows["started"][daytime])
    per_hour = np.bincount(hours, minlength=24)
    assert per_hour[10] > 5 * per_hour[3]
    assert per_hour[14] > 5 * per_hour[23]


def test_token_counts_are_heavy_tailed() -> None:
    rows = generated().rows
    ok = rows["status"] == 200
    prompt = (rows["input_tokens"] + rows["cache_read_tokens"] + rows["cache_write_tokens"])[ok]
    assert 300 < np.median(prompt) < 20_000
    assert np.percentile(prompt, 99) > 8 * np.median(prompt)
    output = rows["output_tokens"][ok]
    assert 10 < np.median(output) < 3_000
    assert output.max() > 5_000


def test_output_respects_max_tokens_and_includes_reasoning() -> None:
    rows = generated().rows
    capped = rows["max_tokens"] > 0
    assert (rows["output_tokens"][capped] <= rows["max_tokens"][capped]).all()
    assert (rows["reasoning_tokens"] <= rows["output_tokens"]).all()
    assert (rows["reasoning_tokens"] > 0).mean() > 0.1


def test_reasoning_only_on_models_that_reason() -> None:
    g = generated()
    share = g.plan.models.facts.reasoning_share[g.rows["model"]]
    assert (g.rows["reasoning_tokens"][share == 0] == 0).all()


def test_cache_tokens_only_where_the_model_caches_a_long_enough_prompt() -> None:
    g = generated()
    rows, facts = g.rows, g.plan.models.facts
    cached = (rows["cache_read_tokens"] + rows["cache_write_tokens"]) > 0
    prompt = rows["input_tokens"] + rows["cache_read_tokens"] + rows["cache_write_tokens"]
    minimum = facts.min_cacheable[rows["model"]]
    assert cached.mean() > 0.15
    assert (minimum[cached] > 0).all()
    assert (prompt[cached] >= minimum[cached]).all()
    writes = rows["cache_write_tokens"] > 0
    assert writes.any()
    assert (np.array(facts.providers)[rows["model"][writes]] == "anthropic").all()


def test_errors_have_no_output_and_no_cost() -> None:
    rows = generated().rows
    errors = rows["status"] != 200
    assert 0.005 < errors.mean() < 0.04
    assert set(np.unique(rows["status"][errors])) <= {429, 500, 529}
    assert (rows["output_tokens"][errors] == 0).all()
    assert (rows["cost_nanos"][errors] == 0).all()
    assert (rows["cost_nanos"][~errors] > 0).all()


def test_overloaded_status_only_from_anthropic() -> None:
    g = generated()
    overloaded = g.rows["status"] == 529
    assert overloaded.any()
    assert (np.array(g.plan.models.facts.providers)[g.rows["model"][overloaded]] == "anthropic").all()


def test_service_tier_is_mostly_standard() -> None:
    tier = generated().rows["tier"]
    assert (tier == 0).mean() > 0.95


def test_all_four_providers_are_used() -> None:
    g = generated()
    assert set(np.array(g.plan.models.facts.providers)[np.unique(g.rows["model"])]) == {
        "anthropic", "openai", "gemini", "xai"}


def test_costs_come_from_the_price_table() -> None:
    g = generated(count=2)
    table = load_rates()
    versions = {table.version_at(FIRST_DAY), g.plan.models.price_change.stale_version}  # type: ignore[union-attr]
    assert set(g.rows["rates_version"]) <= versions
    assert g.rows["cost_nanos"].dtype == np.int64


def test_most_rows_sync_within_minutes_and_a_few_arrive_late() -> None:
    rows = generated().rows
    lag = rows["synced"] - rows["started"]
    assert (lag > 0).all()
    assert np.median(lag) < 2 * 60 * MICROS_PER_SECOND
    late = (lag > MICROS_PER_HOUR).mean()
    assert 0.005 < late < 0.06


def test_no_row_syncs_more_than_a_day_after_the_seeded_range() -> None:
    count = 5
    rows = generated(count=count).rows
    end = day_start_micros(FIRST_DAY + dt.timedelta(days=count))
    assert rows["synced"].max() <= end + MICROS_PER_DAY


def test_natural_prompt_repeats_are_rare() -> None:
    rows = generated(plants=frozenset()).rows
    hashes = rows["prompt_hash"][rows["prompt_hash"] != None]  # noqa: E711 - elementwise on objects
    repeated = 1 - len(set(hashes)) / len(hashes)
    assert 0 < repeated < 0.03
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes[:100])


def test_a_daemon_with_hashing_off_sends_no_prompt_hash() -> None:
    rows = generated().rows
    no_hashing = np.array([not d.hashing for d in DEVICES])[rows["device"]]
    assert no_hashing.any()
    assert all(h is None for h in rows["prompt_hash"][no_hashing])
    assert all(h is not None for h in rows["prompt_hash"][~no_hashing])


def test_request_ids_look_like_each_providers() -> None:
    g = generated(count=2)
    providers = np.array(g.plan.models.facts.providers)[g.rows["model"]]
    ids = g.rows["provider_request_id"]
    ok = g.rows["status"] == 200
    assert all(i.startswith("msg_01") for i in ids[ok & (providers == "anthropic")])
    assert all(i.startswith("chatcmpl-") for i in ids[ok & (providers == "openai")])
    assert all(len(i) == 36 and i[14] == "4" for i in ids[ok & (providers == "xai")])
    assert all(i is None for i in ids[~ok])


def test_paused_devices_send_nothing() -> None:
    paused = [i for i, d in enumerate(DEVICES) if d.status == "PAUSED"]
    assert paused
    assert not np.isin(generated().rows["device"], paused).any()


@pytest.mark.parametrize("plant", ["unattributed"])
def test_without_the_plant_every_row_is_attributed(plant: str) -> None:
    rows = generated(plants=frozenset(PLANTS) - {plant}).rows
    assert (rows["project"] >= 0).all()
    assert (rows["attribution"] >= 0).all()


def local_hours(micros: np.ndarray) -> np.ndarray:
    stamps = pd.to_datetime(micros, unit="us", utc=True).tz_convert(TIMEZONE)
    return np.asarray(stamps.hour)
