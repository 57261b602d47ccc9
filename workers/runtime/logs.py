"""Structured log lines: every line of a job carries its task, workspace and run."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("halton_log_context", default=None)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(context)s%(message)s"


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        fields = _context.get() or {}
        record.context = "".join(f"{key}={value} " for key, value in fields.items())
        return True


@contextmanager
def bind_context(**fields: Any) -> Iterator[None]:
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def configure_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if any(isinstance(f, ContextFilter) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)


def log_pool_warnings() -> None:
    """Let the prefork pool's own warnings through (billiard's logger, which Celery leaves at ERROR or unset
    when the app configures logging): "child process exiting after exceeding memory limit (…KiB / …KiB)"
    is how an operator sees HALTON_WORKER_MAX_MEMORY_PER_CHILD recycle a child. The pool children inherit it."""
    from billiard import util  # the worker's start-up only

    pool_logger = util.get_logger()
    pool_logger.setLevel(logging.WARNING)
    pool_logger.propagate = True  # to the root handler configure_logging installed
