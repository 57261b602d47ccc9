"""The house decorator every task goes through: explicit name, family (queue and time limits),
retry for transient failures only, and log lines that carry the task and workspace."""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from celery import Task
from celery.exceptions import TimeLimitExceeded
from celery.signals import task_failure, task_retry, task_success
from celery.worker.request import Request

from core.db import Conn
from core.errors import TransientError, UserError
from store.runs import ClosedRun, fail_running_runs_of_task
from store.tenancy import workspace_scope, workspaces_of_running_task
from workers.app.celery import app
from workers.app.queues import TASK_FAMILIES, Family
from workers.runtime import metrics
from workers.runtime.db import connect
from workers.runtime.failures import MAX_RETRIES, is_transient
from workers.runtime.logs import bind_context
from workers.settings import get_settings

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class FleetRequest(Request):
    """The worker parent's handle on one delivery. A pool process killed mid-task (SIGKILL: the OOM killer)
    raises no task signal: the parent gives the message back to the queue (task_reject_on_worker_lost) and
    the task runs again, so it is counted here as `retried` (halton_tasks_total), in the parent."""

    def reject(self, requeue: bool = False) -> None:
        if requeue and not self.acknowledged:
            metrics.count_task(self.task.name, "retried")
        super().reject(requeue=requeue)


class FleetTask(Task[Any, Any]):
    """Base class: retries with exponential backoff and jitter, only for transient errors."""

    Request = FleetRequest  # type: ignore[assignment]  # Celery takes the class or its dotted name

    autoretry_for = (TransientError,)  # the task wrapper turns transient failures into TransientError
    # 15 s, 30 s, … capped at 10 min: about 40 minutes in all, enough to ride out a database failover
    retry_backoff = 15
    retry_backoff_max = 600
    retry_jitter = True
    max_retries = MAX_RETRIES
    # expected failures are logged without a traceback and not reported as crashes
    throws = (UserError,)

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """On a hard time limit Celery kills the child and calls this in the parent, and acknowledges the
        task: close the run the child left open, so it does not wait for the next run to be abandoned,
        then let the task write what the kill left undone (after_hard_limit)."""
        if isinstance(exc, TimeLimitExceeded):
            after = functools.partial(self.after_hard_limit, arguments=self.call_arguments(args, kwargs))
            # Celery calls this before it kills the child: wait for the kill in a thread, never on the
            # parent's event loop, which must go on serving the other children
            threading.Thread(target=close_runs_after_hard_limit, args=(task_id, self.time_limit, KILL_GRACE, after),
                             daemon=True, name=f"close-runs-{task_id}").start()

    def after_hard_limit(self, conn: Conn, closed: list[ClosedRun], arguments: Mapping[str, Any]) -> None:
        """What a task's killed delivery leaves to write once its open runs are closed, with the arguments
        it was called with (by name): nothing by default. Runs in the parent process, on the one-off
        connection with short statement timeouts; an error is logged, never raised."""

    def call_arguments(self, args: Any, kwargs: Any) -> dict[str, Any]:
        """The arguments of a call by parameter name, whether sent by position or by keyword."""
        try:
            return dict(inspect.signature(self.run).bind(*(args or ()), **(kwargs or {})).arguments)
        except Exception:  # a call the task could not have run: what was sent by keyword (never stop the close)
            return dict(kwargs or {}) if isinstance(kwargs, dict) else {}


KILL_GRACE = 5.0  # seconds for Celery to kill the timed-out child and Postgres to end its session


def close_runs_of_killed_task(conn: Conn, task_id: str, message: str) -> list[ClosedRun]:
    """Fail the runs the killed delivery left open (what else it owned is its task's after_hard_limit)."""
    return fail_running_runs_of_task(conn, task_id, message)


def hard_limit_message(limit: float | None) -> str:
    """What a run (and whatever the task closes after it) says when the hard time limit killed it."""
    return (f"hard time limit ({limit:.0f}s) exceeded: the worker process was killed; raise the limit or "
            "look at why the job is slow") if limit else "hard time limit exceeded: the worker process was killed"


def close_runs_after_hard_limit(task_id: str, limit: float | None, wait: float = 0.0,
                                after: Callable[[Conn, list[ClosedRun]], None] | None = None) -> None:
    """Close the runs of a delivery the hard time limit killed, then let `after` (the task's
    after_hard_limit) write what it needs; never raises, for it runs in the worker's parent."""
    message = hard_limit_message(limit)
    time.sleep(wait)
    try:
        # a one-off connection (no pool in the parent), with short limits so a stuck row cannot hold it
        with connect(get_settings().database_url, connect_timeout=3,
                     options="-c lock_timeout=2000 -c statement_timeout=5000") as conn:
            # one delivery, one workspace; the parent learns it from the runs (row-level security)
            for workspace_id in workspaces_of_running_task(conn, task_id):
                with workspace_scope(conn, workspace_id):
                    closed = close_runs_of_killed_task(conn, task_id, message)
                    try:
                        if after is not None:
                            after(conn, closed)
                    except Exception:  # the runs are closed (autocommit); only what the task adds is missing
                        log.warning("closed the runs of task %s after its hard time limit, but not what it adds",
                                    task_id, exc_info=True)
    except Exception:  # the parent must keep serving; the next run marks the run abandoned instead
        log.warning("could not close the runs of task %s after its hard time limit", task_id, exc_info=True)


def fleet_task(name: str, family: Family, base: type[FleetTask] = FleetTask) -> Callable[[F], Any]:
    """Register `fn` as the task `halton.<name>` (a `base`, a FleetTask, for a task with hooks of its own);
    the wrapper binds log context from its kwargs."""

    def decorate(fn: F) -> Any:
        full_name = f"halton.{name}"
        if TASK_FAMILIES.get(full_name) is not family:
            raise RuntimeError(f"add {full_name} to workers.app.queues.TASK_FAMILIES as {family}")

        @functools.wraps(fn)
        def logged(self: Task[Any, Any], *args: Any, **kwargs: Any) -> Any:
            context = {"task": full_name, "task_id": self.request.id}
            if "workspace_id" in kwargs:
                context["workspace"] = kwargs["workspace_id"]
            started = time.perf_counter()
            with bind_context(**context):
                try:
                    return fn(self, *args, **kwargs)
                except TransientError:
                    raise
                except Exception as error:
                    if is_transient(error):
                        raise TransientError(f"{type(error).__name__}: {error}") from error
                    raise
                finally:
                    metrics.observe_task(full_name, time.perf_counter() - started)

        return app.task(name=full_name, base=base, bind=True)(logged)

    return decorate


# halton_tasks_total: Celery's signals, since only Celery knows whether an error ends the task or retries it
# (autoretry_for); they fire in the process that ran the task (the parent, for one its hard time limit killed)
def _count(sender: Any, outcome: str) -> None:
    name = getattr(sender, "name", None)
    if isinstance(name, str) and name.startswith("halton."):
        metrics.count_task(name, outcome)


@task_success.connect
def _succeeded(sender: Any = None, **kwargs: Any) -> None:
    _count(sender, "succeeded")


@task_failure.connect
def _failed(sender: Any = None, **kwargs: Any) -> None:
    _count(sender, "failed")


@task_retry.connect
def _retried(sender: Any = None, **kwargs: Any) -> None:
    _count(sender, "retried")
