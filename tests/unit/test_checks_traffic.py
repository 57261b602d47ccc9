"""prompt-caching, cache-write-waste, batch-api, response-cache, runaway-loop and spend-spike on
hand-made frames; every expected saving is worked out by hand (rates version 2026-08-21)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from checks import batch_api, cache_write_waste, prompt_caching, response_cache, runaway_loop, spend_spike
from store.catalog_reads import DAILY_COLUMNS
from tests.unit.check_frames import AS_OF, START, cluster, inputs, rows

MINUTE = timedelta(minutes=1)


def session(key: int = 7, count: int = 12) -> list[dict[str, object]]:
    return rows(count, model="claude-haiku-4-5", input=2000, output=50, every=2 * MINUTE, prompt_key=key)


def test_prompt_caching_chooses_the_five_minute_cache_for_two_minute_gaps() -> None:
    # haiku $1 in, $5 out: 12 x (2000x1e6 + 50x5e6) = 27e9 pico as sent; cached: one 5-minute write
    # (2000x1.25e6 + 0.25e9 = 2.75e9) and 11 reads (2000x0.1e6 + 0.25e9 = 0.45e9) = 7.7e9
    [finding] = prompt_caching.run(inputs(session(), clusters=[cluster(7, "duplicate", "cacheable")]))
    assert finding.monthly_saving_nanos == 27_000_000 - 7_700_000 == 19_300_000
    assert finding.evidence["cache_lifetime"] == "5m" and finding.evidence["hits"] == 11


def test_prompt_caching_chooses_the_hour_cache_when_gaps_exceed_five_minutes() -> None:
    data = rows(12, model="claude-haiku-4-5", input=2000, output=50, every=10 * MINUTE, prompt_key=7)
    # 1-hour write 2000x2e6 + 0.25e9 = 4.25e9 and 11 reads 4.95e9: 27e9 - 9.2e9 = 17.8e9 pico
    [finding] = prompt_caching.run(inputs(data, clusters=[cluster(7, "cacheable")]))
    assert finding.evidence["cache_lifetime"] == "1h" and finding.monthly_saving_nanos == 17_800_000


def test_prompt_caching_stays_silent_when_the_cache_is_read_or_the_prompt_is_short_or_not_cacheable() -> None:
    clusters = [cluster(7, "duplicate", "cacheable")]
    assert prompt_caching.run(inputs(session(count=10), clusters=clusters)) == []  # 9 hits
    assert prompt_caching.run(inputs(session(), clusters=[cluster(7, "duplicate")])) == []
    read = session()
    read[3]["cache_read_tokens"] = 1500
    assert prompt_caching.run(inputs(read, clusters=clusters)) == []
    short = rows(12, model="claude-haiku-4-5", input=800, every=2 * MINUTE, prompt_key=7)
    assert prompt_caching.run(inputs(short, clusters=clusters)) == []
    openai = rows(12, model="gpt-5.1", input=2000, every=2 * MINUTE, prompt_key=7)
    assert prompt_caching.run(inputs(openai, clusters=clusters)) == []


def test_cache_write_waste_quotes_caching_off() -> None:
    # haiku: 1000 in + 3000 written (x1.25e6) + 100 out = 5.25e9 pico; uncached 4000x1e6 + 0.5e9 = 4.5e9
    [finding] = cache_write_waste.run(inputs(rows(20, model="claude-haiku-4-5", cache_write=3000)))
    assert finding.monthly_saving_nanos == 20 * 750_000 == 15_000_000
    assert finding.confidence == "high"


def test_cache_write_waste_stays_silent_when_writes_are_read_back() -> None:
    data = rows(20, model="claude-haiku-4-5", cache_write=3000) + rows(20, model="claude-haiku-4-5", cache_read=3000)
    assert cache_write_waste.run(inputs(data)) == []
    assert cache_write_waste.run(inputs(rows(19, model="claude-haiku-4-5", cache_write=3000))) == []


def nights(hour: int) -> list[dict[str, object]]:
    return [r for day in range(10) for r in rows(10, model="gemini-2.5-flash", every=10 * MINUTE,
                                                  start=START + timedelta(days=day, hours=hour))]


def test_batch_api_quotes_the_batch_discount_on_nightly_traffic() -> None:
    # gemini-2.5-flash: 1000 x 0.3e6 + 100 x 2.5e6 = 0.55e9 pico standard, 0.275e9 batch
    [finding] = batch_api.run(inputs(nights(hour=1)))
    assert finding.monthly_saving_nanos == 100 * 275_000 == 27_500_000
    assert finding.evidence["counterfactual"]["to"] == "batch"


def test_batch_api_stays_silent_on_daytime_traffic_or_models_without_batch() -> None:
    assert batch_api.run(inputs(nights(hour=13))) == []
    gpt = [dict(r, model="gpt-5.1", provider="openai") for r in nights(hour=1)]
    assert batch_api.run(inputs(gpt)) == []  # gpt-5.1 has no batch tier in 2026-08-21


def faq(key: int, count: int, cost: int) -> list[dict[str, object]]:
    return rows(count, prompt_key=key, cost=cost, every=timedelta(hours=12), model="claude-haiku-4-5")


def test_response_cache_quotes_every_repeat_after_the_first_at_the_tables_rates() -> None:
    # claude-haiku-4-5 $1/$5: 1000 in + 100 out = 1,500,000 nanos a request, whatever a daemon logged for it
    data = faq(11, 10, 1_000_000) + faq(12, 12, 2_000_000)
    [finding] = response_cache.run(inputs(data, clusters=[cluster(11, "duplicate"), cluster(12, "duplicate")]))
    assert finding.monthly_saving_nanos == (9 + 11) * 1_500_000 == 30_000_000
    assert finding.evidence["logged_nanos"] == 9 * 1_000_000 + 11 * 2_000_000
    assert finding.request_count == 20
    [lever] = finding.levers
    assert (lever.kind, lever.model, lever.window_saving_nanos) == ("drop", "claude-haiku-4-5", 30_000_000)
    assert lever.request_ids == {r["id"] for r in data[1:10] + data[11:]}  # every request but each first


def test_response_cache_counts_a_request_the_table_cannot_price_at_its_logged_cost() -> None:
    unknown = [dict(r, model="claude-unreleased-9") for r in faq(12, 12, 2_000_000)]
    data = faq(11, 10, 1_000_000) + unknown
    [finding] = response_cache.run(inputs(data, clusters=[cluster(11, "duplicate"), cluster(12, "duplicate")]))
    assert finding.monthly_saving_nanos == 9 * 1_500_000 + 11 * 2_000_000
    assert sorted((lever.model, lever.window_saving_nanos) for lever in finding.levers) == [
        ("claude-haiku-4-5", 9 * 1_500_000), ("claude-unreleased-9", 11 * 2_000_000)]


def test_response_cache_leaves_loops_and_single_sessions_alone() -> None:
    data = faq(11, 10, 1_000_000) + faq(12, 12, 2_000_000)
    clusters = [cluster(11, "duplicate"), cluster(12, "duplicate")]
    loop = {"prompt_hash": "x", "prompt_key": 12, "device_id": 1, "project_id": 1, "started_at": START,
            "ended_at": AS_OF, "requests": 12, "cost_nanos": 1, "peak_per_minute": 1}
    assert response_cache.run(inputs(data, clusters=clusters, loops=[loop])) == []  # 9 repeats left
    same_day = rows(30, prompt_key=11, cost=1_000_000, every=MINUTE)
    assert response_cache.run(inputs(same_day, clusters=clusters)) == []


def test_runaway_loop_quotes_the_burst_beyond_its_first_three_requests_unscaled() -> None:
    start = AS_OF - timedelta(days=3)
    data = rows(100, prompt_key=21, device=2, cost=500_000, start=start, every=timedelta(seconds=2))
    loop = {"prompt_hash": "ab" * 32, "prompt_key": 21, "device_id": 2, "project_id": 1, "started_at": start,
            "ended_at": start + 99 * timedelta(seconds=2), "requests": 100, "cost_nanos": 50_000_000,
            "peak_per_minute": 30}
    [finding] = runaway_loop.run(inputs(data, loops=[loop]))
    assert finding.impact_nanos == 97 * 500_000  # a one-off: 3 days observed, not scaled
    assert finding.recurrence == "one_off" and finding.monthly_saving_nanos == 0 and finding.levers == ()
    assert finding.device_id == 2 and set(finding.sample_request_ids) <= {r["id"] for r in data}


def test_runaway_loop_stays_silent_without_incidents() -> None:
    assert runaway_loop.run(inputs(rows(100, prompt_key=21, cost=500_000, every=timedelta(seconds=2)))) == []


def test_runaway_loop_quotes_nothing_for_a_burst_no_longer_than_its_first_three_requests() -> None:
    start = AS_OF - timedelta(days=3)
    data = rows(3, prompt_key=21, device=2, cost=500_000, start=start, every=timedelta(seconds=2))
    loop = {"prompt_hash": "ab" * 32, "prompt_key": 21, "device_id": 2, "project_id": 1, "started_at": start,
            "ended_at": start + 2 * timedelta(seconds=2), "requests": 3, "cost_nanos": 1_500_000,
            "peak_per_minute": 3}
    assert runaway_loop.run(inputs(data, loops=[loop])) == []


def daily(before: int, after: int) -> pd.DataFrame:
    days = [(AS_OF - timedelta(days=d)).date() for d in range(1, 15)]
    return pd.DataFrame([(day, 1, 1, "anthropic", "claude-sonnet-4-6", "standard", 10,
                          after if day >= (AS_OF - timedelta(days=7)).date() else before) for day in days],
                        columns=DAILY_COLUMNS)


def test_spend_spike_is_an_anomaly_of_the_excess_over_the_baseline_week_unscaled() -> None:
    # 7 days at $3 against 7 days at $1: $14 above the baseline, not x 30/7 into a monthly figure
    [finding] = spend_spike.run(inputs(rows(3), daily=daily(1_000_000_000, 3_000_000_000)))
    assert finding.impact_nanos == 7 * 3_000_000_000 - 7 * 1_000_000_000 == 14_000_000_000
    assert finding.recurrence == "anomaly" and finding.monthly_saving_nanos == 0 and finding.levers == ()
    assert (finding.project_id, finding.subject, finding.confidence) == (1, "project:1", "medium")


def test_spend_spike_stays_silent_below_double() -> None:
    assert spend_spike.run(inputs(rows(3), daily=daily(1_000_000_000, 1_900_000_000))) == []


def test_spend_spike_leaves_a_device_to_its_spiking_project_but_names_one_whose_project_held_steady() -> None:
    def scope(project: int, device: int, before: int, after: int) -> pd.DataFrame:
        return daily(before, after).assign(project_id=project, device_id=device)

    old = scope(2, 3, 0, 0).assign(day=[(AS_OF - timedelta(days=d)).date() for d in range(20, 34)],
                                   cost_nanos=50_000_000_000)  # before the two weeks: not compared
    data = pd.concat([scope(1, 1, 1_000_000_000, 3_000_000_000),  # project 1 spikes through device 1
                      scope(2, 2, 1_000_000_000, 3_000_000_000),  # device 2 spikes inside project 2 ...
                      scope(2, 3, 20_000_000_000, 20_000_000_000), old],  # ... which device 3 holds steady
                     ignore_index=True)
    found = spend_spike.run(inputs(rows(3), daily=data))
    assert [(f.subject, f.project_id, f.device_id, f.impact_nanos, f.request_count) for f in found] == [
        ("project:1", 1, None, 14_000_000_000, 70), ("device:2", None, 2, 14_000_000_000, 70)]
