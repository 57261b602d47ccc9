"""Tenant isolation as a database guarantee (issue 16 item 6): row-level security on meter and analysis
for the fleet's role, on the test run's real server, with the fleet's real role.

The owner (the tests' superuser, `db_conn`) bypasses row-level security: it seeds and checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from core.errors import UserError
from store import rollup
from store.dashboard_reads import spend_by_project
from store.frames import read_requests
from store.incremental import LATE_DAYS
from store.pricing_reads import distinct_provider_model_tiers
from store.reconciliation import workspaces_with_connections
from store.row_security import METER_TABLES, analysis_tables
from store.tenancy import (
    enter_report_request,
    enter_workspace,
    scoped_workspace,
    set_workspace,
    workspace_of_report_request,
    workspace_scope,
    workspaces_of_running_task,
)
from store.workspaces import all_workspace_ids
from tests.conftest import TEST_ROLES
from tests.factories import Conn, Scene, add_request, make_workspace
from tests.store.rollup_sums import assert_rollup_equals_requests
from workers.jobs import refresh_workspace
from workers.runtime.db import sibling

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
REFUSED = psycopg.errors.InsufficientPrivilege  # "new row violates row-level security policy"


def two_workspaces(conn: Conn) -> tuple[Scene, Scene]:
    """Two workspaces with traffic, rolled up, clustered and checked (so analysis has rows of both)."""
    scenes = make_workspace(conn, "acme"), make_workspace(conn, "beta")
    for scene in scenes:
        for day in range(1, 15):
            for hour in (3, 9, 15):
                add_request(conn, scene, AS_OF - timedelta(days=day, hours=hour), project=hour % 2)
        refresh_workspace(conn, scene.workspace_id, AS_OF)
        conn.execute("""insert into meter.provider_connections (workspace_id, provider, admin_key_ciphertext, key_hint)
                        values (%s, 'openai', '\\x00', '…abcd')""", (scene.workspace_id,))
        conn.execute("""insert into meter.report_requests (workspace_id, kind, period_start, period_end, requested_by)
                        values (%s, 'executive', '2026-10-01', '2026-11-01', 'test')""", (scene.workspace_id,))
    return scenes


def scoped_tables(conn: Conn) -> dict[str, str]:
    """Every table under row-level security, qualified, and the column naming its workspace (or '' when a
    parent row scopes it)."""
    tables = {f"meter.{name}": column for name, column in METER_TABLES.items()}
    tables.update({f"analysis.{name}": ("workspace_id" if "workspace_id" in predicate else "")
                   for name, predicate in analysis_tables(conn).items()})
    return tables


def count(conn: Conn, table: str, where: str = "true") -> int:
    row = conn.execute(f"select count(*) from {table} where {where}").fetchone()
    assert row is not None
    return int(row[0])


def test_every_table_of_both_schemas_has_row_security_and_the_fleets_policy(db_conn: Conn) -> None:
    found = db_conn.execute(
        """select n.nspname || '.' || c.relname, c.relrowsecurity,
                  exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polname = 'fleet_one_workspace'
                          and not p.polpermissive and p.polroles = array[%s::regrole::oid])
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname in ('meter', 'analysis') and c.relkind in ('r', 'p') and c.relname <> 'schema_migrations'
            order by 1""", (TEST_ROLES.fleet,)).fetchall()
    assert [(name, True, True) for name, _, _ in found] == found
    assert sorted(scoped_tables(db_conn)) == [name for name, _, _ in found]  # METER_TABLES lists every meter table


def test_the_fleet_scoped_to_no_workspace_sees_no_row_of_any_table(fleet: Conn, db_conn: Conn) -> None:
    acme, beta = two_workspaces(db_conn)
    tables = scoped_tables(db_conn)
    # the owner sees rows of both workspaces in many tables, so a zero below is the policy, not an empty table
    of_both = [table for table, column in tables.items() if column and all(
        count(db_conn, table, f"{column} = {scene.workspace_id}") > 0 for scene in (acme, beta))]
    assert len(of_both) >= 15, of_both
    assert {table: count(fleet, table) for table in tables} == dict.fromkeys(tables, 0)


def test_the_fleet_scoped_to_a_workspace_sees_exactly_its_rows_in_every_table(fleet: Conn, db_conn: Conn) -> None:
    acme, beta = two_workspaces(db_conn)
    tables = scoped_tables(db_conn)
    for scene in (acme, beta):
        with workspace_scope(fleet, scene.workspace_id):
            seen = {table: count(fleet, table) for table in tables}
        by_alert = f"alert_id in (select id from analysis.alerts where workspace_id = {scene.workspace_id})"
        expected = {table: count(db_conn, table, f"{column} = {scene.workspace_id}" if column else by_alert)
                    for table, column in tables.items()}
        assert seen == expected
        assert seen["meter.requests"] == 42 and seen["analysis.daily_spend"] > 0


def test_the_fleet_cannot_write_a_row_of_another_workspace(fleet: Conn, db_conn: Conn) -> None:
    acme, beta = make_workspace(db_conn, "acme"), make_workspace(db_conn, "beta")
    db_conn.execute("""insert into analysis.runs (workspace_id, job, status, started_at)
                       values (%s, 'test', 'running', now())""", (beta.workspace_id,))
    set_workspace(fleet, acme.workspace_id)
    with pytest.raises(REFUSED, match="row-level security"):
        fleet.execute("""insert into analysis.runs (workspace_id, job, status, started_at)
                         values (%s, 'test', 'running', now())""", (beta.workspace_id,))
    assert fleet.execute("update analysis.runs set status = 'failed' where workspace_id = %s",
                         (beta.workspace_id,)).rowcount == 0
    assert fleet.execute("delete from analysis.runs").rowcount == 0
    assert db_conn.execute("select workspace_id, status from analysis.runs").fetchall() == [(beta.workspace_id,
                                                                                            "running")]


def test_a_rollup_with_the_wrong_workspace_set_reads_nothing_and_writes_nothing(fleet: Conn, db_conn: Conn) -> None:
    """The rollup stage of acme, run as the fleet on a connection scoped to beta: its explicit filter asks
    for acme's rows, row-level security admits only beta's, so nothing is read and nothing written."""
    acme, beta = make_workspace(db_conn, "acme"), make_workspace(db_conn, "beta")
    for scene in (acme, beta):
        for day in range(1, 8):
            add_request(db_conn, scene, AS_OF - timedelta(days=day))
    set_workspace(fleet, beta.workspace_id)
    # the stage's reads: acme's requests, asked for by id, are not there
    start = AS_OF - timedelta(days=30)
    assert len(read_requests(db_conn, acme.workspace_id, start, AS_OF, ["id", "cost_nanos"])) == 7
    assert len(read_requests(fleet, acme.workspace_id, start, AS_OF, ["id", "cost_nanos"])) == 0
    # the stage itself: the pipeline does not find the workspace, so no run row is even opened
    with pytest.raises(UserError, match=f"no workspace with id {acme.workspace_id}"):
        refresh_workspace(fleet, acme.workspace_id, AS_OF, stage="rollup")
    # its results transaction, called directly for acme: it reads no request and may write no row of acme
    with pytest.raises(REFUSED, match="row-level security"), fleet.transaction():
        rollup.refresh_daily_spend(fleet, acme.workspace_id, AS_OF, 1, history_years=1,
                                   state=rollup.load_state(fleet, acme.workspace_id))
    for table in ("analysis.runs", "analysis.daily_spend", "analysis.daily_totals", "analysis.rollup_state"):
        assert count(db_conn, table) == 0, table


def test_the_rollup_as_the_fleet_scoped_to_its_workspace_is_exact(fleet: Conn, db_conn: Conn) -> None:
    acme, beta = make_workspace(db_conn, "acme"), make_workspace(db_conn, "beta")
    for scene in (acme, beta):
        for day in range(1, 8):
            add_request(db_conn, scene, AS_OF - timedelta(days=day, hours=scene.workspace_id))
    with workspace_scope(fleet, acme.workspace_id):
        outcome = refresh_workspace(fleet, acme.workspace_id, AS_OF)
    assert outcome.status == "succeeded"
    assert assert_rollup_equals_requests(db_conn, acme.workspace_id, AS_OF) == 7
    assert db_conn.execute("select distinct workspace_id from analysis.runs").fetchall() == [(acme.workspace_id,)]
    assert count(db_conn, "analysis.daily_spend", f"workspace_id = {beta.workspace_id}") == 0


def test_the_reads_across_workspaces_go_through_their_narrow_functions(fleet: Conn, db_conn: Conn,
                                                                        dashboard: Conn) -> None:
    acme, beta = two_workspaces(db_conn)
    both = [acme.workspace_id, beta.workspace_id]
    assert all_workspace_ids(fleet) == both
    assert workspaces_with_connections(fleet) == both
    request_id = db_conn.execute("select max(id) from meter.report_requests").fetchone()
    assert request_id is not None
    assert workspace_of_report_request(fleet, request_id[0]) == beta.workspace_id
    db_conn.execute("""insert into analysis.runs (workspace_id, job, status, started_at, task_id)
                       values (%s, 'test', 'running', now(), 'task-1')""", (beta.workspace_id,))
    assert workspaces_of_running_task(fleet, "task-1") == [beta.workspace_id]
    assert distinct_provider_model_tiers(fleet) == distinct_provider_model_tiers(db_conn) != []  # rates --traffic
    assert scoped_workspace(fleet) is None  # none of them scoped the connection
    # the dashboard sees every row, as before, and may not call the fleet's functions
    assert count(dashboard, "meter.requests") == count(db_conn, "meter.requests") == 84
    assert count(dashboard, "analysis.daily_spend") == count(db_conn, "analysis.daily_spend")
    with pytest.raises(REFUSED):
        dashboard.execute("select meter.fleet_workspace_ids()")


def test_the_command_line_enters_the_workspace_it_names(fleet: Conn, db_conn: Conn) -> None:
    acme, beta = two_workspaces(db_conn)
    assert enter_workspace(fleet, "beta").id == beta.workspace_id
    assert scoped_workspace(fleet) == beta.workspace_id
    assert count(fleet, "meter.workspaces") == 1
    with pytest.raises(UserError, match="no workspace with slug 'gamma'"):
        enter_workspace(db_conn, "gamma")
    set_workspace(fleet, None)
    request_id = db_conn.execute("select min(id) from meter.report_requests").fetchone()
    assert request_id is not None
    assert enter_report_request(fleet, request_id[0]) == acme.workspace_id == scoped_workspace(fleet)
    with pytest.raises(UserError, match="no report request with id 999"):
        enter_report_request(fleet, 999)


def test_a_scope_is_restored_after_its_block_and_never_switched_inside_another(fleet: Conn) -> None:
    with workspace_scope(fleet, 7):
        assert scoped_workspace(fleet) == 7
        with workspace_scope(fleet, 7):
            pass
        assert scoped_workspace(fleet) == 7
        with pytest.raises(RuntimeError, match="scoped to workspace 7, not 8"), workspace_scope(fleet, 8):
            pass
        with sibling(fleet) as other:  # the checks stage's second connection reads the same workspace
            assert scoped_workspace(other) == 7
    assert scoped_workspace(fleet) is None


def test_spend_by_project_names_only_projects_of_the_workspace(db_conn: Conn) -> None:
    """The dashboard's read joined projects by id alone: a rollup row naming another workspace's project
    id showed that project's slug. It now shows no project of another workspace."""
    acme, beta = make_workspace(db_conn, "acme"), make_workspace(db_conn, "beta")
    day = date(2026, 11, 1)
    for project_id in (acme.project_ids[0], beta.project_ids[0], None):
        db_conn.execute(
            """insert into analysis.daily_spend (workspace_id, day, project_id, device_id, provider, model,
                   service_tier, requests, errors, input_tokens, cache_read_tokens, cache_write_tokens,
                   output_tokens, reasoning_tokens, cost_nanos)
               values (%s, %s, %s, %s, 'openai', 'gpt-4o', 'standard', 1, 0, 1, 0, 0, 1, 0, 5)""",
            (acme.workspace_id, day, project_id, acme.device_ids[0]))
    labels = {line.label for line in spend_by_project(db_conn, acme.workspace_id, day, day + timedelta(days=1))}
    assert labels == {"acme-p0", "(unknown project)", "(unattributed)"}


