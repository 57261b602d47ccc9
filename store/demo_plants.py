"""The demo's plants in `meter` (issue 17 item 6): what the dashboard and the daemons would write, so the demo
shows budgets, forecasts and a runaway next to what was planted. Only the demo (workers/demo/budget.py) and
its tests call these; they need the owner's connection (the fleet's role cannot write `meter`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from core.db import Conn


def spend_between(conn: Conn, workspace_id: int, start: datetime, end: datetime) -> int:
    row = conn.execute("select coalesce(sum(cost_nanos), 0)::bigint from meter.requests where workspace_id = %s "
                       "and started_at >= %s and started_at < %s", (workspace_id, start, end)).fetchone()
    return int(row[0]) if row else 0


def costliest_cost_center(conn: Conn, workspace_id: int, start: datetime, end: datetime
                          ) -> tuple[int, str, int] | None:
    """The cost center whose projects spent most in [start, end): id, name, spend."""
    row = conn.execute(
        """select c.id, c.name, sum(r.cost_nanos)::bigint from meter.requests r
           join meter.projects p on p.id = r.project_id join meter.cost_centers c on c.id = p.cost_center_id
           where r.workspace_id = %s and r.started_at >= %s and r.started_at < %s
           group by 1, 2 order by 3 desc limit 1""", (workspace_id, start, end)).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), int(row[2]))


def costliest_project(conn: Conn, workspace_id: int, start: datetime, end: datetime) -> tuple[int, str, int] | None:
    """The project that spent most in [start, end): id, slug, spend."""
    row = conn.execute(
        """select p.id, p.slug, sum(r.cost_nanos)::bigint
           from meter.requests r join meter.projects p on p.id = r.project_id
           where r.workspace_id = %s and r.started_at >= %s and r.started_at < %s
           group by 1, 2 order by 3 desc limit 1""", (workspace_id, start, end)).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), int(row[2]))


def set_workspace_budget(conn: Conn, workspace_id: int, nanos: int) -> None:
    conn.execute("update meter.workspaces set monthly_budget_nanos = %s where id = %s", (nanos, workspace_id))


def set_budget(conn: Conn, workspace_id: int, scope: str, scope_id: int, nanos: int) -> None:
    conn.execute("""insert into meter.budgets (workspace_id, scope, scope_id, monthly_nanos) values (%s, %s, %s, %s)
                    on conflict (workspace_id, scope, scope_id) do update set monthly_nanos = excluded.monthly_nanos""",
                 (workspace_id, scope, scope_id, nanos))


def recent_priced_request(conn: Conn, workspace_id: int, min_nanos: int, max_nanos: int
                          ) -> tuple[int, int, str, str] | None:
    """The latest successful request with a prompt hash costing between the two: id, cost, device name,
    provider."""
    row = conn.execute(
        """select r.id, r.cost_nanos, d.name, r.provider from meter.requests r
           join meter.devices d on d.id = r.device_id
           where r.workspace_id = %s and r.status_code = 200 and r.prompt_hash is not null
             and r.cost_nanos between %s and %s
           order by r.started_at desc limit 1""",
        (workspace_id, min_nanos, max_nanos)).fetchone()
    return None if row is None else (int(row[0]), int(row[1]), str(row[2]), str(row[3]))


def repeat_request(conn: Conn, request_id: int, start: datetime, step: timedelta, count: int) -> None:
    """`count` copies of one request, `step` apart from `start`, each synced 5 seconds after it started."""
    conn.execute(
        """insert into meter.requests (workspace_id, device_id, project_id, attribution_tier, provider, model,
                started_at, latency_ms, status_code, service_tier, input_tokens, cache_read_tokens,
                cache_write_tokens, output_tokens, reasoning_tokens, max_tokens, cost_nanos, rates_version,
                prompt_hash, synced_at)
           select workspace_id, device_id, project_id, attribution_tier, provider, model, %(start)s + i * %(step)s,
                  latency_ms, status_code, service_tier, input_tokens, cache_read_tokens, cache_write_tokens,
                  output_tokens, reasoning_tokens, max_tokens, cost_nanos, rates_version, prompt_hash,
                  %(start)s + i * %(step)s + interval '5 seconds'
           from meter.requests, generate_series(0, %(last)s) as i where id = %(id)s""",
        {"start": start, "step": step, "last": count - 1, "id": request_id})


def bill_more(conn: Conn, workspace_id: int, provider: str, period: date, extra_nanos: int) -> int | None:
    """A paste entered after the month's latest one, `extra_nanos` higher (to the cent): what the provider
    bills once it has counted more requests. Its amount, or None when the month had no paste."""
    row = conn.execute(
        """insert into meter.billing_statements (workspace_id, provider, period, source, raw_text, amount_nanos,
                                                 entered_by, entered_at)
           select workspace_id, provider, period, 'manual',
                  '$' || to_char(round((amount + %(extra)s) / 1e9, 2), 'FM999999990.00'),
                  null, entered_by, greatest(now(), entered_at + interval '1 second')
             from (select s.*, coalesce(s.amount_nanos,
                                        round(replace(replace(s.raw_text, '$', ''), ',', '')::numeric * 1e9))
                                        as amount
                     from meter.billing_statements s
                    where s.workspace_id = %(ws)s and s.provider = %(provider)s and s.period = %(period)s
                    order by s.entered_at desc limit 1) latest
           returning round(replace(raw_text, '$', '')::numeric * 1e9)::bigint""",
        {"ws": workspace_id, "provider": provider, "period": period, "extra": extra_nanos}).fetchone()
    return None if row is None else int(row[0])
