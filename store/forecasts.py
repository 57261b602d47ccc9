"""analysis.spend_forecasts (0018): what the month-end forecast reads and writes (issue 17 item 2).

Reads come from the rollup's daily totals (a few thousand rows for 13 weeks of a workspace with 20 projects:
cheap enough for every pulse), the projects' cost centers and the budgets (store/budgets.py: the
workspace's and meter.budgets'; their thresholds are the alert rules'). A forecast replaces the
rows of its month: one per scope (the workspace, each project, each cost center), upserted on the
(workspace_id, scope, coalesce(scope_id, 0), period) key, so the nightly stage and a pulse writing at once
never collide; a row of a later as_of is never overwritten by an earlier one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from core.db import Conn
from forecast import Budgets, ScopeForecast
from store.budgets import BUDGETS_QUERY, budgets_of


@dataclass(frozen=True)
class ForecastInputs:
    """A workspace's spend per UTC day (today so far included) and what its scopes are."""

    workspace: dict[date, int]  # day -> nanos, every request (unattributed too)
    projects: dict[int, dict[date, int]]  # project -> day -> nanos: every live project, and any that spent
    cost_centers: dict[int, list[int]]  # cost center -> its projects (every cost center of the workspace)
    budgets: Budgets


def read_inputs(conn: Conn, workspace_id: int, first_day: date, last_day: date) -> ForecastInputs:
    """The daily spend of [first_day, last_day] (inclusive) per project, and the scopes and budgets."""
    # the daily totals, the cost centers (by id) then the projects (by id), and the budgets: three statements in
    # one round trip (a pipeline), which were three (~0.3-0.5 ms each of a small workspace's forecast stage)
    with conn.pipeline():
        totals = conn.execute(
            """select day, project_id, sum(cost_nanos)::bigint from analysis.daily_totals
               where workspace_id = %s and day >= %s and day <= %s group by day, project_id""",
            (workspace_id, first_day, last_day))
        scopes = conn.execute(
            """select 'center', id, null::bigint, false from meter.cost_centers where workspace_id = %(ws)s
               union all
               select 'project', id, cost_center_id, archived_at is not null from meter.projects
               where workspace_id = %(ws)s
               order by 1, 2""",
            {"ws": workspace_id})
        budgets = conn.execute(BUDGETS_QUERY, {"ws": workspace_id})
    workspace: dict[date, int] = defaultdict(int)
    projects: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for day, project_id, nanos in totals.fetchall():
        workspace[day] += int(nanos)
        if project_id is not None:
            projects[int(project_id)][day] += int(nanos)
    centers: dict[int, list[int]] = {}
    for kind, row_id, center_id, archived in scopes.fetchall():
        if kind == "center":
            centers[int(row_id)] = []
            continue
        if not archived:
            projects.setdefault(int(row_id), defaultdict(int))
        if center_id is not None:
            centers.setdefault(int(center_id), []).append(int(row_id))
    return ForecastInputs(dict(workspace), {p: dict(days) for p, days in projects.items()}, centers,
                          budgets_of(budgets.fetchall()).amounts())


# every row in one statement (the scopes' rows as one JSON array: json.dumps is C, where psycopg adapted ten lists
# element by element in Python), and the month's rows of scopes no longer forecast
# deleted in the same one: a small workspace's 17 scopes were 17 upserts and a delete, whose per-statement cost
# (parse of the parameters, plan, executor start, a round trip) was most of the write. The delete and the upsert
# touch different rows (the scopes not forecast, the scopes forecast), so one snapshot serves both.
_WRITE = """
    with rows as (
        select * from jsonb_to_recordset(%(rows)s::jsonb)
             as r(scope text, scope_id bigint, period date, spent_nanos bigint, forecast_nanos bigint, low_nanos bigint,
                  high_nanos bigint, budget_nanos bigint, status text, method text)
    ), gone as (
        delete from analysis.spend_forecasts
        where workspace_id = %(workspace_id)s and period = %(month)s and as_of <= %(as_of)s
          and (scope, coalesce(scope_id, 0)) not in (select scope, coalesce(scope_id, 0) from rows)
    )
    insert into analysis.spend_forecasts as f
        (workspace_id, scope, scope_id, period, as_of, spent_nanos, forecast_nanos, low_nanos, high_nanos,
         budget_nanos, status, method, run_id)
    select %(workspace_id)s, r.scope, r.scope_id, r.period, %(as_of)s, r.spent_nanos, r.forecast_nanos, r.low_nanos,
           r.high_nanos, r.budget_nanos, r.status, r.method, %(run_id)s
    from rows r
    on conflict (workspace_id, scope, coalesce(scope_id, 0), period) do update
       set as_of = excluded.as_of, spent_nanos = excluded.spent_nanos, forecast_nanos = excluded.forecast_nanos,
           low_nanos = excluded.low_nanos, high_nanos = excluded.high_nanos, budget_nanos = excluded.budget_nanos,
           status = excluded.status, method = excluded.method, run_id = excluded.run_id
     where f.as_of <= excluded.as_of"""
