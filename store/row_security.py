"""Row-level security for the fleet's role (issue 16 item 6): the statements that name the role.

Every table of `meter` and `analysis` that holds a workspace's rows has row-level security on, with two
policies:

- `every_role`, permissive, `using (true)`: nothing changes for the dashboard, the owners (who bypass it
  anyway) or any other reader;
- `fleet_one_workspace`, restrictive, for the fleet's role only: the rows of the workspace its connection
  is scoped to (the setting `halton.workspace_id`, store/tenancy.py), for reads and writes alike. A
  connection scoped to no workspace sees and writes nothing.

The explicit `workspace_id = %s` of every query stays: the policy is the second guard, for the query that
forgets it. The reads of meter.requests that pass many rows (the rollup's, found by a comment naming this
module) write theirs as `workspace_id = any(array[%s])`: the same filter, and the same index condition, but
not an equality the planner merges with the policy's. Merged (`workspace_id = 1` and `workspace_id =
$policy` in one equivalence class), Postgres derives `1 = $policy` and checks it in a gating Result node
above each scan, and every row the scan returns passes through that node: the nightly rollup was 7 % slower
under the policy for it (bench/bench_rollup.py, docs/BENCHMARKS.md). Apart, both are index conditions and
the plan is the one without row-level security, plus the policy's InitPlan.

The reads across workspaces (the fan-outs, a task that knows only a task or request id) go through narrow
SECURITY DEFINER functions (migrations 0020, 0022, 0023 and 0024) that return ids only.

Where they are issued: `meter` in migration 0022 (row-level security on, `every_role`, the functions) and
`meter_row_security_statements` here (the fleet's policies and its EXECUTE), which `migrate` runs when it
owns `meter`; in production the owner of `meter` runs both (deploy/runbook.md lists them, a test keeps
them equal). `analysis`, which `migrate` always owns: `analysis_row_security_statements` on each run, for
every table found in the catalog, so a table a later migration adds is covered by the next `migrate`.
"""

from __future__ import annotations

from psycopg import sql

from core.db import Conn
from store.roles import Roles

SETTING = "halton.workspace_id"
# The workspace the connection is scoped to; unset or reset ('') is null, and `x = null` admits no row.
# A scalar subquery, so Postgres computes it once per statement (an InitPlan), not once per row: the policy
# checks every row a statement writes, and current_setting with its cast costs about a microsecond a row
# (the catalog's daily sums were 30 % slower to write with the bare expression: bench/bench_checks.py).
SCOPED_WORKSPACE = f"(select nullif(current_setting('{SETTING}', true), '')::bigint)"

# meter's tables and the column naming their workspace; 0022 switches row-level security on for each
METER_TABLES: dict[str, str] = {
    "workspaces": "id", "cost_centers": "workspace_id", "projects": "workspace_id", "devices": "workspace_id",
    "requests": "workspace_id", "billing_statements": "workspace_id", "provider_connections": "workspace_id",
    "check_suppressions": "workspace_id", "recommendation_decisions": "workspace_id",
    "report_requests": "workspace_id", "budgets": "workspace_id", "alert_channels": "workspace_id",
    "export_destinations": "workspace_id", "export_requests": "workspace_id",
}
METER_FUNCTIONS = ("fleet_workspace_ids()", "fleet_workspaces_with_connections()", "fleet_workspace_of_slug(text)",
                   "fleet_workspace_of_report_request(bigint)", "fleet_models_in_traffic()",
                   "fleet_workspaces_with_export_destinations()", "fleet_workspace_of_export_request(bigint)")
ANALYSIS_FUNCTIONS = ("fleet_workspaces_of_running_task(text)", "fleet_oldest_success(bigint[], text)")
# analysis tables without a workspace_id, and the row of their parent that scopes them (the parent's own
# policy applies inside the subquery)
ANALYSIS_BY_PARENT: dict[str, str] = {
    "alert_deliveries": "exists (select 1 from analysis.alerts a where a.id = alert_deliveries.alert_id)",
}
# the migration ledger: the owner's alone, the fleet may not write it at all (store/roles.py)
ANALYSIS_UNSCOPED = ("schema_migrations",)


def _in_workspace(column: str) -> str:
    return f"{column} = {SCOPED_WORKSPACE}"


def _fleet_policy(schema: str, table: str, predicate: str, roles: Roles) -> list[sql.Composed]:
    target = sql.Identifier(schema, table)
    return [
        sql.SQL("drop policy if exists fleet_one_workspace on {}").format(target),
        # for all commands; without a WITH CHECK, USING checks the rows written too
        sql.SQL("create policy fleet_one_workspace on {} as restrictive to {} using ({})").format(
            target, sql.Identifier(roles.fleet), sql.SQL(predicate)),
    ]


def meter_row_security_statements(roles: Roles) -> list[sql.Composed]:
    """What the owner of `meter` runs after migration 0022 (and after each change of the fleet's role)."""
    statements = [sql.SQL("grant execute on function {} to {}").format(
        sql.SQL(", ").join(sql.SQL(f"meter.{signature}") for signature in METER_FUNCTIONS),
        sql.Identifier(roles.fleet))]
    for table, column in METER_TABLES.items():
        statements += _fleet_policy("meter", table, _in_workspace(column), roles)
    return statements


def analysis_tables(conn: Conn) -> dict[str, str]:
    """Every analysis table and the predicate that scopes it to the workspace; KeyError-free: a table with
    neither a workspace_id nor an entry in ANALYSIS_BY_PARENT is refused, so it cannot go unguarded."""
    rows = conn.execute(
        """select c.relname, exists (select 1 from pg_attribute a where a.attrelid = c.oid
                                       and a.attname = 'workspace_id' and not a.attisdropped)
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'analysis' and c.relkind in ('r', 'p') and not c.relispartition
            order by 1""").fetchall()
    found: dict[str, str] = {}
    for name, has_workspace in rows:
        if name in ANALYSIS_UNSCOPED:
            continue
        if has_workspace:
            found[str(name)] = _in_workspace("workspace_id")
        elif name in ANALYSIS_BY_PARENT:
            found[str(name)] = ANALYSIS_BY_PARENT[name]
        else:
            raise RuntimeError(f"analysis.{name} has no workspace_id: add it to store.row_security.ANALYSIS_BY_PARENT "
                               "with the row that scopes it")
    return found


def analysis_row_security_statements(roles: Roles, tables: dict[str, str]) -> list[sql.Composed]:
    """What `migrate` runs on each run for `tables` (analysis_tables): row-level security on, both policies."""
    statements = [sql.SQL("grant execute on function {} to {}").format(
        sql.SQL(", ").join(sql.SQL(f"analysis.{signature}") for signature in ANALYSIS_FUNCTIONS),
        sql.Identifier(roles.fleet))]
    for table, predicate in tables.items():
        target = sql.Identifier("analysis", table)
        statements += [
            sql.SQL("alter table {} enable row level security").format(target),
            sql.SQL("drop policy if exists every_role on {}").format(target),
            sql.SQL("create policy every_role on {} using (true)").format(target),
        ]
        statements += _fleet_policy("analysis", table, predicate, roles)
    return statements
