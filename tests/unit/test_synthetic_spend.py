"""The backtest's spend series are seeded and hold what they say was planted."""

from __future__ import annotations

import datetime as dt

import numpy as np

from synthetic.spend import daily_stories, steady_hourly

START = dt.date(2026, 1, 1)


def test_the_same_seed_gives_the_same_series() -> None:
    a, b = daily_stories(5, 3, START, 120, events_from=60), daily_stories(5, 3, START, 120, events_from=60)
    assert all(x.first_day == y.first_day and np.array_equal(x.nanos, y.nanos) for x, y in zip(a, b, strict=True))


def test_each_story_has_its_step_and_burst_in_the_events_stretch() -> None:
    for story in daily_stories(50, 4, START, 120, events_from=60):
        end = START + dt.timedelta(days=119)
        assert START + dt.timedelta(days=60) <= story.step_day <= end
        assert START + dt.timedelta(days=60) <= story.burst_day <= end
        assert len(story.nanos) == (end - story.first_day).days + 1
        burst = (story.burst_day - story.first_day).days
        assert story.nanos[burst] >= story.burst_nanos  # the burst is on top of the day's spend
        assert story.nanos.dtype == np.int64 and story.nanos.min() >= 0


def test_steady_traffic_averages_what_was_asked() -> None:
    spend, requests = steady_hourly(np.random.default_rng(5), START, 28, 100.0, dollars_per_request=0.05)
    assert len(spend) == len(requests) == 28 * 144
    assert abs(spend.sum() / 28 / 1e9 - 100.0) < 10.0
    assert abs(requests.sum() / 28 - 2000) < 200
