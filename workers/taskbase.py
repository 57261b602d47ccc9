"""The house decorator every task goes through: explicit name, family (queue and time limits),
retry for transient failures only, and log lines that carry the task and workspace."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import kombu.exceptions
import psycopg
import redis.exceptions
from celery import Task

from workers.app import app
from workers.errors import TransientError, UserError
from workers.logs import bind_context
from workers.queues import TASK_FAMILIES, Family

log = logging.getLogger(__name__)

# One place decides what is worth retrying: lost connections and overloaded providers.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
    httpx.TransportError,
)

F = TypeVar("F", bound=Callable[..., Any])


def is_transient(error: BaseException) -> bool:
    return isinstance(error, (TransientError, *TRANSIENT_ERRORS))


class FleetTask(Task[Any, Any]):
    """Base class: retries with exponential backoff and jitter, only for transient errors."""

    autoretry_for = (TransientError, *TRANSIENT_ERRORS)
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
                return fn(self, *args, **kwargs)

        return app.task(name=full_name, base=FleetTask, bind=True)(logged)

    return decorate
