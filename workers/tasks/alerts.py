"""The thin alert delivery task (issue 17 item 5) and how the raising side enqueues it.

`halton.deliver_alerts` runs on the billing queue: the only workers that hold HALTON_ENCRYPTION_KEYS
(deploy/), which decrypts the channels' URLs and secrets. It takes a workspace id, never a URL or a secret.
"""

from __future__ import annotations

import time
from typing import Any

from celery import Task

from core.errors import TransientError
from store.alerts import pending_deliveries
from workers.app.queues import Family
from workers.jobs import alert_delivery as alert_delivery_jobs
from workers.jobs.pipeline import PipelineOutcome
from workers.runtime.tenancy import workspace_connection
from workers.tasks.base import fleet_task

# a delivery message still queued after this is dropped: its rows stay pending for the next one
DELIVER_EXPIRES = 3600
# the longest one delivery may take (adapters.delivery's budget, then its last try) and a margin: no
# delivery starts later than this before the soft time limit
DELIVERY_HEADROOM = 150.0


@fleet_task("deliver_alerts", Family.BILLING)
def deliver_alerts_task(self: Task[Any, Any], workspace_id: int) -> dict[str, Any]:
    """One round over the workspace's pending deliveries. Deliveries that failed for now stay pending and
    the task retries (the house backoff, 15 s to 10 min); rows a round had no time for go to a new task."""
    soft = self.soft_time_limit
    deadline = time.monotonic() + max((soft or 0) - DELIVERY_HEADROOM, 30.0)
    with workspace_connection(int(workspace_id)) as conn:
        result = alert_delivery_jobs.deliver_pending(conn, int(workspace_id), deadline=deadline)
        left = pending_deliveries(conn, int(workspace_id))
    if left > result.retry_later:  # not reached in this round: go on at once
        enqueue_alert_delivery(int(workspace_id))
    if result.retry_later:
        # the count only: the reasons are on the rows (last_error) and name no URL or secret either
        raise TransientError(f"{result.retry_later} alert deliveries of workspace {workspace_id} failed for now "
                             "and will be tried again")
    return {"workspace_id": int(workspace_id), **result.stats()}


def enqueue_alert_delivery(workspace_id: int) -> None:
    """What the pulse calls after committing raise_alerts when it left deliveries pending."""
    deliver_alerts_task.apply_async(kwargs={"workspace_id": workspace_id}, expires=DELIVER_EXPIRES)


def enqueue_after_refresh(outcome: PipelineOutcome) -> None:
    """After a refresh committed: deliver what its alerts stage left pending."""
    stage = next((s for s in outcome.stages if s.stage == "alerts" and s.status == "succeeded"), None)
    if stage is not None and stage.stats.get("deliveries_pending"):
        enqueue_alert_delivery(outcome.workspace_id)
