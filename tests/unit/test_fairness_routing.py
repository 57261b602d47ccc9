"""Fairness (issue 18 item 2, docs/DESIGN.md "Fairness"): the fan-out's plan sends small workspaces first and
marks the large ones heavy; the nightly fan-out sends those to the heavy queue at the lowest priority; the
Celery configuration declares the heavy queue, the priority steps and the memory ceiling; the queue names the
metrics and KEDA read are kombu's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

import pytest
from kombu.transport.redis import Channel

from schedules.fanout import dispatch, plan_fanout
from workers.app.config import build_config
from workers.app.queues import (
    HEAVY_PRIORITY,
    PRIORITY_STEPS,
    REDIS_PRIORITY_SEPARATOR,
    SMALL_PRIORITY,
    priority_lists,
    worker_queues,
)
from workers.settings import Settings

AS_OF = datetime(2026, 11, 26, 2, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return Settings(database_url="postgresql://x@db/h", redis_url="redis://r:6379/0")


def test_the_plan_sends_the_smallest_first_and_marks_the_large_ones_heavy() -> None:
    sizes = {1: 5_000_000, 2: 300, 3: 2_000_000, 4: 12, 5: 300, 6: 0}
    plan = plan_fanout([1, 2, 3, 4, 5, 6], AS_OF, sizes, heavy_from=1_000_000)
    assert plan.workspace_ids == [6, 4, 2, 5, 3, 1]  # ties (2 and 5) keep the order they were met in
    assert plan.heavy == {1, 3}
    sent: list[int] = []
    dispatch(plan, lambda ws, as_of, batch: sent.append(ws))
    assert sent == plan.workspace_ids


def test_without_sizes_the_plan_keeps_the_order_and_nothing_is_heavy() -> None:
    plan = plan_fanout([3, 1, 2], AS_OF)
    assert plan.workspace_ids == [3, 1, 2] and plan.heavy == frozenset()


def test_a_workspace_at_the_threshold_is_heavy() -> None:
    assert plan_fanout([1, 2], AS_OF, {1: 999, 2: 1000}, heavy_from=1000).heavy == {2}


@pytest.fixture
def fleet_env_vars(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from workers.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://x@db/h")
    monkeypatch.setenv("REDIS_URL", "redis://r:6379/0")
    monkeypatch.setenv("HALTON_HEAVY_WORKSPACE_REQUESTS", "1000")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_nightly_fanout_sends_large_workspaces_last_on_the_heavy_queue_at_the_lowest_priority(
        monkeypatch: pytest.MonkeyPatch, fleet_env_vars: None) -> None:
    from workers.runtime import db
    from workers.tasks import refresh as tasks

    sizes = {1: 50_000, 2: 40, 3: 1000, 4: 7}
    measured: list[tuple[list[int], int]] = []

    def workspace_sizes(conn: Any, ids: list[int], start: datetime, end: datetime, cap: int,
                        history_start: datetime | None = None) -> dict[int, int]:
        measured.append((list(ids), cap))
        return {ws: sizes[ws] for ws in ids}

    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(db, "pooled_connection", lambda *args: nullcontext())
    monkeypatch.setattr(tasks, "all_workspace_ids", lambda conn: [1, 2, 3, 4])
    monkeypatch.setattr(tasks, "workspace_sizes", workspace_sizes)
    monkeypatch.setattr(tasks.refresh_workspace_task, "apply_async", lambda **options: sent.append(options))
    outcome = tasks.nightly_fanout_task.apply(kwargs={"as_of": AS_OF.isoformat()}).get()
    assert measured == [([1, 2, 3, 4], 1000)]  # the count stops at the threshold
    assert [options["kwargs"]["workspace_id"] for options in sent] == [4, 2, 3, 1]
    routes = {options["kwargs"]["workspace_id"]: (options.get("queue"), options["priority"]) for options in sent}
    assert routes == {4: (None, SMALL_PRIORITY), 2: (None, SMALL_PRIORITY),  # their family's queue: analysis
                      3: ("analysis_heavy", HEAVY_PRIORITY), 1: ("analysis_heavy", HEAVY_PRIORITY)}
    assert outcome["workspaces"] == 4 and outcome["heavy"] == 2
    assert {options["headers"]["batch_id"] for options in sent} == {outcome["batch_id"]}


def kombu_channel() -> Any:
    """kombu's Redis channel with the configured priority steps, never connected (its naming methods only)."""
    channel: Any = Channel.__new__(Channel)
    channel.priority_steps = list(PRIORITY_STEPS)
    return channel


def test_the_heavy_priority_is_the_last_step_kombu_polls_and_small_the_first() -> None:
    assert HEAVY_PRIORITY > SMALL_PRIORITY  # on Redis 0 is the highest priority
    channel = kombu_channel()
    assert channel.priority(SMALL_PRIORITY) == PRIORITY_STEPS[0]
    assert channel.priority(HEAVY_PRIORITY) == PRIORITY_STEPS[-1]


def test_the_redis_lists_of_a_queue_are_named_as_kombu_names_them(settings: Settings) -> None:
    """halton_queue_length and the KEDA triggers read these lists: a kombu that named them otherwise would
    leave the heavy queue's waiting refreshes uncounted."""
    assert Channel.sep == REDIS_PRIORITY_SEPARATOR
    channel = kombu_channel()
    assert priority_lists("q") == [channel._q_for_pri("q", step) for step in PRIORITY_STEPS]


def test_the_configuration_declares_the_heavy_queue_the_priority_steps_and_the_memory_ceiling(
        settings: Settings) -> None:
    config = build_config(settings)
    assert [queue.name for queue in config["task_queues"]] == worker_queues(settings)
    assert settings.queue_heavy in worker_queues(settings)
    assert config["broker_transport_options"]["priority_steps"] == list(PRIORITY_STEPS)
    assert config["worker_prefetch_multiplier"] == 1 and config["task_acks_late"]
    assert config["task_reject_on_worker_lost"]  # a child killed mid-task gives its task back
    assert config["worker_max_memory_per_child"] == settings.worker_max_memory_per_child > 0


def test_the_memory_ceiling_is_a_setting_and_zero_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALTON_WORKER_MAX_MEMORY_PER_CHILD", "600000")
    settings = Settings(database_url="postgresql://x@db/h", redis_url="redis://r:6379/0")
    assert build_config(settings)["worker_max_memory_per_child"] == 600_000
    monkeypatch.setenv("HALTON_WORKER_MAX_MEMORY_PER_CHILD", "0")
    settings = Settings(database_url="postgresql://x@db/h", redis_url="redis://r:6379/0")
    assert build_config(settings)["worker_max_memory_per_child"] is None
