"""Alerts raised once (issue 17 item 4): what the raising job reads, and the one transaction that writes.

Reads: the month's forecasts (analysis.spend_forecasts, written by the forecast stage and the pulse),
spend per 10-minute bucket of the projects and devices that spent enough in the last hour to be a runaway,
and, when one is, each looping device's spend per project in that hour (one loop, one alert). The budgets
come from store/budgets.py.

Writes, in the caller's transaction: each draft with `on conflict (workspace_id, fingerprint) do nothing`,
and for each alert that is new (and only those) an audit event and one pending analysis.alert_deliveries
row per live channel of the same workspace. A rerun, a pulse ten minutes later or a concurrent raise of the
same alert finds the fingerprint taken (the unique index makes the second transaction wait for the first)
and writes nothing, so an alert is never audited or queued for delivery twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.db import Conn
from forecast.alerts import AlertDraft
from forecast.anomaly import SpendBuckets
from forecast.model import Forecast
from store.audit import audit

BUCKET_MINUTES = 10  # a pulse every 10 minutes sees a sliding hour of whole buckets


@dataclass(frozen=True)
class ForecastRow:
    """One analysis.spend_forecasts row, as the alert rules read it."""

    scope: str
    scope_id: int | None
    period: dt.date
    forecast: Forecast


def month_forecasts(conn: Conn, workspace_id: int, period: dt.date) -> list[ForecastRow]:
    rows = conn.execute(
        """select scope, scope_id, period, spent_nanos, forecast_nanos, low_nanos, high_nanos, method
             from analysis.spend_forecasts
            where workspace_id = %s and period = %s
            order by scope, scope_id nulls first""",
        (workspace_id, period),
    ).fetchall()
    # history_days is not stored: no alert rule reads it
    return [ForecastRow(scope, scope_id, month, Forecast(spent, forecast, low, high, method, 0))
            for scope, scope_id, month, spent, forecast, low, high, method in rows]


@dataclass(frozen=True)
class HourSpend:
    scope: str  # 'project' or 'device'
    scope_id: int
    nanos: int
    requests: int


def last_hour_spend(conn: Conn, workspace_id: int, end: dt.datetime) -> list[HourSpend]:
    """Spend and requests of each project and device in [end - 1 hour, end) (started_at), one index range."""
    rows = conn.execute(
        """with recent as (
               select project_id, device_id, cost_nanos from meter.requests
                where workspace_id = %(ws)s and started_at >= %(start)s and started_at < %(end)s)
           select 'project', project_id, sum(cost_nanos)::bigint, count(*) from recent
            where project_id is not null group by project_id
           union all
           select 'device', device_id, sum(cost_nanos)::bigint, count(*) from recent group by device_id
           order by 1, 2""",
        {"ws": workspace_id, "start": end - dt.timedelta(hours=1), "end": end},
    ).fetchall()
    return [HourSpend(scope, scope_id, int(nanos), int(count)) for scope, scope_id, nanos, count in rows]


def device_project_spend(conn: Conn, workspace_id: int, end: dt.datetime,
                         devices: Sequence[int]) -> dict[tuple[int, int], int]:
    """Spend of each (device, project) of the given devices in [end - 1 hour, end) (attributed requests only):
    which project a device's loop is billed to. Read only when the anomaly rule found something."""
    if not devices:
        return {}
    rows = conn.execute(
        """select device_id, project_id, sum(cost_nanos)::bigint from meter.requests
            where workspace_id = %s and started_at >= %s and started_at < %s and project_id is not null
              and device_id = any(%s)
            group by device_id, project_id""",
        (workspace_id, end - dt.timedelta(hours=1), end, list(devices)),
    ).fetchall()
    return {(int(device), int(project)): int(nanos) for device, project, nanos in rows}


