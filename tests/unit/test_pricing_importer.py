"""The importer: litellm's format to a proposed, reviewable version of rates.json."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import pricing
from pricing import RateTable
from pricing.importer import (
    apply,
    classify,
    complete_entries,
    convert,
    dumps,
    load_upstream,
    propose,
    summary_lines,
)
from pricing.table import DEFAULT_RATES_PATH, RatesError

UPSTREAM_DIR = Path(pricing.__file__).parent / "upstream"


def _entry(provider: str, inp: float, out: float, **extra: Any) -> dict[str, Any]:
    return {"litellm_provider": provider, "mode": "chat", "input_cost_per_token": inp,
            "output_cost_per_token": out, **extra}


UPSTREAM = {
    "claude-x-5-20260101": _entry("anthropic", 3e-06, 1.5e-05, cache_read_input_token_cost=3e-07,
                                  cache_creation_input_token_cost=3.75e-06, max_input_tokens=1000000),
    "gemini/gemini-9-pro": _entry("gemini", 1.25e-06, 1e-05, input_cost_per_token_above_200k_tokens=2.5e-06,
                                  output_cost_per_token_above_200k_tokens=1.5e-05),
    "gpt-9": _entry("openai", 2e-06, 8e-06, input_cost_per_token_batches=1e-06, output_cost_per_token_batches=4e-06,
                    cache_read_input_token_cost=5e-07),
    "gpt-9-2027-01-01": _entry("openai", 2e-06, 8e-06),
    "gpt-9-2026-01-01": _entry("openai", 4e-06, 8e-06),
    "gemini-9-pro": _entry("vertex_ai-language-models", 1.25e-06, 1e-05),
    "gpt-9-realtime": _entry("openai", 4e-06, 1.6e-05),
    "xai/grok-9": _entry("xai", 3e-06, 1.5e-05, mode="responses"),
    "free-thing": {"litellm_provider": "openai", "mode": "chat"},
}


def test_filter_keeps_chat_models_of_the_four_providers_and_says_why_it_skips() -> None:
    conv = convert(UPSTREAM)
    assert sorted(conv.models) == ["claude-x-5", "gemini-9-pro", "gpt-9", "gpt-9-2026-01-01", "grok-9"]
    skipped = dict(conv.skipped)
    assert skipped["gemini-9-pro"].startswith("provider 'vertex_ai-language-models'")
    assert skipped["gpt-9-realtime"] == "not a text chat model (realtime)"
    assert skipped["free-thing"] == "no per-token input and output price"


def test_floats_become_exact_decimal_strings_per_million() -> None:
    std = convert(UPSTREAM).models["claude-x-5"]["rates"]["standard"]
    assert std == {"input": "3", "cache_read": "0.3", "cache_write": "3.75", "cache_write_1h": "6", "output": "15"}


def test_dated_ids_priced_like_their_base_become_aliases_others_stay_models() -> None:
    conv = convert(UPSTREAM)
    assert conv.aliases["gpt-9-2027-01-01"] == "gpt-9"
    assert "gpt-9-2026-01-01" not in conv.aliases  # priced differently: a model of its own
    assert conv.aliases["claude-x-5-20260101"] == "claude-x-5"  # Anthropic: the undated name is canonical


def test_provider_billing_rules_are_written_out_as_explicit_rates() -> None:
    models = convert(UPSTREAM).models
    # Anthropic: batch is 50% of every kind, cache write 1h is 2x input
    assert models["claude-x-5"]["rates"]["batch"] == {
        "input": "1.5", "cache_read": "0.15", "cache_write": "1.875", "cache_write_1h": "3", "output": "7.5"}
    # OpenAI: cached input in batch at 50%
    assert models["gpt-9"]["rates"]["batch"]["cache_read"] == "0.25"
    # Gemini: batch 50% of input and output, below and above the long-context threshold
    gemini = models["gemini-9-pro"]
    assert gemini["rates"]["batch"] == {"input": "0.625", "output": "5"}
    assert gemini["long_context"] == {"threshold": 200_000, "rates": {
        "standard": {"input": "2.5", "output": "15"}, "batch": {"input": "1.25", "output": "7.5"}}}
    # xAI: no flat rule, so no batch tier unless upstream lists it
    assert list(models["grok-9"]["rates"]) == ["standard"]


def test_proposal_lists_added_changed_and_absent_models_with_old_and_new_prices() -> None:
    first = propose({"versions": []}, UPSTREAM, effective=date(2027, 1, 1), source="t")
    doc = apply({"versions": []}, first)
    RateTable(doc)
    later = json.loads(json.dumps(UPSTREAM))
    later["gpt-9"]["output_cost_per_token"] = 6e-06
    del later["xai/grok-9"]
    later["claude-y-1"] = _entry("anthropic", 1e-06, 5e-06)
    second = propose(doc, later, effective=date(2027, 2, 1), source="t")
    assert second.added == ["claude-y-1"]
    assert second.changed == {"gpt-9": {"rates": {"standard": {"output": "6"}}}}
    assert second.absent == ["grok-9"] and second.removed == []
    lines = summary_lines(second)
    assert "  ~ gpt-9 rates.standard.output: 8 -> 6" in lines
    assert any(line.startswith("  = 1 models absent upstream, kept") for line in lines)
    pruned = propose(doc, later, effective=date(2027, 2, 1), source="t", prune=True)
    assert pruned.version["models"]["grok-9"] is None


def test_an_import_must_be_dated_after_the_latest_version() -> None:
    doc = apply({"versions": []}, propose({"versions": []}, UPSTREAM, effective=date(2027, 1, 1), source="t"))
    with pytest.raises(RatesError, match="must be after"):
        propose(doc, UPSTREAM, effective=date(2027, 1, 1), source="t")


def test_reimporting_the_upstream_table_of_the_latest_version_proposes_nothing() -> None:
    with DEFAULT_RATES_PATH.open() as fh:
        doc = json.load(fh)
    proposal = propose(doc, load_upstream(UPSTREAM_DIR / "litellm-1.110.2-subset.json"),
                       effective=date(2026, 12, 1), source="replay")
    assert proposal.empty, summary_lines(proposal)[:20]


def test_replaying_both_imports_reproduces_the_imported_models(tmp_path: Path) -> None:
    # The base version is litellm 1.82.0 plus reviewed edits; the replay must differ only there.
    with DEFAULT_RATES_PATH.open() as fh:
        shipped = json.load(fh)
    seed = {"aliases": {a: c for a, c in shipped["aliases"].items()
                        if a in ("claude-opus-4-0", "claude-sonnet-4-0", "gemini-1.5-pro-latest",
                                 "grok-4-0709", "grok-4-latest")}, "versions": []}
    replay = propose(seed, load_upstream(UPSTREAM_DIR / "litellm-1.82.0-subset.json"),
                     effective=date(2025, 1, 1), source="replay")
    base = shipped["versions"][0]["models"]
    differing = {m for m in base if replay.new_models.get(m) != base[m]}
    assert differing == {"o3", "gemini-2.5-pro"}  # the two reviewed edits, see the version's note


def test_written_json_keeps_one_line_per_tier_so_a_price_change_is_a_one_line_diff() -> None:
    text = dumps({"versions": [{"models": {"m": {"rates": {"standard": {"input": "1", "output": "2"}}}}}]})
    assert '"standard": {"input": "1", "output": "2"}' in text


@pytest.mark.parametrize(("model", "family", "size"), [
    ("claude-sonnet-4-6", "claude-sonnet", "medium"), ("claude-3-5-haiku", "claude-haiku", "small"),
    ("gpt-5-mini", "gpt-mini", "small"), ("gpt-5.6-luna", "gpt-luna", "small"), ("o3-pro", "o-pro", "frontier"),
    ("gemini-2.5-flash-lite", "gemini-flash-lite", "small"), ("grok-4-fast-reasoning", "grok-fast", "small"),
])
def test_family_and_size_class_are_inferred_from_the_id(model: str, family: str, size: str) -> None:
    lineage = classify(model)
    assert lineage is not None and (lineage.family, lineage.size) == (family, size)


def test_gemini_batch_cache_reads_are_written_for_every_gemini_batch_tier_not_only_numbered_ids() -> None:
    # gemini-pro-latest: litellm lists batch input and output only; Batch Mode bills context-cache reads
    # at the cache price, so batch cache_read = standard cache_read ($0.20), never the batch input ($1)
    upstream = {"gemini/gemini-pro-latest": _entry("gemini", 2e-06, 1.2e-05, cache_read_input_token_cost=2e-07,
                                                   input_cost_per_token_batches=1e-06,
                                                   output_cost_per_token_batches=6e-06)}
    assert convert(upstream).models["gemini-pro-latest"]["rates"]["batch"] == {
        "input": "1", "cache_read": "0.2", "output": "6"}


def test_long_context_cache_prices_litellm_leaves_out_are_derived_and_listed() -> None:
    upstream = {
        # xAI: cached input above 128k at the long-context multiple: 0.05 x 0.4/0.2 = 0.1
        "xai/grok-8-fast": _entry("xai", 2e-07, 5e-07, cache_read_input_token_cost=5e-08,
                                  input_cost_per_token_above_128k_tokens=4e-07,
                                  output_cost_per_token_above_128k_tokens=1e-06),
        # Gemini (an id Batch Mode does not serve): cache reads scale, the storage price does not
        "gemini/gemini-1.9-flash": _entry("gemini", 7.5e-08, 3e-07, cache_read_input_token_cost=1.875e-08,
                                        cache_creation_input_token_cost=1e-06,
                                        input_cost_per_token_above_128k_tokens=1.5e-07,
                                        output_cost_per_token_above_128k_tokens=6e-07),
        # a multiple that gives no whole pico-USD price: not derived, the gap is reported
        "xai/grok-8-odd": _entry("xai", 3e-06, 1.5e-05, cache_read_input_token_cost=1e-12,
                                 input_cost_per_token_above_128k_tokens=4e-06,
                                 output_cost_per_token_above_128k_tokens=3e-05),
    }
    proposal = propose({"versions": []}, upstream, effective=date(2027, 1, 1), source="t")
    lc = {m: e["long_context"]["rates"]["standard"] for m, e in proposal.new_models.items()}
    assert lc["grok-8-fast"] == {"input": "0.4", "cache_read": "0.1", "output": "1"}
    assert lc["gemini-1.9-flash"] == {"input": "0.15", "cache_read": "0.0375", "cache_write": "1", "output": "0.6"}
    assert "cache_read" not in lc["grok-8-odd"]
    lines = summary_lines(proposal)
    assert ("  * grok-8-fast: long_context.rates.standard.cache_read = 0.1 (derived: 0.05 x 0.4/0.2, the "
            "long-context input multiple)") in lines
    assert any(line.startswith("  ! grok-8-odd: long_context.rates.standard leaves out cache_read") for line in lines)
    with pytest.raises(RatesError, match=r"grok-8-odd.*leaves out cache_read"):
        RateTable(apply({"versions": []}, proposal))  # `import --write` refuses to write it


def test_a_reviewed_successor_is_kept_and_litellms_taken_only_when_empty_and_of_the_same_family() -> None:
    def model(inp: float, **extra: Any) -> dict[str, Any]:
        return _entry("gemini", inp, inp * 8, **extra)

    upstream = {
        "gemini/gemini-8-pro": model(1.25e-06, successor_model="gemini/gemini-9.8-flash"),  # smaller line: no
        "gemini/gemini-8-flash": model(3e-07, successor_model="gemini/gemini-9-flash-lite"),  # smaller: no
        "gemini/gemini-8-flash-lite": model(1e-07, successor_model="gemini/gemini-9-flash-lite"),  # yes
        "gemini/gemini-7-pro": model(1.25e-06, successor_model="gemini/gemini-9-pro"),  # reviewed value kept
        "gemini/gemini-9-pro": model(2e-06), "gemini/gemini-9-flash": model(5e-07),
        "gemini/gemini-9.8-flash": model(7.5e-07), "gemini/gemini-9-flash-lite": model(2.5e-07),
    }
    current = {"gemini-7-pro": {"provider": "gemini", "successor": "gemini-8-pro",
                                "rates": {"standard": {"input": "1.25", "output": "10"}}}}
    conv = convert(upstream)
    entries = complete_entries(conv, current)
    successors = {m: entries[m].get("successor") for m in ("gemini-7-pro", "gemini-8-pro", "gemini-8-flash",
                                                           "gemini-8-flash-lite")}
    assert successors == {
        "gemini-7-pro": "gemini-8-pro",  # reviewed, not overwritten by litellm's gemini-9-pro
        "gemini-8-pro": "gemini-9-pro",  # litellm's gemini-9.8-flash refused; the next gemini-pro inferred
        "gemini-8-flash": "gemini-9-flash",  # litellm's gemini-9-flash-lite refused; inferred
        "gemini-8-flash-lite": "gemini-9-flash-lite",  # litellm's, same family and size class
    }
    assert ("gemini-8-pro: litellm's successor 'gemini-9.8-flash' is not of its family and size class or larger; "
            "not used") in conv.problems


def test_replaying_the_latest_import_reproduces_the_latest_version() -> None:
    # The 2026-11-26 version is litellm 1.110.2 imported over the versions before it: replayed, the
    # importer must propose exactly it (successors as reviewed, derived prices, gpt-5.6 as an alias).
    with DEFAULT_RATES_PATH.open() as fh:
        shipped = json.load(fh)
    latest = shipped["versions"][-1]
    before = {**shipped, "versions": shipped["versions"][:-1]}
    replay = propose(before, load_upstream(UPSTREAM_DIR / "litellm-1.110.2-subset.json"),
                     effective=date.fromisoformat(latest["effective"]), source=latest["source"])
    proposed = json.loads(json.dumps(replay.version["models"]))
    # one reviewed value that no import proposes: gpt-5.6 is gpt-5.6-sol, so gpt-5.5's successor (see the note)
    assert "successor" not in proposed["gpt-5.5"]
    proposed["gpt-5.5"]["successor"] = "gpt-5.6-sol"
    assert proposed == latest["models"]
    assert latest["models"]["gpt-5.5"]["successor"] == "gpt-5.6-sol"
    assert "gpt-5.6" not in latest["models"] and shipped["aliases"]["gpt-5.6"] == "gpt-5.6-sol"


def test_an_import_carries_the_providers_facts_it_cannot_know() -> None:
    # litellm says nothing of how a provider caches: the reviewed facts stay as they are, import after import
    with DEFAULT_RATES_PATH.open() as fh:
        shipped = json.load(fh)
    proposal = propose(shipped, UPSTREAM, effective=date(2027, 1, 1), source="t")
    imported = apply(shipped, proposal)
    assert imported["providers"] == shipped["providers"]
    assert RateTable(imported).provider("anthropic").explicit_cache
