"""The house decorator every task goes through: explicit name, family (queue and time limits),
retry for transient failures only, and log lines that carry the task and workspace."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from celery import Task

from workers.app import app
from workers.errors import TransientError, UserError
from workers.failures import is_transient
from workers.logs import bind_context
from workers.queues import TASK_FAMILIES, Family

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class FleetTask(Task[Any, Any]):
    """Base class: retries with exponential backoff and jitter, only for transient errors."""

    autoretry_for = (TransientError,)  # the task wrapper turns transient failures into TransientError
    # 15 s, 30 s, … capped at 10 min: about 40 minutes in all, enough to ride out a database failover
    retry_backoff = 15
    retry_backoff_max = 600
    retry_jitter = True
    max_retries = 8
    # expected failures are logged without a traceback and not reported as crashes
    throws = (UserError,)


def fleet_task(name: str, family: Family) -> Callable[[F], Any]:
    """Register `fn` as the task `halton.<name>`; the wrapper binds log context from its kwargs."""

    def decorate(fn: F) -> Any:
        full_name = f"halton.{name}"
        if TASK_FAMILIES.get(full_name) is not family:
            raise RuntimeError(f"add {full_name} to workers.queues.TASK_FAMILIES as {family}")

        @functools.wraps(fn)
        def logged(self: Task[Any, Any], *args: Any, **kwargs: Any) -> Any:
            context = {"task": full_name, "task_id": self.request.id}
            if "workspace_id" in kwargs:
                context["workspace"] = kwargs["workspace_id"]
            with bind_context(**context):
                try:
                    return fn(self, *args, **kwargs)
                except TransientError:
                    raise
                except Exception as error:
                    if is_transient(error):
                        raise TransientError(f"{type(error).__name__}: {error}") from error
                    raise

        return app.task(name=full_name, base=FleetTask, bind=True)(logged)

    return decorate
