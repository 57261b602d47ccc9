"""The cost function: hand-computed requests from the providers' pricing pages, exact to the nano.

Each expected value is worked out in the comment above it, in USD per million tokens
(tokens x $/M = micro-dollars; x 1000 = nanos).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pricing import UNPRICED_VERSION, load_rates, price_one, price_requests
from pricing.table import DEFAULT_RATES_PATH, SERVICE_TIERS, RateTable
from tests.unit.raw_rates import fold_versions


@pytest.fixture(scope="module")
def table() -> RateTable:
    return load_rates()


def _batch(table: RateTable, rows: list[dict[str, Any]], **kwargs: Any) -> Any:
    def col(name: str) -> np.ndarray:
        return np.array([r.get(name, 0) for r in rows], dtype=np.int64)

    started = [r.get("started_at") for r in rows]
    return price_requests(
        table,
        model=np.array([r["model"] for r in rows], dtype=object),
        service_tier=np.array([r.get("tier", "standard") for r in rows], dtype=object),
        input_tokens=col("input"),
        cache_read_tokens=col("cache_read"),
        cache_write_tokens=col("cache_write"),
        output_tokens=col("output"),
        cache_write_1h_tokens=col("cache_write_1h"),
        started_at=None if all(s is None for s in started) else np.array(started, dtype="datetime64[ns]"),
        **kwargs,
    )


# -- one request per provider (pricing pages: platform.claude.com/docs/en/about-claude/pricing,
#    developers.openai.com/api/docs/pricing, ai.google.dev/gemini-api/docs/pricing, docs.x.ai/docs/models)

def test_anthropic_request_with_both_cache_write_durations(table: RateTable) -> None:
    # claude-sonnet-4-6: $3 in, $0.30 cache hit, $3.75 5m write, $6 1h write, $15 out
    # 2000*3 + 10000*0.3 + 1000*3.75 + 500*6 + 800*15 = 6000+3000+3750+3000+12000 = 27750 u$
    r = price_one(table, "claude-sonnet-4-6", input=2000, cache_read=10_000, cache_write=1000,
                  cache_write_1h=500, output=800)
    assert r.priced and r.cost_nanos == 27_750_000
    assert r.rates_version == table.latest_version


def test_openai_request_with_cached_input(table: RateTable) -> None:
    # gpt-5 (dated id): $1.25 in, $0.125 cached, $10 out
    # 12345*1.25 + 6000*0.125 + 987*10 = 15431.25 + 750 + 9870 = 26051.25 u$
    r = price_one(table, "gpt-5-2025-08-07", input=12_345, cache_read=6000, output=987)
    assert (r.model, r.cost_nanos) == ("gpt-5", 26_051_250)


def test_gemini_request_through_a_routing_prefix(table: RateTable) -> None:
    # gemini-2.5-flash: $0.30 in, $0.03 cached, $2.50 out (thinking included)
    # 100000*0.3 + 50000*0.03 + 20000*2.5 = 30000 + 1500 + 50000 = 81500 u$
    r = price_one(table, "models/gemini-2.5-flash", input=100_000, cache_read=50_000, output=20_000)
    assert (r.model, r.cost_nanos) == ("gemini-2.5-flash", 81_500_000)


def test_xai_request_on_a_model_litellm_no_longer_lists(table: RateTable) -> None:
    # grok-4 (reported as grok-4-0709): $3 in, $0.75 cached, $15 out
    # 10000*3 + 5000*0.75 + 2000*15 = 30000 + 3750 + 30000 = 63750 u$
    r = price_one(table, "grok-4-0709", input=10_000, cache_read=5000, output=2000)
    assert (r.model, r.cost_nanos) == ("grok-4", 63_750_000)


# -- long context: the whole request moves to the tier once the prompt crosses the threshold

def test_long_context_prompt_bills_every_token_kind_at_the_long_context_rates(table: RateTable) -> None:
    # gemini-2.5-pro, prompt 180000 + 30000 cached = 210000 > 200000:
    # $2.50 in, $0.25 cached, $15 out: 180000*2.5 + 30000*0.25 + 4000*15 = 450000+7500+60000 = 517500 u$
    r = price_one(table, "gemini/gemini-2.5-pro", input=180_000, cache_read=30_000, output=4000)
    assert r.cost_nanos == 517_500_000


def test_prompt_exactly_at_the_threshold_stays_at_standard_rates(table: RateTable) -> None:
    # 170000 + 30000 = 200000, not above: 170000*1.25 + 30000*0.125 + 4000*10 = 212500+3750+40000 u$
    r = price_one(table, "gemini-2.5-pro", input=170_000, cache_read=30_000, output=4000)
    assert r.cost_nanos == 256_250_000


def test_cache_writes_count_towards_the_long_context_threshold(table: RateTable) -> None:
    # claude-sonnet-4-5 before 2026-11-26: 150000 in + 60000 written = 210000 > 200000
    # long context $6 in, $7.50 5m write, $22.50 out: 150000*6 + 60000*7.5 + 1000*22.5 = 1372500 u$
    r = price_one(table, "claude-sonnet-4-5-20250929", input=150_000, cache_write=60_000, output=1000,
                  at=date(2026, 1, 15))
    assert r.cost_nanos == 1_372_500_000


def test_grok_4_long_context_bills_cached_input_at_the_long_context_cache_price(table: RateTable) -> None:
    # grok-4 (docs.x.ai/docs/models: $3 in, $0.75 cached, $15 out; above 128k $6 / $30), prompt
    # 100000 + 50000 cached = 150000 > 128000: the whole request at the long-context rates, cached
    # input at $1.50 (0.75 x 6/3, as xAI bills grok-4.20: $0.20 -> $0.40 with $1.25 -> $2.50):
    # 100000*6 + 50000*1.5 + 2000*30 = 600000 + 75000 + 60000 = 735000 u$ (not 960000: cached at $6)
    r = price_one(table, "xai/grok-4", input=100_000, cache_read=50_000, output=2000)
    assert (r.model, r.cost_nanos) == ("grok-4", 735_000_000)


def test_grok_4_fast_long_context_cached_input(table: RateTable) -> None:
    # grok-4-fast-reasoning: $0.20 / $0.05 cached / $0.50; above 128k $0.40 / $0.10 cached / $1
    # 200000*0.4 + 100000*0.1 + 1000*1 = 80000 + 10000 + 1000 = 91000 u$ (not 121000: cached at $0.40)
    r = price_one(table, "grok-4-fast-reasoning", input=200_000, cache_read=100_000, output=1000)
    assert r.cost_nanos == 91_000_000


# -- batch: the discount applies to cache tokens too

def test_batch_request_discounts_cache_reads_and_writes(table: RateTable) -> None:
    # claude-haiku-4-5 batch: $0.50 in, $0.05 cache hit, $0.625 5m write, $2.50 out (all 50%)
    # 40000*0.5 + 200000*0.05 + 10000*0.625 + 3000*2.5 = 20000 + 10000 + 6250 + 7500 = 43750 u$
    r = price_one(table, "claude-haiku-4-5-20251001", input=40_000, cache_read=200_000, cache_write=10_000,
                  output=3000, tier="batch")
    assert r.cost_nanos == 43_750_000


def test_gemini_pro_latest_batch_bills_cache_reads_at_the_cache_price(table: RateTable) -> None:
    # gemini-pro-latest (2026-11-26): batch $1 in, $6 out (50% of $2 / $12); context-cache reads in
    # Batch Mode at the cache price, $0.20 (ai.google.dev/gemini-api/docs/pricing):
    # 10000*1 + 100000*0.2 + 2000*6 = 10000 + 20000 + 12000 = 42000 u$ (not 122000: cached at $1)
    r = price_one(table, "gemini/gemini-pro-latest", input=10_000, cache_read=100_000, output=2000, tier="batch")
    assert (r.model, r.cost_nanos) == ("gemini-pro-latest", 42_000_000)


@pytest.mark.parametrize(("model", "nanos"), [
    # batch $0.375 in, $0.075 cached, $1.875 out: 10000*0.375 + 100000*0.075 + 2000*1.875 = 3750+7500+3750
    ("gemini-flash-latest", 15_000_000),
    # batch $0.15 in, $0.03 cached, $1.25 out: 1500 + 3000 + 2500
    ("gemini-flash-lite-latest", 7_000_000),
])
def test_gemini_latest_batch_cache_reads(table: RateTable, model: str, nanos: int) -> None:
    assert price_one(table, model, input=10_000, cache_read=100_000, output=2000, tier="batch").cost_nanos == nanos


def test_openai_batch_halves_cached_input(table: RateTable) -> None:
    # o3 batch: $1 in, $0.25 cached, $4 out: 1000*1 + 2000*0.25 + 100*4 = 1000 + 500 + 400 = 1900 u$
    assert price_one(table, "o3", input=1000, cache_read=2000, output=100, tier="batch").cost_nanos == 1_900_000


# -- a price change: the day before and the day after

@pytest.mark.parametrize(("started_at", "version", "nanos"), [
    # o3 until 2025-06-09: $10 in, $2.50 cached, $40 out: 1000*10 + 200*2.5 + 500*40 = 30500 u$
    ("2025-06-09T23:59:59.999999", "2025-01-01", 30_500_000),
    # from 2025-06-10 00:00 UTC: $2, $0.50, $8: 2000 + 100 + 4000 = 6100 u$
    ("2025-06-10T00:00:00", "2025-06-10", 6_100_000),
])
def test_o3_priced_the_day_before_and_the_day_after_the_june_2025_cut(
        table: RateTable, started_at: str, version: str, nanos: int) -> None:
    b = _batch(table, [{"model": "o3-2025-04-16", "input": 1000, "cache_read": 200, "output": 500,
                        "started_at": started_at}])
    assert (b.cost_nanos[0], b.rates_version[0]) == (nanos, version)


def test_sonnet_4_6_long_context_premium_ends_on_2026_03_13(table: RateTable) -> None:
    # 300000 in, 1000 out. 2026-03-12: long context $6/$22.50 = 1800000 + 22500 = 1822500 u$
    # 2026-03-13: flat $3/$15 = 900000 + 15000 = 915000 u$
    rows = [{"model": "claude-sonnet-4-6", "input": 300_000, "output": 1000, "started_at": s}
            for s in ("2026-03-12T12:00", "2026-03-13T12:00")]
    b = _batch(table, rows)
    assert b.cost_nanos.tolist() == [1_822_500_000, 915_000_000]
    assert b.rates_version.tolist() == ["2025-06-10", "2026-03-13"]


def test_gpt_5_6_sol_cut_of_2026_08_21(table: RateTable) -> None:
    # before: $5 in / $30 out: 10000*5 + 1000*30 = 80000 u$; after: $4 / $20 = 40000 + 20000 = 60000 u$
    before = price_one(table, "gpt-5.6-sol", input=10_000, output=1000, at=date(2026, 8, 20))
    after = price_one(table, "gpt-5.6-sol", input=10_000, output=1000, at=date(2026, 8, 21))
    assert (before.cost_nanos, before.rates_version) == (80_000_000, "2026-07-09")
    assert (after.cost_nanos, after.rates_version) == (60_000_000, "2026-08-21")


def test_gpt_5_6_is_gpt_5_6_sol_and_priced_at_its_launch_price_before_the_cut(table: RateTable) -> None:
    # litellm prices gpt-5.6 and gpt-5.6-sol identically: one model. Before the 2026-08-21 cut both
    # ids cost the launch price ($5 / $30: 10000*5 + 1000*30 = 80000 u$), not the cut one (60000 u$).
    before = price_one(table, "gpt-5.6", input=10_000, output=1000, at=date(2026, 8, 20))
    after = price_one(table, "gpt-5.6", input=10_000, output=1000, at=date(2026, 11, 26))
    assert (before.model, before.cost_nanos, before.rates_version) == ("gpt-5.6-sol", 80_000_000, "2026-07-09")
    assert (after.model, after.cost_nanos) == ("gpt-5.6-sol", 60_000_000)


# -- rounding, reasoning, units

def test_sub_nano_costs_round_half_up(table: RateTable) -> None:
    # gemini-2.0-flash-lite cached input $0.01875/M = 18.75 nanos a token
    assert price_one(table, "gemini-2.0-flash-lite", cache_read=1).cost_nanos == 19  # 18.75
    assert price_one(table, "gemini-2.0-flash-lite", cache_read=2).cost_nanos == 38  # 37.5, half up
    assert price_one(table, "gemini-2.0-flash-lite", cache_read=4).cost_nanos == 75  # exact


def test_reasoning_tokens_inside_output_are_billed_once_at_the_output_rate(table: RateTable) -> None:
    # o3: 300 visible + 1700 reasoning = output_tokens 2000 at $8 = 16000 u$; no separate reasoning charge
    assert price_one(table, "o3", output=2000).cost_nanos == 16_000_000


def test_zero_tokens_cost_zero_and_are_priced(table: RateTable) -> None:
    r = price_one(table, "gpt-5")
    assert r.priced and r.cost_nanos == 0


# -- unpriced is explicit

def test_unknown_model_is_unpriced_not_zero_and_does_not_raise(table: RateTable) -> None:
    r = price_one(table, "gpt-99-ultra", input=1000, output=1000)
    assert (r.priced, r.cost_nanos, r.rates_version) == (False, None, UNPRICED_VERSION)
    assert r.reason is not None and "gpt-99-ultra" in r.reason


def test_mixed_batch_prices_known_rows_and_flags_unknown_ones(table: RateTable) -> None:
    rows = [
        {"model": "claude-sonnet-4-6", "input": 1000, "output": 100},   # 3000 + 1500 = 4500 u$
        {"model": "mystery-model", "input": 1000, "output": 100},
        {"model": "claude-sonnet-4-6", "input": 1000, "output": 100, "tier": "flex"},  # Anthropic: no flex
        {"model": "gpt-5.4", "input": 300_000, "output": 10, "tier": "priority"},  # no >272k priority rate
        {"model": "gpt-5.4", "input": 300_000, "output": 10, "tier": "batch"},  # 300000*2.5 + 10*11.25
    ]
    b = _batch(table, rows)
    assert b.priced.tolist() == [True, False, False, False, True]
    assert b.cost_nanos.tolist() == [4_500_000, 0, 0, 0, 750_112_500]
    assert b.rates_version.tolist()[1:4] == [UNPRICED_VERSION] * 3
    assert b.canonical_model.tolist() == ["claude-sonnet-4-6", None, "claude-sonnet-4-6", "gpt-5.4", "gpt-5.4"]
    reasons = b.reasons().tolist()
    assert reasons[0] is None and reasons[4] is None
    assert "unknown model 'mystery-model'" in reasons[1]
    assert "does not offer the 'flex' tier" in reasons[2]
    assert "no long-context rate for the 'priority' tier" in reasons[3]


def test_missing_model_or_tier_values_are_unpriced(table: RateTable) -> None:
    b = price_requests(table, model=np.array([None, "gpt-5"], dtype=object),
                       service_tier=np.array(["standard", None], dtype=object),
                       input_tokens=np.array([1, 1]), cache_read_tokens=np.array([0, 0]),
                       cache_write_tokens=np.array([0, 0]), output_tokens=np.array([0, 0]))
    assert b.priced.tolist() == [False, False]
    assert b.reasons()[1] == "unknown service tier None"


def test_openai_default_tier_spelling_is_standard(table: RateTable) -> None:
    assert price_one(table, "gpt-5", input=1000, tier="default").cost_nanos == 1_250_000


def test_row_without_started_at_is_unpriced_but_keeps_its_model(table: RateTable) -> None:
    b = _batch(table, [{"model": "gpt-5", "input": 10, "started_at": "NaT"},
                       {"model": "gpt-5", "input": 10, "started_at": "2026-01-01"}])
    assert b.priced.tolist() == [False, True]
    assert b.canonical_model.tolist() == ["gpt-5", "gpt-5"]
    assert b.reasons()[0] == "started_at is missing"


# -- what-if and as-of

def test_as_model_prices_the_same_tokens_on_another_model(table: RateTable) -> None:
    rows = [{"model": "claude-sonnet-4-6", "input": 10_000, "output": 1000},
            {"model": "unknown-thing", "input": 10_000, "output": 1000}]
    b = _batch(table, rows, as_model="claude-haiku-4-5")
    # haiku 4.5: 10000*1 + 1000*5 = 15000 u$ for both rows, whatever they ran on
    assert b.cost_nanos.tolist() == [15_000_000, 15_000_000]
    assert b.canonical_model.tolist() == ["claude-haiku-4-5"] * 2


def test_at_overrides_started_at_for_every_row(table: RateTable) -> None:
    rows = [{"model": "o3", "input": 1000, "started_at": "2025-05-01"},
            {"model": "o3", "input": 1000, "started_at": "2026-05-01"}]
    b = _batch(table, rows, at=date(2025, 5, 1))
    assert b.cost_nanos.tolist() == [10_000_000, 10_000_000]
    assert set(b.rates_version.tolist()) == {"2025-01-01"}


def test_timezone_aware_started_at_is_converted_to_utc(table: RateTable) -> None:
    # 2025-06-10 01:30 in Paris is 2025-06-09 23:30 UTC: still the old o3 price
    paris = pd.Series(pd.to_datetime(["2025-06-10 01:30"]).tz_localize("Europe/Paris"))
    b = price_requests(table, model=np.array(["o3"], dtype=object), service_tier="standard",
                       input_tokens=np.array([1000]), cache_read_tokens=np.array([0]),
                       cache_write_tokens=np.array([0]), output_tokens=np.array([0]), started_at=paris)
    assert b.rates_version[0] == "2025-01-01"


def test_model_added_to_the_table_later_is_priced_at_its_first_listed_rates(table: RateTable) -> None:
    # claude-opus-4-7 is first listed by the 2026-11-26 import; traffic from its launch on is priced
    r = price_one(table, "claude-opus-4-7", input=1000, at=date(2026, 5, 1))
    assert (r.priced, r.cost_nanos, r.rates_version) == (True, 5_000_000, "2026-11-26")


def test_rows_before_the_first_version_use_the_earliest_rates(table: RateTable) -> None:
    r = price_one(table, "gpt-4o", input=1000, at=date(2024, 6, 1))
    assert r.rates_version == "2025-01-01" and r.cost_nanos == 2_500_000


# -- input handling

def test_categorical_and_object_string_columns_price_identically(table: RateTable) -> None:
    models = ["gpt-5", "claude-sonnet-4-6", "nope", "gpt-5"]
    tiers = ["standard", "batch", "standard", "flex"]
    common: dict[str, Any] = dict(input_tokens=np.array([10, 20, 30, 40]), cache_read_tokens=np.zeros(4, np.int32),
                                  cache_write_tokens=np.zeros(4, np.int32), output_tokens=np.array([1, 2, 3, 4]))
    a = price_requests(table, model=np.array(models, dtype=object), service_tier=np.array(tiers, dtype=object),
                       **common)
    b = price_requests(table, model=pd.Categorical(models), service_tier=pd.Series(tiers, dtype="category"),
                       **common)
    assert a.cost_nanos.tolist() == b.cost_nanos.tolist()
    assert a.priced.tolist() == b.priced.tolist()


def test_negative_or_float_token_counts_are_rejected(table: RateTable) -> None:
    base: dict[str, Any] = dict(model=np.array(["gpt-5"], dtype=object), service_tier="standard",
                                cache_read_tokens=np.array([0]), cache_write_tokens=np.array([0]),
                                output_tokens=np.array([0]))
    with pytest.raises(ValueError, match="negative"):
        price_requests(table, input_tokens=np.array([-1]), **base)
    with pytest.raises(TypeError, match="integers"):
        price_requests(table, input_tokens=np.array([1.5]), **base)


def test_token_counts_that_could_overflow_int64_are_rejected(table: RateTable) -> None:
    # The bound comes from the dearest rate in the table; int32 token counts are always below it.
    assert table.max_tokens_per_kind > 2**31
    with pytest.raises(OverflowError):
        price_one(table, "gpt-5", input=table.max_tokens_per_kind + 1)


def test_total_beyond_int64_is_summed_exactly(table: RateTable) -> None:
    # o1-pro output $600/M: 2e9 tokens = $1.2M = 1.2e15 nanos a row; 8000 rows = 9.6e18 > int64 max
    b = _batch(table, [{"model": "o1-pro", "output": 2_000_000_000}] * 8000)
    assert int(b.cost_nanos[0]) == 1_200_000_000_000_000
    assert b.total_nanos == 8000 * 1_200_000_000_000_000


# -- the vectorised path agrees with a plain Decimal re-implementation of the billing rules
#
# The reference reads its prices from the raw rates.json (decimal strings of USD per million, the
# versions folded here as RFC 7396 merge patches), never from RateTable: a price the loader gets
# wrong (a missing cache price filled from the wrong rate) is not inherited. Only model identity
# (aliases, prefixes) comes from the table.

KINDS = ("input", "cache_read", "cache_write", "cache_write_1h", "output")


@lru_cache(maxsize=1)
def _raw_versions() -> tuple[tuple[date, dict[str, Any]], ...]:
    document = json.loads(DEFAULT_RATES_PATH.read_text(encoding="utf-8"))
    return tuple((effective, models) for _, effective, models in fold_versions(document))


def _raw_entry(model: str, when: date) -> dict[str, Any] | None:
    versions = _raw_versions()
    v = max([i for i, (eff, _) in enumerate(versions) if eff <= when] or [0])
    if model in versions[v][1]:
        entry: dict[str, Any] = versions[v][1][model]
        return entry
    later: list[dict[str, Any]] = [ms[model] for _, ms in versions[v + 1:] if model in ms]
    listed_before = any(model in ms for _, ms in versions[:v])
    return later[0] if later and not listed_before else None  # first listed rates, unless removed


def _usd_per_token(tier: dict[str, str], base: dict[str, str], kind: str) -> Decimal:
    """A tier's price of one kind; a kind the tier leaves out is one its base leaves out too (the
    standard tier has no base): such tokens are billed like the tier's input tokens."""
    if kind not in tier:
        assert kind not in base, f"{kind} left out of a tier although its base lists it"
        kind = "input"
    return Decimal(tier[kind]) / 10**6


