"""The Celery configuration: JSON only, late acks, routing by family, a beat schedule that loads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from celery.schedules import crontab, schedule

from schedules.beat import beat_schedule, parse_schedule
from schedules.fanout import dispatch, plan_fanout
from workers.celeryconfig import FamilyAnnotations, FamilyRouter, build_config
from workers.settings import Settings


@pytest.fixture
def settings() -> Settings:
    return Settings(database_url="postgresql://x@db/h", redis_url="redis://r:6379/0")


def test_only_json_crosses_the_broker(settings: Settings) -> None:
    config = build_config(settings)
    assert config["task_serializer"] == "json" and config["accept_content"] == ["json"]


def test_tasks_are_acknowledged_late_and_one_at_a_time(settings: Settings) -> None:
    config = build_config(settings)
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["broker_transport_options"]["visibility_timeout"] > settings.limits.longest_hard()


def test_every_registered_task_has_a_queue_and_time_limits(settings: Settings) -> None:
    import workers.tasks  # noqa: F401  (registers the tasks)
    from workers.celeryconfig import TASK_FAMILIES

    router, annotations = FamilyRouter(settings), FamilyAnnotations(settings)
    assert {"halton.refresh_workspace", "halton.nightly_fanout"} <= set(TASK_FAMILIES)
    for name in TASK_FAMILIES:
        route = router(name, (), {}, {})
        assert route is not None and route["queue"] in {"analysis", "billing", "pdf"}

        class Named:
            pass

        task = Named()
        task.name = name  # type: ignore[attr-defined]
        limits = annotations.annotate(task)
        assert limits is not None and 0 < limits["soft_time_limit"] < limits["time_limit"]


def test_beat_schedule_loads_and_every_entry_expires() -> None:
    entries = beat_schedule()
    assert entries["nightly-refresh"]["task"] == "halton.nightly_fanout"
    assert isinstance(entries["nightly-refresh"]["schedule"], crontab)
    assert all(entry["options"]["expires"] > 0 for entry in entries.values())


def test_schedule_text_is_crontab_or_an_interval() -> None:
    nightly = parse_schedule("0 2 * * *")
    assert isinstance(nightly, crontab)
    assert (getattr(nightly, "hour", None), getattr(nightly, "minute", None)) == ({2}, {0})
    every = parse_schedule("every:5")
    assert isinstance(every, schedule) and every.seconds == 5


def test_fanout_sends_one_refresh_per_workspace_with_one_batch_and_as_of() -> None:
    sent: list[tuple[int, str, str]] = []
    plan = plan_fanout([3, 1, 2], datetime(2026, 11, 26, 2, tzinfo=UTC))
    assert dispatch(plan, lambda ws, as_of, batch: sent.append((ws, as_of, batch))) == 3
    assert [ws for ws, _, _ in sent] == [3, 1, 2]
    assert {(as_of, batch) for _, as_of, batch in sent} == {("2026-11-26T02:00:00+00:00", plan.batch_id)}
