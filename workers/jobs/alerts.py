"""Raising alerts (issue 17 item 4): the nightly pipeline's last stage, `alerts`, and the job the pulse calls.

The stage needs no stage before it: the anomaly rule reads meter.requests itself, so a loop is caught even
on a night the rollup failed, and the budget rules read the month's forecasts as they last stood. The
refresh task enqueues `deliver_alerts` once the stage's transaction has committed (workers/tasks/refresh.py).

    with run.results() as tx:                       # the caller's run and transaction
        raised = raise_alerts(tx, workspace_id, as_of, actor=run.spec.worker or "worker")
    if raised.pending:                              # after the commit, so the worker sees the rows
        enqueue_alert_delivery(workspace_id)        # workers/tasks/alerts.py

Reads through store/alerts.py, decides with the pure rules of forecast/ (budget thresholds and the forecast
against the budget as they stand now; the anomaly rule on the last hour of each project and device, one alert
per loop: its device's, naming its project), and
writes the new alerts, their audit events and their pending deliveries in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.db import Conn
from core.periods import month_start
from forecast.alerts import AlertDraft, forecast_alerts, spend_anomaly_alerts
from forecast.anomaly import AnomalyRule, detect_anomalies
from forecast.scopes import ScopeForecast, budget_status
from store import alerts as store
from store.budgets import read_budgets
from store.runs import Run
from workers.jobs.stage import Stage, StageContext


@dataclass(frozen=True)
class RaisedAlerts:
    drafts: int  # alerts the rules drew up (raised now or before)
    alert_ids: list[int] = field(default_factory=list)  # raised by this call
    deliveries: int = 0  # pending deliveries queued for them
    pending: int = 0  # pending deliveries of the workspace: enqueue deliver_alerts when > 0
    scopes_checked: int = 0  # projects and devices whose last hour was put to the anomaly rule

    def stats(self) -> dict[str, Any]:
        return {"alerts_raised": len(self.alert_ids), "alert_drafts": self.drafts,
                "deliveries_queued": self.deliveries, "deliveries_pending": self.pending,
                "anomaly_scopes_checked": self.scopes_checked}


def raise_alerts(tx: Conn, workspace_id: int, as_of: dt.datetime, *, actor: str,
                 rule: AnomalyRule | None = None) -> RaisedAlerts:
    """Raise what is true of the workspace at `as_of` and was not raised before. Call inside a transaction."""
    rule = rule or AnomalyRule()
    budget_drafts = _budget_drafts(tx, workspace_id, month_start(as_of.astimezone(dt.UTC).date()))
    anomaly_drafts, checked = _anomaly_drafts(tx, workspace_id, as_of, rule)
    drafts = budget_drafts + anomaly_drafts
    inserted = store.insert_alerts(tx, workspace_id, drafts, as_of, actor)
    return RaisedAlerts(len(drafts), inserted.alert_ids, inserted.deliveries, inserted.pending, checked)


def _budget_drafts(conn: Conn, workspace_id: int, period: dt.date) -> list[AlertDraft]:
    """Thresholds crossed and forecasts over budget, against the budgets as they stand now: a budget raised
    since the forecast was written is judged at its new figure."""
    budgets = read_budgets(conn, workspace_id)
    scopes: list[ScopeForecast] = []
    thresholds: dict[tuple[str, int | None], Sequence[int]] = {}
    for row in store.month_forecasts(conn, workspace_id, period):
        budget = budgets.budget(row.scope, row.scope_id)
        scopes.append(ScopeForecast(row.scope, row.scope_id, row.period, row.forecast, budget,
                                    budget_status(row.forecast, budget)))
        thresholds[(row.scope, row.scope_id)] = budgets.thresholds(row.scope, row.scope_id)
    return forecast_alerts(scopes, thresholds)


def _anomaly_drafts(conn: Conn, workspace_id: int, as_of: dt.datetime, rule: AnomalyRule
                    ) -> tuple[list[AlertDraft], int]:
    """The anomaly rule on each project and device whose last hour could be one: the rule never calls an hour
    below `min_excess_nanos` (or, with counts, below `min_requests` requests) an anomaly, so only those that
    reach both need their history read. A scope whose anomaly was raised over an hour overlapping this one
    is not raised again: consecutive pulses see the same runaway across a clock hour (a loop still burning an
    hour after its alert is raised anew). One loop is one alert, its device's, naming its project
    (forecast.alerts.spend_anomaly_alerts says how and why)."""
    candidates = [s for s in store.last_hour_spend(conn, workspace_id, as_of)
                  if s.nanos >= rule.min_excess_nanos and s.requests >= rule.min_requests]
    series = store.spend_buckets(conn, workspace_id, as_of, dt.timedelta(days=rule.history_days),
                                 [s.scope_id for s in candidates if s.scope == "project"],
                                 [s.scope_id for s in candidates if s.scope == "device"])
    anomalies = detect_anomalies(series, rule)
    if not anomalies:
        return [], len(candidates)
    alerted = store.anomalies_alerted_since(conn, workspace_id, as_of - dt.timedelta(hours=1))
    devices = sorted({a.scope_id for a in anomalies if a.scope == "device"}
                     | {i for scope, i in alerted if scope == "device" and i is not None})
    return spend_anomaly_alerts(anomalies, store.device_project_spend(conn, workspace_id, as_of, devices),
                                alerted), len(candidates)


def alerts_window(as_of: datetime) -> tuple[datetime, datetime]:
    """The hour the anomaly rule judges (the budget rules read the month's forecasts)."""
    return as_of - timedelta(hours=1), as_of


def run_alerts(ctx: StageContext, run: Run) -> None:
    with run.results() as tx:
        raised = raise_alerts(tx, ctx.workspace_id, ctx.as_of, actor=run.spec.worker or "worker")
        run.stats.update(raised.stats())


STAGE = Stage(name="alerts", needs=(), run=run_alerts, window=alerts_window)