def _reference_nanos(table: RateTable, model: str, tier: str, when: date, tokens: dict[str, int]) -> int | None:
    canonical = table.canonical(model)
    entry = None if canonical is None else _raw_entry(canonical, when)
    if entry is None or tier not in entry["rates"]:
        return None
    rates, base = entry["rates"][tier], entry["rates"]["standard"]
    prompt = tokens["input"] + tokens["cache_read"] + tokens["cache_write"] + tokens["cache_write_1h"]
    lc = entry.get("long_context")
    if lc is not None and prompt > lc["threshold"]:
        if tier not in lc["rates"]:
            return None
        rates, base = lc["rates"][tier], rates
    usd = sum((n * _usd_per_token(rates, base, kind) for kind, n in tokens.items()), Decimal(0))
    return int((usd * 10**9).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_vectorised_prices_match_a_decimal_reference_on_random_requests(table: RateTable) -> None:
    rng = random.Random(20261126)
    models = table.all_models()
    days = [date(2025, 3, 1), date(2025, 6, 10), date(2026, 3, 12), date(2026, 8, 30), date(2026, 11, 26)]
    rows: list[dict[str, Any]] = []
    for _ in range(3000):
        prompt_scale = rng.choice([10, 1000, 150_000, 400_000])
        rows.append({
            "model": rng.choice(models), "tier": rng.choice(SERVICE_TIERS),
            "input": rng.randrange(prompt_scale), "cache_read": rng.randrange(prompt_scale),
            "cache_write": rng.randrange(prompt_scale // 4 + 1), "cache_write_1h": rng.randrange(1000),
            "output": rng.randrange(50_000),
            "started_at": datetime.combine(rng.choice(days), datetime.min.time()).isoformat(),
        })
    b = _batch(table, rows)
    long_context = 0
    for i, r in enumerate(rows):
        tokens = {k: r[k] for k in ("input", "cache_read", "cache_write", "cache_write_1h", "output")}
        when = datetime.fromisoformat(r["started_at"]).replace(tzinfo=UTC)
        expected = _reference_nanos(table, r["model"], r["tier"], when.date(), tokens)
        assert bool(b.priced[i]) == (expected is not None), r
        assert int(b.cost_nanos[i]) == (expected or 0), r
        info = table.model_info(r["model"], at=when)
        threshold = info.long_context_threshold if info else None
        long_context += bool(expected is not None and threshold and sum(tokens.values()) - r["output"] > threshold)
    assert 0 < int((~b.priced).sum()) < len(rows)  # the sample mixes priced and unpriced rows
    assert long_context > 50


def test_every_long_context_and_discounted_tier_matches_the_decimal_reference(table: RateTable) -> None:
    # One request with every token kind per model, tier and date, below and above the threshold:
    # every price of every tier, long context included, is checked against the raw rates.json.
    days = [v.effective for v in table.versions]
    rows: list[dict[str, Any]] = []
    for model in table.all_models():
        for day in days:
            info = table.model_info(model, at=day)
            if info is None:
                continue
            for tier in info.service_tiers:
                for prompt in {1000, (info.long_context_threshold or 0) + 1000}:
                    rows.append({"model": model, "tier": tier, "input": prompt // 2, "cache_read": prompt // 4,
                                 "cache_write": prompt // 8, "cache_write_1h": prompt // 8, "output": 777,
                                 "started_at": day.isoformat()})
    b = _batch(table, rows)
    for i, r in enumerate(rows):
        tokens = {k: r[k] for k in KINDS}
        expected = _reference_nanos(table, r["model"], r["tier"], date.fromisoformat(r["started_at"]), tokens)
        assert (bool(b.priced[i]), int(b.cost_nanos[i])) == (expected is not None, expected or 0), r
