"""The budgets in force, read in one place: the workspace's (meter.workspaces.monthly_budget_nanos) and
meter.budgets' per project and cost center (0017, dashboard-owned) with their alert thresholds.

The forecast (store/forecasts.py), the alert rules (store/alerts.py) and the executive summary
(store/report_reads.py) all read them through `read_budgets`, so a budget is the same figure wherever it is
printed or judged. Neither table keeps a history: the budget in force is the one set now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.db import Conn
from forecast import DEFAULT_THRESHOLDS, Budgets


@dataclass(frozen=True)
class StoredBudgets:
    workspace_nanos: int | None  # None: no monthly budget set
    # (scope, id) -> (monthly nanos, alert thresholds in percent, lowest first)
    scoped: dict[tuple[str, int], tuple[int, tuple[int, ...]]]

    def budget(self, scope: str, scope_id: int | None) -> int | None:
        if scope == "workspace":
            return self.workspace_nanos
        found = self.scoped.get((scope, scope_id)) if scope_id is not None else None
        return None if found is None else found[0]

    def thresholds(self, scope: str, scope_id: int | None) -> tuple[int, ...]:
        """The alert thresholds of a scope's budget; 50/80/100 for the workspace's and where none is set."""
        found = self.scoped.get((scope, scope_id)) if scope != "workspace" and scope_id is not None else None
        return tuple(DEFAULT_THRESHOLDS) if found is None else found[1]

    def amounts(self) -> Budgets:
        """The budgets alone, as forecast.forecast_scopes takes them."""
        by_scope: dict[str, dict[int, int]] = {"project": {}, "cost_center": {}}
        for (scope, scope_id), (nanos, _) in self.scoped.items():
            by_scope[scope][scope_id] = nanos
        return Budgets(self.workspace_nanos, by_scope["project"], by_scope["cost_center"])


# one statement (a round trip is ~0.2 ms of CPU, much of a small workspace's forecast): the workspace's budget
# on every row, and a row of nulls besides it when meter.budgets has none
BUDGETS_QUERY = """select (select monthly_budget_nanos from meter.workspaces where id = %(ws)s),
                          b.scope, b.scope_id, b.monthly_nanos, b.thresholds_percent
                   from (select) as one left join meter.budgets b on b.workspace_id = %(ws)s"""


def read_budgets(conn: Conn, workspace_id: int) -> StoredBudgets:
    """Every budget of the workspace as it stands now."""
    return budgets_of(conn.execute(BUDGETS_QUERY, {"ws": workspace_id}).fetchall())


def budgets_of(rows: list[tuple[Any, ...]]) -> StoredBudgets:
    """The budgets from BUDGETS_QUERY's rows (read_budgets; store/forecasts.py reads them in its round trip)."""
    workspace = rows[0][0]
    scoped = [row[1:] for row in rows if row[1] is not None]
    # thresholds are typed by people in the dashboard: a null or non-positive one means nothing and is dropped;
    # so does a workspace budget of $0 or less (meter.budgets refuses one; meter.workspaces has no check): no
    # month can be judged against it, and a share of it would divide by zero
    return StoredBudgets(None if workspace is None or workspace <= 0 else int(workspace),
                         {(str(scope), int(scope_id)): (int(nanos),
                                                        tuple(sorted({p for p in thresholds or () if p and p > 0})))
                          for scope, scope_id, nanos, thresholds in scoped})