def test_the_rollups_reads_of_requests_under_the_policy_have_no_gate_per_row(fleet: Conn, db_conn: Conn) -> None:
    """The rollup's many-row reads of meter.requests, as the fleet scoped to its workspace, plan as they do
    without row-level security: the explicit filter and the policy both index conditions, and no gating
    Result node (`One-Time Filter`) above the scan for every row to pass through (store/row_security.py)."""
    acme = make_workspace(db_conn, "acme")
    for day in range(1, 4):
        add_request(db_conn, acme, AS_OF - timedelta(days=day))
    days = [(AS_OF - timedelta(days=day)).date() for day in (2, 1)]
    params = rollup.insert_days_params(acme.workspace_id, days, AS_OF)
    late_days = (LATE_DAYS, (acme.workspace_id, AS_OF - timedelta(days=1), AS_OF, rollup.utc_midnight(days[0]), AS_OF))
    with workspace_scope(fleet, acme.workspace_id), fleet.transaction(force_rollback=True):
        for query, values in ((rollup._INSERT_DAYS, params), late_days):
            plan = "\n".join(str(row[0]) for row in fleet.execute(f"explain (costs off) {query}", values))
            assert "One-Time Filter" not in plan, plan
            scans = [line for line in plan.splitlines() if "Index Cond" in line and "workspace_id = ANY" in line]
            assert scans and all("workspace_id = $" in line or "InitPlan" in line for line in scans), plan
