"""The spend-anomaly rule: silent on steady traffic and on small blips, loud on a runaway loop."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from forecast import AnomalyRule, SpendBuckets, detect_anomalies, detect_anomaly
from synthetic.spend import steady_hourly

DOLLAR = 1_000_000_000
START = dt.date(2026, 3, 2)
PER_DAY = 144  # 10-minute buckets


def ending(nanos: np.ndarray, requests: np.ndarray | None, end_bucket: int, scope_id: int = 7) -> SpendBuckets:
    """The buckets up to `end_bucket` (exclusive), with the 14 days + 1 hour of history the rule reads."""
    start = max(end_bucket - 14 * PER_DAY - 6, 0)
    end = dt.datetime(START.year, START.month, START.day, tzinfo=dt.UTC) + dt.timedelta(minutes=10 * end_bucket)
    return SpendBuckets("device", scope_id, end, 10, nanos[start:end_bucket],
                        None if requests is None else requests[start:end_bucket])


def small_device(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A device spending $0.10 an hour on average, in requests of a cent."""
    return steady_hourly(np.random.default_rng(seed), START, 16, 2.4, dollars_per_request=0.01)


def at(day: int, hour: int, minute: int = 0) -> int:
    return day * PER_DAY + hour * 6 + minute // 10


def test_a_five_dollar_blip_on_a_ten_cent_an_hour_device_is_not_an_alert() -> None:
    spend, requests = small_device()
    now = at(15, 14)
    spend[now - 1] += 5 * DOLLAR
    requests[now - 1] += 50
    assert detect_anomaly(ending(spend, requests, now)) is None


def test_a_loop_burning_eighty_dollars_in_twenty_minutes_is_an_alert() -> None:
    spend, requests = small_device()
    now = at(15, 14, 20)
    spend[now - 2:now] += 40 * DOLLAR
    requests[now - 2:now] += 150
    anomaly = detect_anomaly(ending(spend, requests, now))
    assert anomaly is not None
    assert anomaly.amount_nanos == int(spend[now - 6:now].sum()) and anomaly.amount_nanos > 80 * DOLLAR
    assert anomaly.expected_nanos < DOLLAR
    assert anomaly.ceiling_nanos < 5 * DOLLAR
    assert anomaly.window_end == dt.datetime(2026, 3, 17, 14, 20, tzinfo=dt.UTC)
    assert anomaly.window_end - anomaly.window_start == dt.timedelta(hours=1)
    assert "in the hour to 14:20 UTC" in anomaly.why and "busiest hour of the last 14 days" in anomaly.why


def test_the_loop_is_caught_by_every_pulse_of_the_hour_it_runs_in() -> None:
    spend, requests = small_device(seed=2)
    start = at(15, 3, 40)  # at night, when the device is quietest
    spend[start:start + 2] += 40 * DOLLAR
    requests[start:start + 2] += 150
    found = [detect_anomaly(ending(spend, requests, end)) for end in range(start + 1, start + 7)]
    assert all(a is not None for a in found)
    assert {a.hour for a in found if a is not None} == {dt.datetime(2026, 3, 17, 3, tzinfo=dt.UTC),
                                                        dt.datetime(2026, 3, 17, 4, tzinfo=dt.UTC)}


def test_a_device_that_never_spent_then_loops_is_an_alert() -> None:
    spend = np.zeros(16 * PER_DAY, dtype=np.int64)
    spend[-2:] = 40 * DOLLAR
    anomaly = detect_anomaly(ending(spend, None, len(spend)))
    assert anomaly is not None and "more than 100×" in anomaly.why


def test_one_expensive_prompt_is_not_a_loop_when_requests_are_counted() -> None:
    spend, requests = steady_hourly(np.random.default_rng(3), START, 16, 20.0, dollars_per_request=2.0)
    now = at(15, 10)
    spend[now - 6:now], requests[now - 6:now] = 0, 0
    spend[now - 1], requests[now - 1] = 60 * DOLLAR, 1  # an hour with one long-context request and nothing else
    assert detect_anomaly(ending(spend, requests, now)) is None
    assert detect_anomaly(ending(spend, None, now)) is not None  # on spend alone it would have been one


def test_less_than_a_day_of_history_gives_no_verdict() -> None:
    spend = np.zeros(20 * 6 + 6, dtype=np.int64)  # 20 hours of history, then a loop
    spend[-2:] = 40 * DOLLAR
    assert detect_anomaly(ending(spend, None, len(spend))) is None


def test_the_minimum_amount_is_a_setting() -> None:
    spend, requests = small_device(seed=4)
    now = at(15, 14)
    spend[now - 1] += 5 * DOLLAR
    requests[now - 1] += 50
    assert detect_anomaly(ending(spend, requests, now), AnomalyRule(min_excess_nanos=2 * DOLLAR)) is not None


@pytest.mark.parametrize(("dollars_per_day", "dollars_per_request"), [
    (2.4, 0.01),  # a device at ten cents an hour
    (40.0, 0.05),  # a developer's laptop
    (150.0, 0.5),  # a coding agent with long prompts
    (300.0, 0.02),  # a project
    (1500.0, 0.1),  # a busy project
])
def test_a_month_of_steady_traffic_raises_nothing(dollars_per_day: float, dollars_per_request: float) -> None:
    spend, requests = steady_hourly(np.random.default_rng(17), START, 45, dollars_per_day,
                                    dollars_per_request=dollars_per_request, utc_offset_hours=1)
    pulses = range(14 * PER_DAY + 6, len(spend) + 1)  # every 10 minutes for a month, after two weeks
    assert len(pulses) > 30 * PER_DAY
    assert detect_anomalies(ending(spend, requests, end) for end in pulses) == []


def test_buckets_must_divide_an_hour_and_end_in_utc() -> None:
    with pytest.raises(ValueError, match="divide an hour"):
        SpendBuckets("device", 1, dt.datetime(2026, 3, 1, tzinfo=dt.UTC), 7, np.zeros(10, dtype=np.int64))
    with pytest.raises(ValueError, match="UTC"):
        SpendBuckets("device", 1, dt.datetime(2026, 3, 1), 10, np.zeros(10, dtype=np.int64))


def test_hourly_buckets_work_the_same() -> None:
    spend = np.full(15 * 24, DOLLAR // 10, dtype=np.int64)
    spend[-1] += 80 * DOLLAR
    end = dt.datetime(2026, 3, 16, tzinfo=dt.UTC)
    anomaly = detect_anomaly(SpendBuckets("project", 3, end, 60, spend))
    assert anomaly is not None and anomaly.expected_nanos == DOLLAR // 10
