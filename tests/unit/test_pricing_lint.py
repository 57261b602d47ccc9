"""`rates check`: every rule fires on a broken file, and the shipped file passes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pricing import load_rates
from pricing.lint import check_document, check_file, errors, missing_rates
from pricing.table import DEFAULT_RATES_PATH


def _doc() -> dict[str, Any]:
    return {
        "providers": {"anthropic": {"prompt_cache": "explicit", "cache_lifetime_seconds": 300,
                                    "extended_cache_lifetime_seconds": 3600, "min_cacheable_tokens": 1024},
                      **{p: {"prompt_cache": "automatic", "cache_lifetime_seconds": 300}
                         for p in ("openai", "gemini", "xai")}},
        "aliases": {"big-2025": "big"},
        "versions": [
            {"id": "v1", "effective": "2025-01-01", "source": "test",
             "models": {
                 "big": {"provider": "anthropic", "successor": "bigger", "cheaper_sibling": "small",
                         "rates": {"standard": {"input": "3", "output": "15"}}},
                 "bigger": {"provider": "anthropic", "rates": {"standard": {"input": "5", "output": "25"}}},
                 "small": {"provider": "anthropic", "rates": {"standard": {"input": "1", "output": "5"}}},
             }},
        ],
    }


def _problems(doc: dict[str, Any]) -> list[str]:
    return [str(p) for p in check_document(doc)]


def test_the_shipped_rates_json_has_no_problem() -> None:
    assert check_file(DEFAULT_RATES_PATH) == []


def test_a_good_document_has_no_problem() -> None:
    assert _problems(_doc()) == []


def test_dates_must_increase() -> None:
    doc = _doc()
    doc["versions"].append({"id": "v0", "effective": "2024-12-31", "source": "x", "models": {}})
    assert any("is not after the previous version" in p for p in _problems(doc))


def test_every_problem_is_reported_not_just_the_first() -> None:
    doc = _doc()
    std = doc["versions"][0]["models"]["big"]["rates"]["standard"]
    std["input"], std["output"] = "-1", "0.0000001"
    problems = _problems(doc)
    assert any("negative rate" in p for p in problems)
    assert any("not a whole number of pico-USD" in p for p in problems)


def test_missing_prices_are_reported() -> None:
    doc = _doc()
    del doc["versions"][0]["models"]["small"]["rates"]["standard"]["output"]
    assert any("small" in p and "missing output" in p for p in _problems(doc))


def test_aliases_must_resolve_to_a_model() -> None:
    doc = _doc()
    doc["aliases"]["ghost-1"] = "ghost"
    assert _problems(doc) == ["alias ghost-1: target 'ghost' is not a model in any version"]


def test_successor_and_sibling_must_exist_in_the_version() -> None:
    doc = _doc()
    doc["versions"].append({"id": "v2", "effective": "2025-02-01", "source": "x",
                            "models": {"bigger": None, "small": None}})
    problems = _problems(doc)
    assert "version v2: big: successor 'bigger' is not a model of this version" in problems
    assert "version v2: big: cheaper_sibling 'small' is not a model of this version" in problems


def test_a_cheaper_sibling_must_be_cheaper() -> None:
    doc = _doc()
    doc["versions"][0]["models"]["big"]["cheaper_sibling"] = "bigger"
    assert _problems(doc) == ["version v1: big: cheaper_sibling 'bigger' is not cheaper at standard rates"]


def test_a_version_without_source_or_note_is_reported() -> None:
    doc = copy.deepcopy(_doc())
    del doc["versions"][0]["source"]
    assert _problems(doc) == ["version v1: no source or note: say where these prices come from"]


def test_unknown_provider_and_unknown_fields_are_reported() -> None:
    doc = _doc()
    doc["versions"][0]["models"]["small"]["provider"] = "mistral"
    doc["versions"][0]["models"]["big"]["colour"] = "blue"
    problems = _problems(doc)
    assert any("provider must be one of" in p for p in problems)
    assert any("unknown field(s) ['colour']" in p for p in problems)


@pytest.mark.parametrize(("pair", "reason"), [
    (("openai", "gpt-99-preview"), "no rate in any version"),
    (("openai", "claude-sonnet-4-6"), "claude-sonnet-4-6 is priced under provider anthropic"),
])
def test_traffic_lint_lists_models_without_a_rate(pair: tuple[str, str], reason: str) -> None:
    known = [("anthropic", "claude-sonnet-4-5-20250929"), ("gemini", "models/gemini-2.5-pro")]
    gaps = missing_rates(load_rates(), [pair, *known])
    assert [(g.provider, g.model, g.reason) for g in gaps] == [(*pair, reason)]


def test_traffic_lint_reports_each_pair_once_and_nothing_for_known_models() -> None:
    pairs = [("xai", "grok-4-0709"), ("xai", "grok-4-0709"), ("anthropic", "claude-opus-4-1")]
    assert missing_rates(load_rates(), pairs) == []


def test_a_tier_that_leaves_out_a_price_of_its_base_tier_is_an_error_in_every_tier() -> None:
    doc = _doc()
    big = doc["versions"][0]["models"]["big"]
    big["rates"]["standard"]["cache_read"] = "0.3"
    big["rates"]["batch"] = {"input": "1.5", "output": "7.5"}
    big["rates"]["priority"] = {"input": "6", "output": "30"}
    big["long_context"] = {"threshold": 200000, "rates": {"standard": {"input": "6", "output": "22.5"},
                                                           "batch": {"input": "3", "cache_read": "0.3",
                                                                     "output": "11.25"}}}
    problems = _problems(doc)
    assert [p for p in problems if "leaves out" in p] == [
        "version v1: big: rates.batch leaves out cache_read that rates.standard lists: write the tier's own price "
        "(derived at import), never its input price",
        "version v1: big: rates.priority leaves out cache_read that rates.standard lists: write the tier's own "
        "price (derived at import), never its input price",
        "version v1: big: long_context.rates.standard leaves out cache_read that rates.standard lists: write the "
        "long-context price (derived at import), never its input price",
    ]


def test_a_later_version_that_adds_a_base_price_but_not_the_tier_one_is_an_error() -> None:
    doc = _doc()
    doc["versions"][0]["models"]["big"]["rates"]["batch"] = {"input": "1.5", "output": "7.5"}
    doc["versions"].append({"id": "v2", "effective": "2025-03-01", "source": "x",
                            "models": {"big": {"rates": {"standard": {"cache_read": "0.3"}}}}})
    assert any(p.startswith("version v2: big: rates.batch leaves out cache_read") for p in _problems(doc))


def _twins(later: bool) -> dict[str, Any]:
    doc = _doc()
    rates = {"standard": {"input": "4", "output": "20"}}
    doc["versions"][0]["models"]["twin-sol"] = {"provider": "openai", "rates": {"standard": {"input": "5",
                                                                                           "output": "30"}}}
    doc["versions"].append({"id": "v2", "effective": "2025-03-01", "source": "x",
                            "models": {"twin-sol": {"rates": rates}}})
    twin = {"provider": "openai", "rates": rates}
    if later:
        doc["versions"].append({"id": "v3", "effective": "2025-06-01", "source": "x", "models": {"twin": twin}})
    else:
        doc["versions"][0]["models"]["twin"] = {"provider": "openai", "rates": {"standard": {"input": "5",
                                                                                           "output": "30"}}}
        doc["versions"][1]["models"]["twin"] = twin
    return doc


def test_two_models_priced_alike_in_every_version_that_lists_them_are_a_warning() -> None:
    # twin is first listed in v3 with twin-sol's v2 prices: before v2 the two are billed apart
    problems = check_document(_twins(later=True))
    assert errors(problems) == []
    assert [str(p) for p in problems] == [
        "warning: twin, twin-sol: priced identically in every version that lists them, but not aliases: make one "
        "an alias of the other, or list them under 'same_price' with the reason they are distinct models; before "
        "v3 twin is billed at its first listed rates, twin-sol at its own older ones"]
    assert [p.warning for p in check_document(_twins(later=False))] == [True]


def test_an_alias_or_a_reviewed_same_price_group_silences_the_warning() -> None:
    aliased = _twins(later=True)
    del aliased["versions"][2]
    aliased["aliases"]["twin"] = "twin-sol"
    assert check_document(aliased) == []
    reviewed = _twins(later=True)
    reviewed["same_price"] = [{"models": ["twin", "twin-sol"], "reason": "two products, one price"}]
    assert check_document(reviewed) == []
    bad = _twins(later=True)
    bad["same_price"] = [{"models": ["twin", "ghost"], "reason": ""}]
    assert _problems(bad) == ["same_price[0]: 'ghost' is not a model in any version",
                              "same_price[0]: 'reason' must say why these are distinct models"]


def test_traffic_lint_flags_a_service_tier_the_model_does_not_offer() -> None:
    seen = [("anthropic", "claude-haiku-4-5", "standard"), ("anthropic", "claude-haiku-4-5", "batch"),
            ("anthropic", "claude-haiku-4-5", "flex"), ("openai", "gpt-5", "default"),
            ("openai", "gpt-5", "turbo"), ("openai", "gpt-99", "standard"), ("openai", "gpt-99", "batch")]
    assert [str(g) for g in missing_rates(load_rates(), seen)] == [
        "traffic: anthropic claude-haiku-4-5 [flex]: claude-haiku-4-5 does not offer the 'flex' tier in version "
        "2026-11-26 (offers standard, batch)",
        "traffic: openai gpt-5 [turbo]: unknown service tier 'turbo'",
        "traffic: openai gpt-99: no rate in any version",
    ]


def test_a_provider_the_table_prices_needs_its_facts_and_they_must_be_well_formed() -> None:
    doc = _doc()
    doc["versions"][0]["models"]["gpt-x"] = {"provider": "openai", "rates": {"standard": {"input": "1", "output": "2"}}}
    del doc["providers"]["openai"]
    doc["providers"]["anthropic"] = {"prompt_cache": "explicit", "cache_lifetime_seconds": 300}
    doc["providers"]["xai"] = {"prompt_cache": "sometimes", "cache_lifetime_seconds": 300}
    doc["providers"]["gemini"] = {"prompt_cache": "automatic", "cache_lifetime_seconds": -5, "colour": "blue"}
    assert _problems(doc) == [
        "providers.anthropic.min_cacheable_tokens: required",
        "providers.gemini: unknown field(s) ['colour']",
        "providers.xai.prompt_cache: 'explicit' or 'automatic', got 'sometimes'",
        "providers.openai: no facts for a provider the table prices: say how it caches prompts "
        "(prompt_cache, cache_lifetime_seconds, …)",
    ]
