"""The jobs as plain functions: what a task runs, callable directly from tests and the command line.

No Celery here. Each job claims its run, reads through store/, computes with pure domain code and
writes its results together with the run row in one transaction (store.runs.claimed_run).
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.db import Conn
from core.errors import UserError
from workers.jobs.pipeline import PipelineOutcome, run_pipeline

log = logging.getLogger(__name__)

FUTURE_SKEW = timedelta(hours=1)  # beyond this a future as_of is a mistake, not a clock running ahead


@dataclass(frozen=True)
class JobOutcome:
    job: str
    workspace_id: int
    status: str  # 'succeeded' (a failure raises)
    run_id: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"job": self.job, "workspace_id": self.workspace_id, "status": self.status,
                "run_id": self.run_id, "stats": self.stats}


def worker_name() -> str:
    return f"worker:{socket.gethostname()}"


def parse_as_of(value: str | datetime | None) -> datetime:
    """An explicit moment in UTC; None means now (only the command line and the beat fan-out use it)."""
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        raise UserError(f"as_of '{value}' is not an ISO moment like 2026-11-26T02:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    now = datetime.now(UTC)
    if moment > now + FUTURE_SKEW:
        # a refresh "as of" the future would mark the rollup complete up to then and freeze it
        raise UserError(f"as_of {moment.isoformat()} is in the future; give a moment that has passed")
    # a caller whose clock runs a little ahead means "now"; never record a moment that has not come
    return min(moment, now.replace(microsecond=0))


def refresh_workspace(conn: Conn, workspace_id: int, as_of: datetime, task_id: str | None = None,
                      replay: bool = False, attempt: int = 0, stage: str | None = None,
                      for_report: int | str | None = None) -> PipelineOutcome:
    """The nightly refresh of one workspace: every stage of workers.jobs.pipeline in order (or one).

    Raises the first stage's error once every stage that could run has run (their run rows say what
    happened); returns the outcome when all succeeded. `replay` recomputes a moment older than the
    rollup's (otherwise such a refresh leaves the rollup alone); `for_report` names the report it is run for."""
    outcome = run_pipeline(conn, workspace_id, as_of, only=stage, replay=replay, task_id=task_id,
                           attempt=attempt, worker=worker_name(), for_report=for_report)
    if outcome.first_error is not None:
        raise outcome.first_error
    return outcome
