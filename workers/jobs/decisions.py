"""Job glue of the optimisation catalog outside the nightly pipeline (no Celery here).

`apply_decisions` is what the dashboard triggers after a person suppresses a check or accepts or
dismisses a recommendation: it re-derives the statuses of the workspace's recommendations from
meter.check_suppressions and meter.recommendation_decisions, and the catalog's headline
(analysis.catalog_summary: the open ones taken together, from the last catalog run's combination), in one
transaction with its run row, without recomputing the catalog, so it takes milliseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.db import Conn
from store import recommendations
from store.claims import RunSpec
from store.runs import claimed_run
from store.workspaces import workspace_by_id
from workers.jobs import JobOutcome, worker_name


def apply_decisions(conn: Conn, workspace_id: int, task_id: str | None = None, attempt: int = 0) -> JobOutcome:
    workspace_by_id(conn, workspace_id)  # a missing workspace is a user error, before any run row
    spec = RunSpec(job="apply_decisions", workspace_id=workspace_id, as_of=datetime.now(UTC), lock_scope="workspace",
                   task_id=task_id, worker=worker_name(), attempt=attempt)
    with claimed_run(conn, spec) as run, run.results() as tx:
        run.stats["statuses"] = recommendations.apply_statuses(tx, workspace_id)
        run.stats.update(recommendations.write_summary(tx, workspace_id, run.id, spec.as_of).as_stats())
    return JobOutcome("apply_decisions", workspace_id, "succeeded", run.id, dict(run.stats))
