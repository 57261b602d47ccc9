"""`rates check`: every rule fires on a broken file, and the shipped file passes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pricing import load_rates
from pricing.lint import check_document, check_file, missing_rates
from pricing.table import DEFAULT_RATES_PATH


def _doc() -> dict[str, Any]:
    return {
        "aliases": {"big-2025": "big"},
        "versions": [
            {"id": "v1", "effective": "2025-01-01", "source": "test",
             "models": {
                 "big": {"provider": "anthropic", "successor": "bigger", "cheaper_sibling": "small",
                         "rates": {"standard": {"input": "3", "output": "15"}}},
                 "bigger": {"provider": "anthropic", "rates": {"standard": {"input": "3", "output": "15"}}},
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
