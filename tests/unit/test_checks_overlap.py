"""The catalog's total: two swaps of one model in one project are alternatives, counted once."""

from __future__ import annotations

from checks.overlap import attainable_total


def test_a_downgrade_and_a_successor_of_the_same_model_count_the_larger_once() -> None:
    quotes = [("model-downgrade:7:claude-sonnet-4-6->claude-haiku-4-5", 40),
              ("legacy-model:7:claude-sonnet-4-6->claude-sonnet-5", 25),
              ("batch-api:7:claude-sonnet-4-6", 10)]
    assert attainable_total(quotes) == 40 + 10


def test_swaps_of_other_models_or_projects_all_count() -> None:
    quotes = [("model-downgrade:7:gpt-5->gpt-5-mini", 40), ("legacy-model:8:gpt-5->gpt-5.1", 25),
              ("legacy-model:7:gpt-4.1->gpt-5", 5), ("model-downgrade:ws:gpt-5->gpt-5-mini", 1)]
    assert attainable_total(quotes) == 71


def test_a_model_name_holding_a_colon_is_read_whole() -> None:
    model = "ft:gpt-4o:acme:summaries:abc123"
    quotes = [(f"model-downgrade:3:{model}->gpt-4o-mini", 9), (f"legacy-model:3:{model}->gpt-5", 12),
              ("model-downgrade:3:ft:gpt-4o:other:x->gpt-4o-mini", 4)]
    assert attainable_total(quotes) == 12 + 4


def test_nothing_quoted_is_zero_and_a_fingerprint_of_another_shape_counts_in_full() -> None:
    assert attainable_total([]) == 0
    assert attainable_total([("fp-1", 3), ("model-downgrade", 4)]) == 7
