"""halton_tasks_total and halton_task_seconds from the house decorator and Celery's signals, in this process
(no multiprocess directory: the metrics are plain in-process ones, read from the default registry)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from prometheus_client import REGISTRY

from core.errors import TransientError, UserError
from workers.jobs import JobOutcome
from workers.jobs import decisions as checks_jobs
from workers.settings import get_settings
from workers.tasks import checks as tasks_checks

TASK = "halton.apply_decisions"


@pytest.fixture(autouse=True)
def fleet_env_vars(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@db/h")
    monkeypatch.setenv("REDIS_URL", "redis://r:6379/0")
    get_settings.cache_clear()
    monkeypatch.setattr(tasks_checks, "workspace_connection", lambda *args: nullcontext())
    yield
    get_settings.cache_clear()


def counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("halton_tasks_total", {"task": TASK, "outcome": outcome}) or 0.0


def timed() -> float:
    return REGISTRY.get_sample_value("halton_task_seconds_count", {"task": TASK}) or 0.0


def run_with(monkeypatch: pytest.MonkeyPatch, job: Any) -> Any:
    monkeypatch.setattr(checks_jobs, "apply_decisions", job)
    return tasks_checks.apply_decisions_task.apply(kwargs={"workspace_id": 4})


def test_a_task_that_returns_is_counted_succeeded_and_timed(monkeypatch: pytest.MonkeyPatch) -> None:
    before, runs = counted("succeeded"), timed()
    run_with(monkeypatch, lambda conn, ws, **kw: JobOutcome("apply_decisions", ws, "succeeded")).get()
    assert counted("succeeded") == before + 1
    assert timed() == runs + 1


def test_a_user_error_is_counted_failed_without_a_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    before, retried = counted("failed"), counted("retried")

    def refuse(conn: Any, ws: int, **kw: Any) -> JobOutcome:
        raise UserError("no workspace with id 4")

    with pytest.raises(UserError):
        run_with(monkeypatch, refuse).get()
    assert counted("failed") == before + 1
    assert counted("retried") == retried


def test_a_transient_error_is_counted_retried_then_the_retry_succeeded(monkeypatch: pytest.MonkeyPatch) -> None:
    before, succeeded, runs = counted("retried"), counted("succeeded"), timed()
    calls: list[int] = []

    def flaky(conn: Any, ws: int, **kw: Any) -> JobOutcome:
        calls.append(ws)
        if len(calls) == 1:
            raise TransientError("connection refused")
        return JobOutcome("apply_decisions", ws, "succeeded")

    run_with(monkeypatch, flaky)  # eager: Celery runs the retry at once, inside this call
    assert calls == [4, 4]
    assert counted("retried") == before + 1
    assert counted("succeeded") == succeeded + 1
    assert timed() == runs + 2
