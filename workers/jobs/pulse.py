"""The pulse of one workspace (issue 17 item 1): today's rollup and the month's forecasts brought up to date
with the requests synced since the last refresh or pulse. A plain function, called by the task
(workers/tasks/pulse.py), the command line (`halton-workers pulse`) and the tests.

Cheap by construction: a probe of a few minutes of the index on (workspace_id, synced_at) first, and nothing
at all (no run row) when nothing new arrived; otherwise the new requests are added to their days
(store/pulse.py), the forecast re-reads the rollup's daily totals and the alerts are raised (a runaway is
caught within the pulse after it starts: workers/jobs/alerts.py), in one results transaction with a run of
its own (job 'pulse'). The task enqueues `deliver_alerts` once that transaction has committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.db import Conn
from core.periods import utc_midnight
from store import pulse
from store.claims import RunSpec
from store.runs import claimed_run
from store.workspaces import workspace_by_id
from workers.jobs import forecast as forecast_stage
from workers.jobs import worker_name
from workers.jobs.alerts import raise_alerts
from workers.settings import rollup_settings


@dataclass(frozen=True)
class PulseOutcome:
    workspace_id: int
    as_of: datetime
    status: str  # 'succeeded', or 'nothing_new' (nothing was written, no run opened)
    run_id: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"job": "pulse", "workspace_id": self.workspace_id, "as_of": self.as_of.isoformat(),
                "status": self.status, "run_id": self.run_id, "stats": self.stats}

    @property
    def deliveries_pending(self) -> bool:
        return bool(self.stats.get("deliveries_pending"))


def pulse_workspace(conn: Conn, workspace_id: int, as_of: datetime, *, task_id: str | None = None,
                    attempt: int = 0) -> PulseOutcome:
    """Bring the workspace's rollup and forecasts to `as_of` if requests arrived since its last moment."""
    workspace_by_id(conn, workspace_id)  # a missing workspace is a user error, before anything else
    if not pulse.has_new_requests(conn, workspace_id, as_of):
        return PulseOutcome(workspace_id, as_of, "nothing_new")
    spec = RunSpec(job="pulse", workspace_id=workspace_id, as_of=as_of,
                   window_start=utc_midnight(as_of.astimezone(UTC).date()), window_end=as_of,
                   lock_scope="workspace", task_id=task_id, worker=worker_name(), attempt=attempt)
    with claimed_run(conn, spec) as run, run.results() as tx:
        result = pulse.pulse_daily_spend(tx, workspace_id, as_of, run.id, rollup_settings().history_years)
        run.stats.update(result.stats())
        forecast_stage.write(tx, workspace_id, as_of, run)
        run.stats.update(raise_alerts(tx, workspace_id, as_of, actor=spec.worker or "worker").stats())
    return PulseOutcome(workspace_id, as_of, "succeeded", run.id, dict(run.stats))
