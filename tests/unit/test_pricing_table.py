"""The price table: versions, dates, aliases, exact rates, and what the loader refuses."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from pricing import RatesError, RateTable, load_rates
from pricing.entries import merge_patch, pico_to_usd_per_mtok, usd_per_mtok_to_pico


def _doc() -> dict[str, Any]:
    return {
        "aliases": {"m-2025": "m"},
        "versions": [
            {"id": "v1", "effective": "2025-01-01", "source": "test",
             "models": {
                 "m": {"provider": "openai", "rates": {"standard": {"input": "3", "output": "15"}},
                       "cheaper_sibling": "small"},
                 "small": {"provider": "openai", "rates": {"standard": {"input": "1", "output": "5"}}},
             }},
            {"id": "v2", "effective": "2025-06-01", "source": "test",
             "models": {"m": {"rates": {"standard": {"input": "2"}}}, "small": None}},
        ],
    }


# -- exact rates

@pytest.mark.parametrize(("text", "pico"), [("3", 3_000_000), ("0.075", 75_000), ("0.0375", 37_500),
                                            ("0.000001", 1), ("600", 600_000_000), ("0", 0)])
def test_usd_per_million_strings_convert_to_exact_pico_per_token(text: str, pico: int) -> None:
    assert usd_per_mtok_to_pico(text) == pico
    assert usd_per_mtok_to_pico(pico_to_usd_per_mtok(pico)) == pico


@pytest.mark.parametrize("bad", ["0.0000005", "-1", "abc", "NaN", "Infinity"])
def test_rates_that_are_not_whole_non_negative_pico_are_refused(bad: str) -> None:
    with pytest.raises(RatesError):
        usd_per_mtok_to_pico(bad)


def test_a_float_rate_in_the_file_is_refused() -> None:
    doc = _doc()
    doc["versions"][0]["models"]["m"]["rates"]["standard"]["input"] = 3.0
    with pytest.raises(RatesError, match="decimal string"):
        RateTable(doc)


def test_a_missing_output_rate_is_refused() -> None:
    doc = _doc()
    del doc["versions"][0]["models"]["m"]["rates"]["standard"]["output"]
    with pytest.raises(RatesError, match="missing output"):
        RateTable(doc)


def test_versions_must_have_increasing_dates() -> None:
    doc = _doc()
    doc["versions"][1]["effective"] = "2025-01-01"
    with pytest.raises(RatesError, match="not after"):
        RateTable(doc)


def test_a_model_without_cache_prices_bills_cached_tokens_like_its_input_never_as_free() -> None:
    # Only a kind that the standard tier (the base) leaves out falls back, in every tier, to that
    # tier's own input rate: the model has no cache price at all.
    doc = _doc()
    doc["versions"][0]["models"]["small"]["rates"]["batch"] = {"input": "0.5", "output": "2.5"}
    info = RateTable(doc).model_info("small", at=date(2025, 1, 1))
    assert info is not None
    std, batch = info.rates["standard"], info.rates["batch"]
    assert std.cache_read == std.cache_write == std.cache_write_1h == std.input == 1_000_000
    assert batch.cache_read == batch.cache_write == batch.input == 500_000


@pytest.mark.parametrize(("tiers", "long_context", "gap"), [
    # a batch tier without the cache price the standard tier has: it would bill cache reads at the
    # batch input price (gemini-pro-latest: $1/M instead of $0.20/M)
    ({"batch": {"input": "1", "output": "6"}}, None, "rates.batch leaves out cache_read"),
    ({"flex": {"input": "1", "output": "6"}}, None, "rates.flex leaves out cache_read"),
    ({"priority": {"input": "4", "cache_write": "5", "output": "24"}}, None, "rates.priority leaves out cache_read"),
    # a long-context tier without the cache price below the threshold has (grok-4: $6/M instead of $1.50/M)
    ({}, {"threshold": 128000, "rates": {"standard": {"input": "6", "output": "30"}}},
     "long_context.rates.standard leaves out cache_read"),
])
def test_a_tier_that_leaves_out_a_price_its_base_tier_has_is_refused(
        tiers: dict[str, Any], long_context: dict[str, Any] | None, gap: str) -> None:
    doc = _doc()
    entry = doc["versions"][0]["models"]["m"]
    entry["rates"]["standard"].update({"cache_read": "0.75", "cache_write": "3.75"})
    entry["rates"].update(tiers)
    if long_context is not None:
        entry["long_context"] = long_context
    with pytest.raises(RatesError, match=gap):
        RateTable(doc)


def test_a_tier_that_lists_the_prices_of_its_base_tier_loads() -> None:
    doc = _doc()
    entry = doc["versions"][0]["models"]["m"]
    entry["rates"]["standard"]["cache_read"] = "0.75"
    entry["rates"]["batch"] = {"input": "1.5", "cache_read": "0.375", "output": "7.5"}
    entry["long_context"] = {"threshold": 128000, "rates": {"standard": {"input": "6", "cache_read": "1.5",
                                                                          "output": "30"}}}
    info = RateTable(doc).model_info("m", at=date(2025, 1, 1))
    assert info is not None
    assert (info.rates["batch"].cache_read, info.long_context["standard"].cache_read) == (375_000, 1_500_000)


# -- versions are folded as merge patches

def test_a_later_version_patches_only_what_it_names() -> None:
    table = RateTable(_doc())
    before, after = table.model_info("m", at=date(2025, 5, 31)), table.model_info("m", at=date(2025, 6, 1))
    assert before is not None and after is not None
    assert (before.rates["standard"].input, after.rates["standard"].input) == (3_000_000, 2_000_000)
    assert after.rates["standard"].output == 15_000_000  # untouched by the patch
    assert (before.version, after.version) == ("v1", "v2")


def test_null_in_a_version_removes_a_model_from_that_date_on() -> None:
    table = RateTable(_doc())
    assert table.models(at=date(2025, 1, 2)) == ["m", "small"]
    assert table.models(at=date(2025, 6, 2)) == ["m"]
    assert table.model_info("small", at=date(2025, 7, 1)) is None


def test_models_in_version_lists_a_version_as_written() -> None:
    table = RateTable(_doc())
    assert sorted(table.models_in_version("v1")) == ["m", "small"]
    assert sorted(table.models_in_version("v2")) == ["m"]
    with pytest.raises(KeyError):
        table.models_in_version("v9")


def test_merge_patch_follows_rfc_7396() -> None:
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {"a": {"c": 2, "d": 3}}
    assert merge_patch({"a": 1}, {"a": [1, 2]}) == {"a": [1, 2]}


def test_version_at_uses_the_utc_date_of_a_moment() -> None:
    table = RateTable(_doc())
    assert table.version_at(date(2025, 5, 31)) == "v1"
    assert table.version_at(datetime(2025, 6, 1, 0, 0)) == "v2"  # naive: UTC
    late_evening_new_york = datetime(2025, 5, 31, 21, 0, tzinfo=timezone(timedelta(hours=-5)))  # 02:00 UTC
    assert table.version_at(late_evening_new_york) == "v2"
    assert table.version_at(date(2020, 1, 1)) == "v1"  # before the first version: earliest rates
    assert table.latest_version == "v2"


# -- identity

@pytest.mark.parametrize(("given", "canonical"), [
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ("gemini/gemini-2.5-pro", "gemini-2.5-pro"),
    ("models/gemini-2.5-flash", "gemini-2.5-flash"),
    ("xai/grok-4", "grok-4"),
    ("xai/grok-4-0709", "grok-4"),
    ("claude-opus-4-1", "claude-opus-4-1"),
    ("claude-sonnet-4-0", "claude-sonnet-4"),
    ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),  # a snapshot priced differently stays its own model
    ("ft:gpt-4o-mini-2024-07-18:acme:support:9xYz", "ft:gpt-4o-mini-2024-07-18"),
    ("GPT-5", "gpt-5"),
])
def test_dated_prefixed_and_aliased_ids_resolve_to_one_canonical_id(given: str, canonical: str) -> None:
    assert load_rates().canonical(given) == canonical


@pytest.mark.parametrize("unknown", ["", "gpt-99", "claude", "models/", "anthropic.claude-v2"])
def test_unknown_ids_resolve_to_none(unknown: str) -> None:
    assert load_rates().canonical(unknown) is None


def test_model_info_gives_the_checks_what_they_need() -> None:
    info = load_rates().model_info("claude-sonnet-4-6")
    assert info is not None
    assert (info.provider, info.family, info.tier) == ("anthropic", "claude-sonnet", "medium")
    assert info.cheaper_sibling == "claude-haiku-4-5"
    assert info.successor is not None and load_rates().model_info(info.successor) is not None
    assert info.context_window == 1_000_000 and info.min_cacheable_tokens == 1024
    assert info.service_tiers == ("standard", "batch")


def test_models_lists_canonical_ids_per_provider() -> None:
    table = load_rates()
    for provider in ("anthropic", "openai", "gemini", "xai"):
        ids = table.models(provider)
        assert ids and all(table.canonical(m) == m for m in ids)
        assert all(table.model_info(m).provider == provider for m in ids)  # type: ignore[union-attr]


def test_the_default_table_is_loaded_once_and_another_file_on_request(tmp_path: Any) -> None:
    assert load_rates() is load_rates()
    path = tmp_path / "rates.json"
    import json

    path.write_text(json.dumps(_doc()))
    other = load_rates(path)
    assert other is not load_rates() and other.latest_version == "v2"


def test_the_shipped_table_records_at_least_two_real_price_changes() -> None:
    table = load_rates()
    ids = [v.id for v in table.versions]
    assert {"2025-06-10", "2026-03-13", "2026-08-21"} <= set(ids)
    for v in table.versions:
        assert v.source, v.id  # every version says where its prices come from
    cut = table.version_info("2025-06-10")
    assert cut.effective == date(2025, 6, 10) and cut.note is not None and "o3" in cut.note


def test_table_is_not_mutated_by_reading_it() -> None:
    doc = _doc()
    snapshot = copy.deepcopy(doc)
    RateTable(doc)
    assert doc == snapshot


def test_a_superseded_model_leads_through_its_successors_to_the_current_one() -> None:
    doc = _doc()
    models = doc["versions"][0]["models"]
    models["m"]["successor"] = "m2"
    models["m2"] = {"provider": "openai", "rates": {"standard": {"input": "2", "output": "10"}}, "successor": "m3"}
    models["m3"] = {"provider": "openai", "rates": {"standard": {"input": "2", "output": "8"}}, "successor": "other"}
    models["other"] = {"provider": "anthropic", "rates": {"standard": {"input": "1", "output": "1"}}}
    table = RateTable(doc)
    at = date(2025, 3, 1)
    assert [m.model for m in table.successors("m", at)] == ["m2", "m3"]  # not across providers
    assert table.current_model("m", at).model == "m3"  # type: ignore[union-attr]
    assert table.current_model("m3", at).model == "m3"  # type: ignore[union-attr]
    assert table.successors("small", at) == [] and table.current_model("nope", at) is None


def test_a_loop_of_successors_ends_before_it_repeats() -> None:
    doc = _doc()
    models = doc["versions"][0]["models"]
    models["m"]["successor"] = "small"
    models["small"]["successor"] = "m"
    table = RateTable(doc)
    assert [m.model for m in table.successors("m", date(2025, 3, 1))] == ["small"]


# -- provider facts


def test_the_shipped_table_says_which_provider_caches_on_request_and_for_how_long() -> None:
    table = load_rates()
    anthropic = table.provider("anthropic")
    assert anthropic.explicit_cache and anthropic.min_cacheable_tokens == 1024
    assert [(life.label, life.seconds, life.write) for life in anthropic.cache_lifetimes] == [
        ("5m", 300, "cache_write"), ("1h", 3600, "cache_write_1h")]
    assert not any(table.provider(p).explicit_cache for p in ("openai", "gemini", "xai"))
    assert table.cache_lifetimes() == {"anthropic": 300, "openai": 300, "gemini": 300, "xai": 300}
    assert table.cache_lifetimes(extended=True) == {"anthropic": 3600, "openai": 86400, "gemini": 3600, "xai": 300}
    assert [life.label for life in table.provider("xai").cache_lifetimes] == ["5m"]  # nothing longer to ask for


def test_a_provider_without_facts_has_no_cache_to_turn_on_and_no_lifetime() -> None:
    facts = RateTable(_doc()).provider("openai")
    assert facts.prompt_cache is None and not facts.explicit_cache and facts.cache_lifetime_seconds == 0
    assert RateTable(_doc()).cache_lifetimes() == {}


@pytest.mark.parametrize(("facts", "message"), [
    ({"prompt_cache": "explicit", "cache_lifetime_seconds": 300}, "min_cacheable_tokens: required"),
    ({"prompt_cache": "automatic"}, "cache_lifetime_seconds: required"),
    ({"prompt_cache": "automatic", "cache_lifetime_seconds": 300.0}, "expected a positive integer"),
    ({"prompt_cache": "automatic", "cache_lifetime_seconds": 300, "extended_cache_lifetime_seconds": 60},
     "shorter than the default lifetime"),
    ({"prompt_cache": "on", "cache_lifetime_seconds": 300}, "'explicit' or 'automatic'"),
    ({"prompt_cache": "automatic", "cache_lifetime_seconds": 300, "ttl": 5}, r"unknown field\(s\) \['ttl'\]"),
])
def test_malformed_provider_facts_are_refused(facts: dict[str, Any], message: str) -> None:
    with pytest.raises(RatesError, match=message):
        RateTable({**_doc(), "providers": {"openai": facts}})
    with pytest.raises(RatesError, match="unknown provider"):
        RateTable({**_doc(), "providers": {"mistral": {"prompt_cache": "automatic", "cache_lifetime_seconds": 1}}})
