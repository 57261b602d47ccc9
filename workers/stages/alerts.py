"""The last stage: alerts raised once (issue 17 item 4); the work is in workers/alert_jobs.py.

It needs no stage before it: the anomaly rule reads meter.requests itself, so a loop is caught even on a
night the rollup failed, and the budget rules read the month's forecasts as they last stood. The refresh
task enqueues `deliver_alerts` once the stage's transaction has committed (workers/tasks.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from store.runs import Run
from workers.alert_jobs import raise_alerts
from workers.stages import Stage, StageContext


def alerts_window(as_of: datetime) -> tuple[datetime, datetime]:
    """The hour the anomaly rule judges (the budget rules read the month's forecasts)."""
    return as_of - timedelta(hours=1), as_of


def run_alerts(ctx: StageContext, run: Run) -> None:
    with run.results() as tx:
        raised = raise_alerts(tx, ctx.workspace_id, ctx.as_of, actor=run.spec.worker or "worker")
        run.stats.update(raised.stats())


STAGE = Stage(name="alerts", needs=(), run=run_alerts, window=alerts_window)