_COLUMNS = ("scope", "scope_id", "period", "spent_nanos", "forecast_nanos", "low_nanos", "high_nanos", "budget_nanos",
            "status", "method")


def write_forecasts(conn: Conn, workspace_id: int, period: date, as_of: datetime, rows: Sequence[ScopeForecast],
                    run_id: int) -> int:
    """Replace the month's rows with `rows` (inside the run's results transaction); returns how many were
    written. A scope no longer forecast (a project archived without spend) loses its row."""
    values = [r.row() for r in rows]
    conn.execute(_WRITE, {"workspace_id": workspace_id, "month": period, "as_of": as_of, "run_id": run_id,
                          "rows": json.dumps([{column: v[column] for column in _COLUMNS} for v in values],
                                             default=_iso_date)})
    return len(values)


def _iso_date(value: object) -> str:
    """A period (a date) as JSON: its ISO text, which the recordset's date column reads back."""
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a forecast row's value")


@dataclass(frozen=True)
class StoredForecast:
    """A row of analysis.spend_forecasts with the scope's name (a project's slug, a cost center's name)."""

    scope: str
    scope_id: int | None
    name: str
    period: date
    as_of: datetime
    spent_nanos: int
    forecast_nanos: int
    low_nanos: int
    high_nanos: int
    budget_nanos: int | None
    status: str
    method: str
    run_id: int


def forecasts_current_to(conn: Conn, workspace_id: int) -> datetime | None:
    """The latest moment the workspace's forecasts were written for (by the nightly stage or a pulse)."""
    row = conn.execute("select max(as_of) from analysis.spend_forecasts where workspace_id = %s",
                       (workspace_id,)).fetchone()
    return None if row is None else row[0]


def read_forecasts(conn: Conn, workspace_id: int, period: date | None = None) -> list[StoredForecast]:
    """The forecasts of `period` (default: the latest month forecast): the workspace, then cost centers and
    projects by name."""
    rows = conn.execute(
        """select f.scope, f.scope_id, coalesce(p.slug, c.name, w.slug), f.period, f.as_of, f.spent_nanos,
                  f.forecast_nanos, f.low_nanos, f.high_nanos, f.budget_nanos, f.status, f.method, f.run_id
           from analysis.spend_forecasts f
           join meter.workspaces w on w.id = f.workspace_id
           left join meter.projects p on f.scope = 'project' and p.id = f.scope_id
           left join meter.cost_centers c on f.scope = 'cost_center' and c.id = f.scope_id
           where f.workspace_id = %(ws)s
             and f.period = coalesce(%(period)s::date,
                                     (select max(period) from analysis.spend_forecasts where workspace_id = %(ws)s))
           order by case f.scope when 'workspace' then 0 when 'cost_center' then 1 else 2 end, 3""",
        {"ws": workspace_id, "period": period},
    ).fetchall()
    return [StoredForecast(r[0], r[1], r[2], r[3], r[4], int(r[5]), int(r[6]), int(r[7]), int(r[8]),
                           None if r[9] is None else int(r[9]), r[10], r[11], int(r[12])) for r in rows]


def latest_period(conn: Conn, workspace_id: int) -> date | None:
    """The latest month the workspace has forecasts for."""
    row = conn.execute("select max(period) from analysis.spend_forecasts where workspace_id = %s",
                       (workspace_id,)).fetchone()
    return None if row is None else row[0]


def scope_names(conn: Conn, workspace_id: int) -> dict[tuple[str, int | None], str]:
    """What each scope is called: the workspace's slug, each project's slug, each cost center's name."""
    rows = conn.execute(
        """select 'workspace', null::bigint, slug from meter.workspaces where id = %(ws)s
           union all select 'project', id, slug from meter.projects where workspace_id = %(ws)s
           union all select 'cost_center', id, name from meter.cost_centers where workspace_id = %(ws)s""",
        {"ws": workspace_id},
    ).fetchall()
    return {(str(scope), None if scope_id is None else int(scope_id)): str(name) for scope, scope_id, name in rows}
