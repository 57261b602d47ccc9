"""Our latest rates against litellm 1.110.2, price by price, for every model both tables have.

The mapping of litellm's fields to ours is written out here on its own (not borrowed from the
importer), so a mistake in the importer's mapping cannot hide itself. Every difference must be
listed in DELIBERATE_DIFFERENCES with its reason; a listed difference that disappears fails too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import pricing
from pricing import load_rates
from pricing.importer import EXCLUDED_NAME_PARTS, excluded_reason
from pricing.table import DEFAULT_RATES_PATH
from tests.unit.raw_rates import fold_versions

UPSTREAM_PATH = Path(pricing.__file__).parent / "upstream" / "litellm-1.110.2-subset.json"

KIND_FIELDS = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
}
TIER_SUFFIXES = {"": "standard", "_batches": "batch", "_flex": "flex", "_priority": "priority"}
THRESHOLDS = {"": None, "_above_100k_tokens": 100_000, "_above_200k_tokens": 200_000, "_above_272k_tokens": 272_000}

# Every litellm price field we model: name -> (long-context threshold or None, tier, kind).
PRICE_FIELDS = {
    f"{base}{lc}{tier}": (threshold, tier_name, kind)
    for base, kind in KIND_FIELDS.items()
    for lc, threshold in THRESHOLDS.items()
    for tier, tier_name in TIER_SUFFIXES.items()
}

# (upstream key, field) -> why our rate differs. Keep the reason and its source next to the value.
DELIBERATE_DIFFERENCES = {
    ("gemini-exp-1206", "input_cost_per_token"): (
        "litellm has two entries for the Gemini API id: the bare key at $0.30 and gemini/gemini-exp-1206 "
        "at 0 (free experimental model). The importer takes the gemini/ entry, the Gemini API's own "
        "(https://ai.google.dev/gemini-api/docs/pricing lists experimental models as free of charge)."
    ),
    ("gemini-exp-1206", "output_cost_per_token"): "same as its input_cost_per_token",
    ("gemini-exp-1206", "cache_read_input_token_cost"): "same as its input_cost_per_token",
}

# Upstream fields deliberately not modelled, with why (the test fails on any other unknown field).
UNMODELLED_FIELD_PATTERNS = [
    (r"_audio_|audio_token|_per_audio", "audio tokens: audio models are not imported"),
    (r"_image|_video|_character|_per_second|_pixel", "media and character billing: not chat text tokens"),
    (r"output_cost_per_reasoning_token", "reasoning tokens are billed as output (checked by the importer)"),
    (r"_above_12hr", "OpenAI 12-hour cache writes: the meter records 5-minute cache writes only"),
    (r"_ultrafast$|_decisions$", "service tiers the meter does not record (standard/batch/flex/priority)"),
    (r"_above_128k_tokens", "only in models skipped by the filter"),
    (r"search_context_cost|_per_query|_per_session|grounding|web_search", "per-call tool charges, not tokens"),
]


def _upstream() -> dict[str, dict[str, object]]:
    with UPSTREAM_PATH.open(encoding="utf-8") as fh:
        data: dict[str, dict[str, object]] = json.load(fh)
    return data


def _pico(value: object) -> int:
    assert isinstance(value, (int, float)) and not isinstance(value, bool)
    pico = Decimal(repr(float(value))) * 10**12
    assert pico == pico.to_integral_value(), f"{value} USD/token is not a whole pico-USD"
    return int(pico)


def _imported_entries() -> dict[str, dict[str, object]]:
    return {k: v for k, v in _upstream().items() if excluded_reason(k, v) is None}


def test_every_current_chat_model_of_the_four_providers_has_a_rate() -> None:
    table = load_rates()
    missing = [k for k in _imported_entries() if table.canonical(k) is None]
    assert missing == []


def test_entries_left_out_by_the_importer_are_vertex_or_not_text_chat_models() -> None:
    reasons = {k: excluded_reason(k, v) for k, v in _upstream().items()}
    skipped = {k: r for k, r in reasons.items() if r is not None}
    for key, reason in skipped.items():
        assert (
            reason.startswith("provider 'vertex_ai-language-models'")
            or reason.startswith("not a text chat model")
            or reason == "no per-token input and output price"
        ), (key, reason)
        if reason.startswith("not a text chat model"):
            assert any(p in key for p in EXCLUDED_NAME_PARTS)


def test_latest_rates_equal_litellm_1_110_2_price_by_price_except_listed_differences() -> None:
    table = load_rates()
    differences: dict[tuple[str, str], tuple[int | None, int]] = {}
    compared = 0
    for key, entry in _imported_entries().items():
        info = table.model_info(key)
        assert info is not None, key
        for field, value in entry.items():
            if field not in PRICE_FIELDS or not isinstance(value, (int, float)):
                continue
            threshold, tier, kind = PRICE_FIELDS[field]
            if threshold is None:
                ours_tier = info.rates.get(tier)
            else:
                assert info.long_context_threshold == threshold, (key, field)
                ours_tier = info.long_context.get(tier)
            ours = None if ours_tier is None else getattr(ours_tier, kind)
            theirs = _pico(value)
            compared += 1
            if ours != theirs:
                differences[(key, field)] = (ours, theirs)
    assert compared > 1500  # the comparison really ran over the whole table
    assert set(differences) == set(DELIBERATE_DIFFERENCES), {
        k: v for k, v in differences.items() if k not in DELIBERATE_DIFFERENCES
    }


def test_no_upstream_price_field_of_an_imported_model_is_silently_ignored() -> None:
    unknown = set()
    for key, entry in _imported_entries().items():
        for field in entry:
            if "cost" not in field or field in PRICE_FIELDS:
                continue
            if any(re.search(p, field) for p, _ in UNMODELLED_FIELD_PATTERNS):
                continue
            unknown.add((key, field))
    assert unknown == set()


@pytest.mark.parametrize("key", ["claude-opus-4-1", "claude-sonnet-4-20250514", "claude-3-7-sonnet-20250219",
                                 "claude-3-5-haiku-20241022", "xai/grok-4", "xai/grok-4-0709", "xai/grok-3",
                                 "xai/grok-4-1-fast-reasoning"])
def test_models_dropped_by_litellm_1_110_2_are_still_priced(key: str) -> None:
    table = load_rates()
    assert key not in _upstream()
    info = table.model_info(key)
    assert info is not None
    assert info.rates["standard"].input > 0


# -- prices we derive: in rates.json, not in litellm ---------------------------------------------
#
# Each price our table holds that litellm leaves out is derived by a stated billing rule. The test
# recomputes it from the model's other prices (raw rates.json strings, not the loader's view) and
# requires the models each rule derives for to be exactly the ones listed here: a new derived
# price, a rule that stops matching, or a derived price that is not what its rule says all fail.

RAW_RATES = json.loads(DEFAULT_RATES_PATH.read_text(encoding="utf-8"))
Section = Mapping[str, Mapping[str, str]]  # service tier -> kind -> USD per million


def _fold(document: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(version_id, models) for version_id, _, models in fold_versions(dict(document))]


def _times(value: str, factor: str) -> str:
    return format((Decimal(value) * Decimal(factor)).normalize(), "f")


@dataclass(frozen=True)
class Derivation:
    """A price a rule derives: where it sits and the model entry (raw) it sits in."""

    model: str
    entry: Mapping[str, Any]
    long_context: bool
    tier: str
    kind: str

    @property
    def section(self) -> Section:
        rates: Section = self.entry["long_context"]["rates"] if self.long_context else self.entry["rates"]
        return rates

    @property
    def value(self) -> str:
        return self.section[self.tier][self.kind]


def _anthropic_batch(d: Derivation) -> str | None:
    return _times(d.section["standard"][d.kind], "0.5") if d.tier == "batch" else None


def _anthropic_1h_write(d: Derivation) -> str | None:
    ok = d.tier == "standard" and d.kind == "cache_write_1h"
    return _times(d.section["standard"]["input"], "2") if ok else None


def _openai_batch_cache(d: Derivation) -> str | None:
    ok = d.tier == "batch" and d.kind == "cache_read" and not d.long_context
    return _times(d.section["standard"]["cache_read"], "0.5") if ok else None


def _gemini_batch(d: Derivation) -> str | None:
    if d.tier != "batch":
        return None
    std = d.section["standard"]
    return std["cache_read"] if d.kind == "cache_read" else _times(std[d.kind], "0.5")


def _long_context_cache(d: Derivation) -> str | None:
    if not d.long_context or d.kind not in ("cache_read", "cache_write", "cache_write_1h"):
        return None
    base, lc = d.entry["rates"][d.tier], d.section[d.tier]
    if d.entry["provider"] == "gemini" and d.kind != "cache_read":
        return str(base[d.kind])
    multiple = Decimal(lc["input"]) / Decimal(base["input"]) if Decimal(base["input"]) else Decimal(1)
    return _times(base[d.kind], str(multiple))


def _gemini_2_5_pro_priority_cache(d: Derivation) -> str | None:
    ok = d.model == "gemini-2.5-pro" and d.tier == "priority" and d.kind == "cache_read" and not d.long_context
    return "0.225" if ok else None


def _grok_4_override(d: Derivation) -> str | None:
    expected = {(False, "cache_read"): "0.75", (True, "input"): "6", (True, "output"): "30"}
    return expected.get((d.long_context, d.kind)) if d.model == "grok-4" and d.tier == "standard" else None


BASE, LATEST = "2025-01-01 vs litellm 1.82.0", "latest vs litellm 1.110.2"
COMPARISONS = {BASE: ("2025-01-01", "litellm-1.82.0-subset.json"),
               LATEST: ("2026-11-26", "litellm-1.110.2-subset.json")}

# rule -> (reason and source, how the price is computed, providers, {comparison: models it derives for})
DERIVED_PRICES: dict[str, tuple[str, Callable[[Derivation], str | None], set[str], dict[str, set[str]]]] = {
    "anthropic batch": (
        "The Message Batches API bills every kind of token at 50% of the standard price "
        "(https://platform.claude.com/docs/en/about-claude/pricing, 'Batch processing'); litellm 1.82.0 has no "
        "Anthropic batch prices, 1.110.2 leaves out some kinds (1-hour cache writes, claude-mythos-preview).",
        _anthropic_batch, {"anthropic"}, {
            BASE: {"claude-3-5-haiku", "claude-3-5-sonnet", "claude-3-7-sonnet", "claude-3-haiku", "claude-3-opus",
                   "claude-haiku-4-5", "claude-opus-4", "claude-opus-4-1", "claude-opus-4-5", "claude-opus-4-6",
                   "claude-sonnet-4", "claude-sonnet-4-5", "claude-sonnet-4-6"},
            LATEST: {"claude-fable-5", "claude-fable-5-1", "claude-haiku-4-5", "claude-haiku-5-5", "claude-mythos-5",
                     "claude-mythos-5-1", "claude-mythos-preview", "claude-opus-4-5", "claude-opus-4-6",
                     "claude-opus-4-7", "claude-opus-4-8", "claude-opus-5", "claude-opus-5-5", "claude-sonnet-4-5",
                     "claude-sonnet-4-6", "claude-sonnet-5", "claude-sonnet-5-5"},
        }),
    "anthropic 1-hour cache write": (
        "1-hour cache writes cost 2x the input price (https://platform.claude.com/docs/en/about-claude/pricing, "
        "'Prompt caching'); litellm 1.82.0 lists them for some models only.",
        _anthropic_1h_write, {"anthropic"}, {
            BASE: {"claude-opus-4-6", "claude-sonnet-4", "claude-sonnet-4-5", "claude-sonnet-4-6"},
        }),
    "openai batch cached input": (
        "Where a model offers the Batch API, cached input is billed at 50% too "
        "(https://developers.openai.com/api/docs/pricing, Batch column); litellm lists batch input and output only.",
        _openai_batch_cache, {"openai"}, {
            BASE: {"ft:gpt-4.1-2025-04-14", "ft:gpt-4.1-mini-2025-04-14", "ft:gpt-4.1-nano-2025-04-14",
                   "ft:gpt-4o-2024-08-06", "ft:gpt-4o-mini-2024-07-18", "ft:o4-mini-2025-04-16", "gpt-4.1",
                   "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4.5-preview", "gpt-4o", "gpt-4o-mini"},
            LATEST: {"gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "o1", "o3", "o3-mini",
                     "o4-mini"},
        }),
    "gemini batch": (
        "Gemini Batch Mode bills input and output at 50% and context-cache reads at the standard cache price "
        "(https://ai.google.dev/gemini-api/docs/pricing, 'Batch'); the batch tier is made for version-numbered "
        "ids, the cache-read price for every Gemini batch tier (litellm 1.110.2 lists gemini-*-latest batch "
        "input and output only: without it batch cache reads were billed at the batch input price, 5x).",
        _gemini_batch, {"gemini"}, {
            BASE: {"gemini-2.0-flash", "gemini-2.0-flash-001", "gemini-2.0-flash-lite", "gemini-2.0-flash-lite-001",
                   "gemini-2.0-flash-lite-preview-02-05", "gemini-2.5-flash", "gemini-2.5-flash-lite",
                   "gemini-2.5-flash-lite-preview-06-17", "gemini-2.5-flash-lite-preview-09-2025",
                   "gemini-2.5-flash-preview-04-17", "gemini-2.5-flash-preview-05-20",
                   "gemini-2.5-flash-preview-09-2025", "gemini-2.5-pro", "gemini-2.5-pro-preview-03-25",
                   "gemini-2.5-pro-preview-05-06", "gemini-2.5-pro-preview-06-05", "gemini-3-flash-preview",
                   "gemini-3-pro-preview", "gemini-3.1-pro-preview", "gemini-3.1-pro-preview-customtools"},
            LATEST: {"gemini-flash-latest", "gemini-flash-lite-latest", "gemini-pro-latest"},
        }),
    "long-context cache price": (
        "The long-context price of a cache token is its price below the threshold times the long-context input "
        "multiple, as xAI lists it for grok-4.20/4.3/4.7 ($0.20 -> $0.40 with $1.25 -> $2.50) and Google for "
        "gemini-2.5-pro ($0.125 -> $0.25); Gemini's cache storage price (litellm's cache_creation) is not tiered. "
        "litellm leaves it out for grok-4, grok-4-fast-* and grok-4-1-fast-*: grok-4 cached input above 128k is "
        "$1.50, not the $6 input price (pricing.importer.derive_long_context).",
        _long_context_cache, {"anthropic", "openai", "gemini", "xai"}, {
            BASE: {"gemini-1.5-flash-001", "gemini-1.5-flash-002", "gemini-2.0-flash-exp",
                   "gemini-2.0-flash-thinking-exp", "gemini-2.0-flash-thinking-exp-01-21", "gemini-2.0-pro-exp-02-05",
                   "gemini-2.5-pro", "gemini-2.5-pro-exp-03-25", "grok-4", "grok-4-1-fast",
                   "grok-4-1-fast-non-reasoning", "grok-4-1-fast-reasoning", "grok-4-fast-non-reasoning",
                   "grok-4-fast-reasoning"},
        }),
    "gemini-2.5-pro priority cache read": (
        "Reviewed edit of version 2025-01-01 (see its note): gemini-2.5-pro's priority tier from litellm 1.110.2, "
        "1.8x standard (https://ai.google.dev/gemini-api/docs/pricing); 1.82.0 listed no priority cache price.",
        _gemini_2_5_pro_priority_cache, {"gemini"}, {BASE: {"gemini-2.5-pro"}}),
    "grok-4 override": (
        "pricing.importer.OVERRIDES['grok-4']: litellm's xai/grok-4 lacks the cached-input price ($0.75, "
        "https://docs.x.ai/docs/models) and the >128k prices ($6/$30) its own xai/grok-4-0709 entry carries.",
        _grok_4_override, {"xai"}, {BASE: {"grok-4"}}),
}


def _derived_prices(comparison: str) -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Models per rule that derive a price litellm leaves out, and the prices no rule explains."""
    version_id, upstream_file = COMPARISONS[comparison]
    with (UPSTREAM_PATH.parent / upstream_file).open(encoding="utf-8") as fh:
        upstream: dict[str, dict[str, Any]] = json.load(fh)
    table = load_rates()
    keys: dict[str, list[str]] = {}
    for key, entry in upstream.items():
        canonical = table.canonical(key)
        if isinstance(entry, dict) and excluded_reason(key, entry) is None and canonical is not None:
            keys.setdefault(canonical, []).append(key)
    models: dict[str, Any] = dict(_fold(RAW_RATES))[version_id]
    by_rule: dict[str, set[str]] = {}
    unexplained = []
    for model, model_keys in sorted(keys.items()):
        ours: dict[str, Any] | None = models.get(model)
        if ours is None:
            continue
        lc = ours.get("long_context") or {}
        for long_context, section in ((False, ours["rates"]), (True, lc.get("rates") or {})):
            for tier, kinds in section.items():
                for kind in kinds:
                    base, = (f for f, k in KIND_FIELDS.items() if k == kind)
                    suffix = next(s for s, t in TIER_SUFFIXES.items() if t == tier)
                    field = base + (f"_above_{lc['threshold'] // 1000}k_tokens" if long_context else "") + suffix
                    if any(field in upstream[k] for k in model_keys):
                        continue
                    d = Derivation(model, ours, long_context, tier, kind)
                    rule = next((name for name, (_, formula, providers, _) in DERIVED_PRICES.items()
                                 if ours["provider"] in providers and formula(d) == d.value), None)
                    if rule is None:
                        unexplained.append((model, f"{'long_context.' if long_context else ''}rates.{tier}.{kind}",
                                            d.value))
                    else:
                        by_rule.setdefault(rule, set()).add(model)
    return by_rule, unexplained


