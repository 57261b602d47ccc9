"""The thin billing tasks: reconcile one month, pull a workspace's billing APIs, and the two fan-outs
(the nightly pull over workspaces with a connection, the sweep over months whose inputs changed).
Arguments are ids and ISO strings only: never a key (the pull decrypts it in the worker)."""

from __future__ import annotations

from typing import Any

from celery import Task

from core.errors import UserError
from core.periods import parse_month
from store.reconciliation import workspaces_with_connections
from workers import jobs
from workers.app.queues import Family
from workers.jobs import reconcile as reconcile_jobs
from workers.runtime import db
from workers.runtime.tenancy import workspace_connection
from workers.tasks.base import fleet_task
from workers.tasks.refresh import FANOUT_EXPIRES, fan_out, fanout_as_of, statement_timeout


def _period(value: str) -> Any:
    try:
        return parse_month(str(value))
    except ValueError as error:
        raise UserError(str(error)) from None


@fleet_task("reconcile", Family.BILLING)
def reconcile_task(self: Task[Any, Any], workspace_id: int, provider: str, period: str,
                   as_of: str | None = None, force: bool = False) -> dict[str, Any]:
    """What the dashboard enqueues right after a paste; the pull and the sweep enqueue it too."""
    with workspace_connection(workspace_id, statement_timeout(self)) as conn:
        outcome = reconcile_jobs.reconcile(conn, int(workspace_id), str(provider), _period(period),
                                           jobs.parse_as_of(as_of), task_id=self.request.id,
                                           attempt=self.request.retries or 0, force=bool(force))
    return outcome.to_dict()


@fleet_task("pull_billing", Family.BILLING)
def pull_billing_task(self: Task[Any, Any], workspace_id: int, as_of: str | None = None) -> dict[str, Any]:
    with workspace_connection(workspace_id, statement_timeout(self)) as conn:
        outcome = reconcile_jobs.pull_billing(conn, int(workspace_id), jobs.parse_as_of(as_of),
                                              task_id=self.request.id, attempt=self.request.retries or 0)
    return outcome.to_dict()


@fleet_task("pull_billing_fanout", Family.FANOUT)
def pull_billing_fanout_task(self: Task[Any, Any], as_of: str | None = None) -> dict[str, Any]:
    """Beat's nightly entry: one pull per workspace with a live connection (one batch), then a sweep."""
    moment = fanout_as_of(as_of)
    with db.pooled_connection() as conn:
        workspace_ids = workspaces_with_connections(conn)
    plan = fan_out(pull_billing_task, workspace_ids, moment)
    reconcile_sweep_task.apply_async(kwargs={"as_of": moment.isoformat()}, headers={"batch_id": plan.batch_id},
                                     expires=FANOUT_EXPIRES)
    return {"batch_id": plan.batch_id, "as_of": moment.isoformat(), "workspaces": len(plan.workspace_ids)}


@fleet_task("reconcile_sweep", Family.BILLING)
def reconcile_sweep_task(self: Task[Any, Any], as_of: str | None = None) -> dict[str, Any]:
    """Enqueue a reconcile for every month whose inputs changed since it was computed, so a missed
    trigger (a paste whose task was lost, late rows, new rates) never leaves a stale row."""
    moment = jobs.parse_as_of(as_of)

    def send(workspace_id: int, provider: str, period: Any) -> None:
        reconcile_task.apply_async(kwargs={"workspace_id": workspace_id, "provider": provider,
                                           "period": period.isoformat(), "as_of": moment.isoformat()},
                                   expires=6 * 3600)

    with db.pooled_connection(statement_timeout(self)) as conn:
        return reconcile_jobs.sweep(conn, moment, send)
