"""The Celery configuration: JSON only, late acks, routing by family, a beat schedule that loads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from celery.schedules import crontab, schedule

from schedules.beat import beat_entries
from schedules.fanout import dispatch, plan_fanout
from workers.app.config import FamilyRouter, build_config
from workers.app.queues import TASK_FAMILIES
from workers.settings import Settings, last_fire_time, parse_schedule


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


def test_flower_sees_every_task_and_results_are_kept_without_a_started_state(settings: Settings) -> None:
    config = build_config(settings)
    # Flower: task-sent, -received, -started (sent by the worker's parent on accepting it), -succeeded/-failed
    assert config["worker_send_task_events"] and config["task_send_sent_event"]
    assert config["result_backend"] == settings.redis_url and not config.get("task_ignore_result")
    # nothing reads a STARTED state from the result backend (its Redis round trips cost every task)
    assert not config.get("task_track_started")


def test_every_task_name_routes_to_its_family_queue_without_importing_the_tasks(settings: Settings) -> None:
    router = FamilyRouter(settings)
    assert router("halton.refresh_workspace", (), {}, {}) == {"queue": "analysis"}
    assert router("halton.nightly_fanout", (), {}, {}) == {"queue": "analysis"}
    assert router("halton.not_a_task", (), {}, {}) is None


def test_registered_tasks_match_the_family_table_and_carry_their_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@db/h")
    monkeypatch.setenv("REDIS_URL", "redis://r:6379/0")

    from workers.app.celery import app

    app.loader.import_default_modules()  # and every capability's task module in the app's include list

    registered = {name for name in app.tasks if name.startswith("halton.")}
    assert registered == set(TASK_FAMILIES)
    for name in registered:
        task = app.tasks[name]
        assert task.soft_time_limit is not None and task.time_limit is not None
        assert 0 < task.soft_time_limit < task.time_limit


def test_beat_schedule_loads_and_every_entry_expires(settings: Settings) -> None:
    entries = build_config(settings)["beat_schedule"]
    assert entries["nightly-refresh"]["task"] == "halton.nightly_fanout"
    assert isinstance(entries["nightly-refresh"]["schedule"], crontab)
    assert all(entry.expires > 0 for entry in beat_entries())
    assert {entry.task for entry in beat_entries()} <= set(TASK_FAMILIES)


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


@pytest.mark.parametrize(("schedule_text", "now", "expected"), [
    ("0 2 * * *", datetime(2026, 11, 26, 19, 40, 12, tzinfo=UTC), datetime(2026, 11, 26, 2, 0, tzinfo=UTC)),
    ("0 2 * * *", datetime(2026, 11, 26, 1, 59, tzinfo=UTC), datetime(2026, 11, 25, 2, 0, tzinfo=UTC)),
    ("0 2 * * *", datetime(2026, 11, 26, 2, 0, 30, tzinfo=UTC), datetime(2026, 11, 26, 2, 0, tzinfo=UTC)),
    ("30 3 * * 1", datetime(2026, 11, 26, 19, 0, tzinfo=UTC), datetime(2026, 11, 23, 3, 30, tzinfo=UTC)),
    ("every:5", datetime(2026, 11, 26, 19, 40, 12, tzinfo=UTC), datetime(2026, 11, 26, 19, 40, 10, tzinfo=UTC)),
], ids=["later that day", "before the night's run", "a retry a moment later", "weekly on monday", "interval"])
def test_a_fanout_without_as_of_takes_the_schedules_latest_fire_time(
    schedule_text: str, now: datetime, expected: datetime
) -> None:
    assert last_fire_time(schedule_text, now) == expected


def test_billing_is_pulled_nightly_and_swept_hourly_but_not_on_the_demos_interval() -> None:
    names = {entry.name: entry for entry in beat_entries("0 2 * * *")}
    assert names["nightly-billing"].task == "halton.pull_billing_fanout" and names["nightly-billing"].expires > 0
    assert names["hourly-reconcile-sweep"].task == "halton.reconcile_sweep"
    assert [entry.name for entry in beat_entries("every:5")] == ["nightly-refresh"]


@pytest.fixture
def fleet_env_vars(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from workers.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://x@db/h")
    monkeypatch.setenv("REDIS_URL", "redis://r:6379/0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_billing_fanout_sends_its_pulls_as_one_batch_like_the_nightly_fanout(
        monkeypatch: pytest.MonkeyPatch, fleet_env_vars: None) -> None:
    from contextlib import nullcontext
    from typing import Any

    from workers.runtime import db
    from workers.tasks import reconcile as tasks_reconcile
    from workers.tasks import refresh as tasks

    sent: list[tuple[str, dict[str, Any]]] = []

    def recorder(name: str) -> Any:
        return lambda **options: sent.append((name, options))

    monkeypatch.setattr(db, "pooled_connection", lambda *args: nullcontext())
    monkeypatch.setattr(tasks_reconcile, "workspaces_with_connections", lambda conn: [7, 3])
    monkeypatch.setattr(tasks_reconcile.pull_billing_task, "apply_async", recorder("pull"))
    monkeypatch.setattr(tasks_reconcile.reconcile_sweep_task, "apply_async", recorder("sweep"))
    outcome = tasks_reconcile.pull_billing_fanout_task.apply(kwargs={"as_of": "2026-11-26T02:00:00+00:00"}).get()
    pulls = [options for name, options in sent if name == "pull"]
    assert [p["kwargs"] for p in pulls] == [{"workspace_id": ws, "as_of": "2026-11-26T02:00:00+00:00"} for ws in (7, 3)]
    assert {p["headers"]["batch_id"] for p in pulls} == {outcome["batch_id"]}
    assert {p["expires"] for p in pulls} == {tasks.FANOUT_EXPIRES}
    assert [name for name, _ in sent] == ["pull", "pull", "sweep"]
    assert outcome["workspaces"] == 2 and outcome["as_of"] == "2026-11-26T02:00:00+00:00"


def test_apply_decisions_runs_with_the_statement_timeout_of_its_soft_limit(
        monkeypatch: pytest.MonkeyPatch, fleet_env_vars: None) -> None:
    from contextlib import nullcontext
    from typing import Any

    from workers.jobs import JobOutcome
    from workers.jobs import decisions as checks_jobs
    from workers.tasks import checks as tasks_checks
    from workers.tasks.refresh import statement_timeout

    timeouts: list[Any] = []

    def workspace_connection(workspace_id: int, *args: Any) -> Any:  # the pooled connection, scoped
        timeouts.append(args[0] if args else None)
        return nullcontext()

    monkeypatch.setattr(tasks_checks, "workspace_connection", workspace_connection)
    monkeypatch.setattr(checks_jobs, "apply_decisions",
                        lambda conn, ws, task_id=None, attempt=0: JobOutcome("apply_decisions", ws, "succeeded"))
    task = tasks_checks.apply_decisions_task
    task.apply(kwargs={"workspace_id": 4}).get()
    assert statement_timeout(task) is not None and timeouts == [statement_timeout(task)]
