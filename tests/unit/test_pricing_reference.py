"""Our latest rates against litellm 1.110.2, price by price, for every model both tables have.

The mapping of litellm's fields to ours is written out here on its own (not borrowed from the
importer), so a mistake in the importer's mapping cannot hide itself. Every difference must be
listed in DELIBERATE_DIFFERENCES with its reason; a listed difference that disappears fails too.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

import pricing
from pricing import load_rates
from pricing.importer import EXCLUDED_NAME_PARTS, excluded_reason

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
