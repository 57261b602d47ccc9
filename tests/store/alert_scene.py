"""Rows the alert tests start from: a month's forecasts as the forecast stage writes them, budgets and
channels as the dashboard writes them, and spend on the hour the anomaly rule judges."""

from __future__ import annotations

import datetime as dt

from cryptography.fernet import Fernet

from core.money import NANOS_PER_DOLLAR
from tests.factories import Conn, Scene, add_request

DOLLAR = NANOS_PER_DOLLAR
MARCH = dt.date(2026, 3, 1)
AS_OF = dt.datetime(2026, 3, 19, 14, 5, tzinfo=dt.UTC)


def put_forecast(conn: Conn, workspace_id: int, *, spent: int, forecast: int, low: int | None = None,
                 high: int | None = None, scope: str = "workspace", scope_id: int | None = None,
                 period: dt.date = MARCH, as_of: dt.datetime = AS_OF, method: str = "robust_level_weekly") -> None:
    """One analysis.spend_forecasts row, replaced as the forecast stage replaces it (status as 'no_budget':
    the alert job judges against the budgets as they stand)."""
    conn.execute(
        """delete from analysis.spend_forecasts
            where workspace_id = %s and scope = %s and coalesce(scope_id, 0) = coalesce(%s, 0) and period = %s""",
        (workspace_id, scope, scope_id, period),
    )
    conn.execute(
        """insert into analysis.spend_forecasts (workspace_id, scope, scope_id, period, as_of, spent_nanos,
               forecast_nanos, low_nanos, high_nanos, budget_nanos, status, method, run_id)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, null, 'no_budget', %s, 1)""",
        (workspace_id, scope, scope_id, period, as_of, spent, forecast, spent if low is None else low,
         forecast if high is None else high, method),
    )


def set_workspace_budget(conn: Conn, workspace_id: int, nanos: int | None) -> None:
    conn.execute("update meter.workspaces set monthly_budget_nanos = %s where id = %s", (nanos, workspace_id))


def add_budget(conn: Conn, workspace_id: int, scope: str, scope_id: int, nanos: int,
               thresholds: list[int] | None = None) -> None:
    if thresholds is None:
        conn.execute("insert into meter.budgets (workspace_id, scope, scope_id, monthly_nanos) values (%s, %s, %s, %s)",
                     (workspace_id, scope, scope_id, nanos))
    else:
        conn.execute("""insert into meter.budgets (workspace_id, scope, scope_id, monthly_nanos, thresholds_percent)
                        values (%s, %s, %s, %s, %s)""", (workspace_id, scope, scope_id, nanos, thresholds))


def add_channel(conn: Conn, fernet: Fernet, workspace_id: int, kind: str, url: str, secret: str | None = None,
                *, revoked: bool = False) -> int:
    """A channel as the dashboard stores it: URL and secret encrypted with the fleet's key."""
    row = conn.execute(
        """insert into meter.alert_channels (workspace_id, kind, url_ciphertext, secret_ciphertext, revoked_at)
           values (%s, %s, %s, %s, %s) returning id""",
        (workspace_id, kind, fernet.encrypt(url.encode()),
         None if secret is None else fernet.encrypt(secret.encode()), AS_OF if revoked else None),
    ).fetchone()
    assert row is not None
    return int(row[0])


def steady_history(conn: Conn, scene: Scene, end: dt.datetime, *, days: int, per_hour: int, cost: int,
                   project: int = 0, device: int = 0) -> None:
    """`per_hour` requests of `cost` nanos every hour for `days` days before `end` (one multi-row insert)."""
    start = end - dt.timedelta(days=days)
    conn.execute(
        """insert into meter.requests (workspace_id, device_id, project_id, attribution_tier, provider, model,
               started_at, status_code, input_tokens, output_tokens, cost_nanos, rates_version, synced_at)
           select %(ws)s, %(device)s, %(project)s, 'header', 'anthropic', 'claude-sonnet-4-6', t, 200, 1000, 100,
                  %(cost)s, 'test', t + interval '30 seconds'
             from generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 second',
                                  %(step)s::interval) t""",
        {"ws": scene.workspace_id, "device": scene.device_ids[device], "project": scene.project_ids[project],
         "cost": cost, "start": start, "end": end, "step": f"{3600 // per_hour} seconds"},
    )


def burst(conn: Conn, scene: Scene, end: dt.datetime, *, minutes: int, total: int, requests: int,
          project: int = 0, device: int = 0) -> None:
    """`requests` requests costing `total` nanos in all, spread over the `minutes` before `end`."""
    for i in range(requests):
        at = end - dt.timedelta(minutes=minutes) + dt.timedelta(seconds=i * minutes * 60 // requests)
        add_request(conn, scene, at, cost_nanos=total // requests, project=project, device=device)
