"""How large each workspace's nightly refresh is (issue 18 item 2, fairness): the requests in the window the
refresh reads, cheaply, so the fan-out can send large workspaces to the heavy queue at a low priority.

Each workspace is read in its own scope (store/tenancy.py): the fleet's role sees one workspace at a time
under row-level security, so no function across workspaces is needed. Per workspace, one small read:

- the rollup's per-day totals (`analysis.daily_totals`, a few rows a day) over the window's days, once the
  rollup has run for the workspace (`analysis.rollup_state`); the day the rollup has not seen yet is left
  out, a thirtieth of a steady workspace's window;
- before its first rollup (a new workspace, or one whose history was just loaded: its first refresh reads
  everything), a count of `meter.requests` from the start of the rollup's history (what that first refresh
  builds) on the (workspace_id, started_at) index, stopped at `cap` rows: past the threshold the exact figure
  does not matter, and the count never reads more.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from core.db import Conn
from store.tenancy import scoped_workspace, set_workspace

# One statement: CASE evaluates only the branch it takes, so a workspace with a rollup never counts meter.
SIZE = """select case when exists (select 1 from analysis.rollup_state where workspace_id = %(ws)s)
                      then (select coalesce(sum(requests), 0) from analysis.daily_totals
                             where workspace_id = %(ws)s and day >= %(first)s and day < %(end)s)
                      else (select count(*) from (select 1 from meter.requests
                                                   where workspace_id = %(ws)s and started_at >= %(history)s
                                                     and started_at < %(stop)s
                                                   limit %(cap)s) window_rows)
                 end"""


def _parameters(workspace_id: int, start: datetime, end: datetime, cap: int,
                history_start: datetime | None) -> dict[str, object]:
    return {"ws": workspace_id, "first": start.astimezone(UTC).date(),
            "end": (end.astimezone(UTC) + timedelta(days=1)).date(), "stop": end, "cap": cap,
            "history": start if history_start is None else history_start}


def window_requests(conn: Conn, workspace_id: int, start: datetime, end: datetime, cap: int,
                    history_start: datetime | None = None) -> int:
    """Requests of `workspace_id` in [start, end) (the rollup's figure), or before its first rollup in
    [history_start or start, end), a count stopped at `cap`; `conn` must be scoped to the workspace (or see
    every row)."""
    row = conn.execute(SIZE, _parameters(workspace_id, start, end, cap, history_start)).fetchone()
    return 0 if row is None else int(row[0])


def workspace_sizes(conn: Conn, workspace_ids: Iterable[int], start: datetime, end: datetime,
                    cap: int, history_start: datetime | None = None) -> dict[int, int]:
    """window_requests of each workspace, each read in the workspace's own scope. `conn` must be scoped to
    no workspace; it is again afterwards. The statements go out in one pipeline (two per workspace: the
    scope, the read), so ten thousand workspaces cost a few round trips, not forty thousand."""
    if scoped_workspace(conn) is not None:
        raise RuntimeError("workspace_sizes reads each workspace in its own scope: pass an unscoped connection")
    answers = []
    try:
        with conn.pipeline():
            for workspace_id in workspace_ids:
                set_workspace(conn, int(workspace_id))
                answers.append((int(workspace_id), conn.execute(SIZE, _parameters(int(workspace_id), start, end,
                                                                                   cap, history_start))))
    finally:
        set_workspace(conn, None)
    sizes: dict[int, int] = {}
    for workspace_id, cursor in answers:
        row = cursor.fetchone()
        sizes[workspace_id] = 0 if row is None else int(row[0])
    return sizes
