"""Clustering on hand-made timelines: the Acceptance of issue 7, with no database."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from clustering import ClusterRules, LoopRules, cluster_requests
from pricing import load_rates
from tests.unit.clustering_frames import HASH_A, HASH_B, T0, joined, timeline

SONNET_MINIMUM = {"claude-sonnet-4-6": 1024}
FIVE_MINUTES = {"anthropic": 300.0}
ONE_HOUR = {"anthropic": 3600.0}


def rules(**kwargs: object) -> ClusterRules:
    base: dict[str, object] = {"min_cacheable_tokens": SONNET_MINIMUM}
    base.update(kwargs)
    return ClusterRules(**base)  # type: ignore[arg-type]


def test_a_loop_of_500_requests_in_10_minutes_is_one_incident_with_its_bounds_and_cost() -> None:
    offsets = np.sort(np.random.default_rng(3).uniform(0, 600, 500))
    offsets[0], offsets[-1] = 0.0, 599.5
    frame = timeline(offsets, cost=7_000_000)
    incidents = cluster_requests(frame, rules()).incidents
    assert len(incidents) == 1
    incident = incidents.iloc[0]
    assert incident["started_at"] == pd.Timestamp(T0)
    assert incident["ended_at"] == pd.Timestamp(T0 + timedelta(seconds=599.5))
    assert incident["requests"] == 500
    assert incident["cost_nanos"] == 500 * 7_000_000
    assert incident["device_id"] == 1 and incident["project_id"] == 10
    minutes = (offsets // 60).astype(int)
    assert incident["peak_per_minute"] == np.bincount(minutes).max()


def test_three_tries_of_a_failed_request_within_a_minute_are_not_a_loop() -> None:
    frame = timeline([0, 15, 40], status=[429, 529, 200])
    result = cluster_requests(frame, rules())
    assert result.incidents.empty
    cluster = result.clusters.iloc[0]
    assert cluster["requests"] == 3
    assert cluster["duplicate_requests"] == 0  # nothing answered before the last try
    assert "loop" not in cluster["kinds"] and "duplicate" not in cluster["kinds"]


def test_two_loops_from_two_devices_on_the_same_hash_are_two_incidents() -> None:
    offsets = np.linspace(0, 300, 100)
    frame = joined(timeline(offsets, device=1), timeline(offsets + 5, device=2))
    result = cluster_requests(frame, rules())
    assert sorted(result.incidents["device_id"].tolist()) == [1, 2]
    assert result.incidents["requests"].tolist() == [100, 100]
    cluster = result.clusters.iloc[0]
    assert cluster["requests"] == 200 and cluster["devices"] == 2 and cluster["loop_incidents"] == 2


def test_a_loop_stops_at_a_gap_wider_than_the_setting() -> None:
    first = np.linspace(0, 120, 40)
    frame = timeline(np.concatenate([first, first + 1000]))
    incidents = cluster_requests(frame, rules(loops=LoopRules(max_gap_seconds=120))).incidents
    assert incidents["requests"].tolist() == [40, 40]


def test_a_repeat_every_4_minutes_is_cacheable_under_a_5_minute_cache() -> None:
    frame = timeline([i * 240 for i in range(6)])
    cluster = cluster_requests(frame, rules(cache_lifetimes=FIVE_MINUTES)).clusters.iloc[0]
    assert cluster["cacheable_requests"] == 5
    assert "cacheable" in cluster["kinds"]
    assert cluster["cacheable_prompt_tokens"] == 5 * 5000


def test_a_repeat_every_20_minutes_is_not_cacheable_under_5_minutes_but_is_under_1_hour() -> None:
    frame = timeline([i * 1200 for i in range(6)])
    short = cluster_requests(frame, rules(cache_lifetimes=FIVE_MINUTES)).clusters.iloc[0]
    assert short["cacheable_requests"] == 0 and "cacheable" not in short["kinds"]
    assert short["cacheable_requests_1h"] == 5  # the default extended lifetime: Anthropic's 1-hour cache
    long = cluster_requests(frame, rules(cache_lifetimes=ONE_HOUR)).clusters.iloc[0]
    assert long["cacheable_requests"] == 5 and "cacheable" in long["kinds"]


def test_the_cache_lifetimes_are_the_price_tables_facts_of_each_provider() -> None:
    table = load_rates()
    assert ClusterRules().cache_lifetimes == table.cache_lifetimes()
    assert ClusterRules().extended_cache_lifetimes == table.cache_lifetimes(extended=True)
    # a repeat every 2 hours: beyond Anthropic's hour, within OpenAI's 24-hour retention
    every_two_hours = [i * 7200.0 for i in range(4)]
    claude = timeline(every_two_hours)
    gpt = timeline(every_two_hours, prompt_hash=HASH_B, model="gpt-5.1", provider="openai")
    minimums = {"claude-sonnet-4-6": 1024, "gpt-5.1": 1024}
    clusters = cluster_requests(joined(claude, gpt), ClusterRules(min_cacheable_tokens=minimums)).clusters
    assert clusters.set_index("prompt_hash")["cacheable_requests_1h"].to_dict() == {HASH_A: 0, HASH_B: 3}
    # a provider the table has no facts for caches nothing
    silent = cluster_requests(claude, ClusterRules(min_cacheable_tokens=minimums, cache_lifetimes={},
                                                   extended_cache_lifetimes={})).clusters.iloc[0]
    assert silent["cacheable_requests_1h"] == 0


def test_prompts_below_the_minimum_or_already_read_from_cache_are_not_cacheable() -> None:
    short_prompt = timeline([0, 60, 120], input_tokens=500)
    already_cached = timeline([0, 60, 120], prompt_hash=HASH_B, cache_read=4000)
    result = cluster_requests(joined(short_prompt, already_cached), rules())
    assert result.clusters["cacheable_requests"].tolist() == [0, 0]
    unknown_model = timeline([0, 60], model="some-model-without-cache")
    assert cluster_requests(unknown_model, rules()).clusters.iloc[0]["cacheable_requests"] == 0


def test_duplicates_are_the_repeats_after_the_first_answer_and_their_cost_is_avoidable() -> None:
    frame = timeline([0, 3600, 7200, 10800], cost=5_000_000)
    cluster = cluster_requests(frame, rules()).clusters.iloc[0]
    assert cluster["duplicate_requests"] == 3
    assert cluster["avoidable_nanos"] == 15_000_000
    assert cluster["cost_nanos"] == 20_000_000
    assert cluster["kinds"] == ["duplicate"]


def test_rows_with_a_null_hash_are_counted_and_never_grouped_together() -> None:
    nulls = timeline(np.linspace(0, 600, 200), prompt_hash=None)
    single = timeline([0], prompt_hash=HASH_B)
    result = cluster_requests(joined(nulls, single), rules())
    assert result.null_hash_requests == 200
    assert result.requests == 201
    assert result.clusters.empty and result.incidents.empty


def test_a_hash_seen_once_is_no_cluster_and_distinct_hashes_stay_apart() -> None:
    frame = joined(timeline([0, 10]), timeline([5], prompt_hash=HASH_B))
    clusters = cluster_requests(frame, rules()).clusters
    assert clusters["prompt_hash"].tolist() == [HASH_A]


def test_devices_projects_and_models_of_a_cluster() -> None:
    frame = joined(timeline([0, 10], device=1, project=10), timeline([20], device=2, project=-1),
                   timeline([30], device=2, project=11, model="claude-haiku-4-5"))
    cluster = cluster_requests(frame, rules()).clusters.iloc[0]
    assert cluster["devices"] == 2
    assert cluster["projects"] == 2  # the unattributed request is no project
    assert cluster["models"] == ["claude-haiku-4-5", "claude-sonnet-4-6"]
    assert cluster["model"] == "claude-sonnet-4-6" and cluster["project_id"] == 10


def test_the_same_rows_in_another_order_give_the_same_clusters() -> None:
    frame = joined(timeline(np.linspace(0, 900, 300)), timeline([0, 100, 200], prompt_hash=HASH_B, device=2))
    shuffled = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    one, two = cluster_requests(frame, rules()), cluster_requests(shuffled, rules())
    pd.testing.assert_frame_equal(one.clusters, two.clusters)
    pd.testing.assert_frame_equal(one.incidents, two.incidents)