def spend_buckets(conn: Conn, workspace_id: int, end: dt.datetime, history: dt.timedelta,
                  projects: Sequence[int], devices: Sequence[int]) -> list[SpendBuckets]:
    """10-minute spend and requests of the given projects and devices over [end - history - 1 hour, end).

    Each series starts at the scope's first request in that span, so a project or device that is new (or
    was silent until an hour ago) has no history of zeros that would make any spend look anomalous: the
    anomaly rule then sees too short a history and says nothing.

    Cost: one scan of the span's requests, only when some scope spent enough in the last hour to be a
    runaway (the caller asks for those alone)."""
    if not projects and not devices:
        return []
    bucket_seconds = BUCKET_MINUTES * 60
    buckets = int((history + dt.timedelta(hours=1)).total_seconds()) // bucket_seconds
    rows = conn.execute(
        """with spans as (
               select project_id, device_id, cost_nanos,
                      floor(extract(epoch from (%(end)s::timestamptz - started_at)) / %(bucket)s)::int as back
                 from meter.requests
                where workspace_id = %(ws)s and started_at >= %(start)s and started_at < %(end)s
                  and (project_id = any(%(projects)s) or device_id = any(%(devices)s)))
           select grouping(project_id) = 0, coalesce(project_id, device_id), back,
                  sum(cost_nanos)::bigint, count(*)
             from spans
            group by grouping sets ((project_id, back), (device_id, back))""",
        {"ws": workspace_id, "end": end, "start": end - dt.timedelta(seconds=buckets * bucket_seconds),
         "bucket": bucket_seconds, "projects": list(projects), "devices": list(devices)},
    ).fetchall()
    wanted = {("project", p) for p in projects} | {("device", d) for d in devices}
    nanos: dict[tuple[str, int], np.ndarray] = {}
    counts: dict[tuple[str, int], np.ndarray] = {}
    for by_project, scope_id, back, spent, requests in rows:
        key = ("project" if by_project else "device", scope_id)
        if scope_id is None or key not in wanted or not 0 <= back < buckets:
            continue  # the unattributed requests' group, or a scope asked for only by the other column
        if key not in nanos:
            nanos[key] = np.zeros(buckets, dtype=np.int64)
            counts[key] = np.zeros(buckets, dtype=np.int64)
        nanos[key][buckets - 1 - back] += int(spent)
        counts[key][buckets - 1 - back] += int(requests)
    series = []
    for key in sorted(nanos):
        first = int(np.flatnonzero(counts[key])[0])
        series.append(SpendBuckets(key[0], key[1], end, BUCKET_MINUTES, nanos[key][first:], counts[key][first:]))
    return series


@dataclass(frozen=True)
class InsertedAlerts:
    alert_ids: list[int]  # the alerts this call raised (new fingerprints), in the order of the drafts
    deliveries: int  # pending deliveries queued for them
    pending: int  # pending deliveries of the workspace after this call (theirs and any left from before)


def insert_alerts(tx: Conn, workspace_id: int, drafts: Sequence[AlertDraft], opened_at: dt.datetime,
                  actor: str) -> InsertedAlerts:
    """Raise the drafts not raised before; for each, an audit event and a pending delivery per live channel.
    Call inside a transaction: the alerts, their audit events and their deliveries commit together."""
    alert_ids: list[int] = []
    deliveries = 0
    for draft in drafts:
        row = tx.execute(
            """insert into analysis.alerts (workspace_id, kind, scope, scope_id, period, threshold_percent,
                                            fingerprint, opened_at, amount_nanos, details)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)
               on conflict (workspace_id, fingerprint) do nothing
               returning id""",
            (workspace_id, draft.kind, draft.scope, draft.scope_id, draft.period, draft.threshold_percent,
             draft.fingerprint, opened_at, draft.amount_nanos, json.dumps(draft.details, sort_keys=True)),
        ).fetchone()
        if row is None:
            continue  # raised before: nothing more to say or send
        alert_id = int(row[0])
        alert_ids.append(alert_id)
        audit(tx, workspace_id, actor, "alert.raised", f"alert:{alert_id}",
              {"kind": draft.kind, "scope": draft.scope, "scope_id": draft.scope_id,
               "period": draft.period.isoformat(), "threshold_percent": draft.threshold_percent,
               "fingerprint": draft.fingerprint, "amount_nanos": draft.amount_nanos})
        # channels of THIS workspace only: the join that keeps one workspace's alert from another's channel
        queued = tx.execute(
            """insert into analysis.alert_deliveries (alert_id, channel_id, status)
               select %s, id, 'pending' from meter.alert_channels
                where workspace_id = %s and revoked_at is null
               on conflict (alert_id, channel_id) do nothing""",
            (alert_id, workspace_id),
        )
        deliveries += queued.rowcount
    return InsertedAlerts(alert_ids, deliveries, pending_deliveries(tx, workspace_id))


def anomalies_alerted_since(conn: Conn, workspace_id: int, since: dt.datetime) -> set[tuple[str, int | None]]:
    """The scopes with a spend anomaly raised over a window that ends after `since`."""
    rows = conn.execute(
        """select scope, scope_id from analysis.alerts
            where workspace_id = %s and kind = 'spend_anomaly' and opened_at > %s - interval '1 day'
              and (details ->> 'window_end')::timestamptz > %s""",
        (workspace_id, since, since),
    ).fetchall()
    return {(str(scope), None if scope_id is None else int(scope_id)) for scope, scope_id in rows}


def pending_deliveries(conn: Conn, workspace_id: int) -> int:
    row = conn.execute(
        """select count(*) from analysis.alert_deliveries d join analysis.alerts a on a.id = d.alert_id
            where a.workspace_id = %s and d.status = 'pending'""",
        (workspace_id,),
    ).fetchone()
    return 0 if row is None else int(row[0])