@pytest.mark.parametrize("comparison", list(COMPARISONS))
def test_every_price_we_derive_is_listed_with_its_rule_and_recomputes_from_it(comparison: str) -> None:
    by_rule, unexplained = _derived_prices(comparison)
    assert unexplained == []  # a price litellm does not list and no rule above explains
    listed = {rule: models[comparison] for rule, (_, _, _, models) in DERIVED_PRICES.items() if comparison in models}
    assert by_rule == listed


@pytest.mark.parametrize(("model", "path", "value"), [
    ("grok-4", ("long_context", "rates", "standard", "cache_read"), "1.5"),
    ("grok-4-fast-reasoning", ("long_context", "rates", "standard", "cache_read"), "0.1"),
    ("grok-4-1-fast-non-reasoning", ("long_context", "rates", "standard", "cache_read"), "0.1"),
    ("gemini-pro-latest", ("rates", "batch", "cache_read"), "0.2"),
    ("gemini-flash-latest", ("rates", "batch", "cache_read"), "0.075"),
    ("gemini-flash-lite-latest", ("rates", "batch", "cache_read"), "0.03"),
])
def test_the_prices_the_review_found_missing_are_written_in_rates_json(
        model: str, path: tuple[str, ...], value: str) -> None:
    entry: Any = _fold(RAW_RATES)[-1][1][model]
    for key in path:
        entry = entry[key]
    assert entry == value
