"""The roles of CONTRACT.md's "Who may touch what", as real Postgres roles on the test run's server."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from store.migrate import bundled_migrations
from store.roles import dashboard_sequences, meter_grant_statements
from store.row_security import meter_row_security_statements
from store.tenancy import set_workspace
from tests.conftest import TEST_ROLES
from tests.factories import Conn, make_workspace

DENIED = psycopg.errors.InsufficientPrivilege
RUNBOOK = Path(__file__).resolve().parents[2] / "deploy" / "runbook.md"


def insert_run(conn: Conn, workspace_id: int) -> None:
    conn.execute("""insert into analysis.runs (workspace_id, job, status, started_at)
                    values (%s, 'test', 'running', now())""", (workspace_id,))


def test_the_fleet_reads_meter_and_writes_analysis(fleet: Conn, db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    set_workspace(fleet, ws)  # as every job's connection is (row-level security: tests/store/test_row_security.py)
    assert fleet.execute("select count(*) from meter.workspaces").fetchone() == (1,)
    insert_run(fleet, ws)
    fleet.execute("update analysis.runs set status = 'succeeded'")
    fleet.execute("delete from analysis.runs")
    assert fleet.execute("select pg_try_advisory_lock(1)").fetchone() == (True,)


@pytest.mark.parametrize("statement", [
    "insert into meter.workspaces (slug, name) values ('x', 'x')",
    "update meter.workspaces set name = 'x'",
    "delete from meter.requests",
    "insert into meter.billing_statements (workspace_id, provider, period, source) values (1, 'openai', "
    "'2026-11-01', 'manual')",
    "create table analysis.sneaky (x int)",
    "delete from analysis.schema_migrations",
])
def test_the_fleet_is_refused_everything_else(fleet: Conn, statement: str) -> None:
    with pytest.raises(DENIED):
        fleet.execute(statement)


def test_the_dashboard_reads_both_and_writes_its_four_meter_tables(dashboard: Conn, db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    insert_run(db_conn, ws)
    assert dashboard.execute("select count(*) from analysis.runs").fetchone() == (1,)
    assert dashboard.execute("select count(*) from meter.requests").fetchone() == (0,)
    dashboard.execute("""insert into meter.billing_statements (workspace_id, provider, period, source, raw_text)
                         values (%s, 'openai', '2026-11-01', 'manual', '$1.00')""", (ws,))
    dashboard.execute("""insert into meter.check_suppressions (workspace_id, check_id, suppressed_by, suppressed_at)
                         values (%s, 'batch-api', 'ann', now())""", (ws,))
    dashboard.execute("""insert into meter.recommendation_decisions (workspace_id, fingerprint, decision, decided_by,
                         decided_at) values (%s, 'f', 'accepted', 'ann', now())""", (ws,))
    dashboard.execute("""insert into meter.report_requests (workspace_id, kind, period_start, period_end,
                         requested_by) values (%s, 'executive', '2026-10-01', '2026-11-01', 'ann')""", (ws,))
    dashboard.execute("update meter.recommendation_decisions set decision = 'dismissed'")
    dashboard.execute("delete from meter.check_suppressions")


@pytest.mark.parametrize("statement", [
    "insert into analysis.runs (workspace_id, job, status, started_at) values (1, 'x', 'running', now())",
    "update analysis.reconciliation set band = 'green'",
    "delete from analysis.recommendations",
    "insert into meter.requests (workspace_id, device_id, provider, model, started_at, status_code, input_tokens,"
    " output_tokens, cost_nanos, rates_version) values (1, 1, 'openai', 'x', now(), 200, 1, 1, 1, 'v')",
    "update meter.workspaces set name = 'x'",
    "delete from meter.projects",
])
def test_the_dashboard_is_refused_everything_else(dashboard: Conn, statement: str) -> None:
    with pytest.raises(DENIED):
        dashboard.execute(statement)


def insert_audit_event(conn: Conn, workspace_id: int) -> None:
    conn.execute("""insert into analysis.audit_events (workspace_id, actor, event, resource, details, at)
                    values (%s, 'worker:test', 'report.rendered', 'report_request:1', '{}', now())""",
                 (workspace_id,))


def test_the_fleet_appends_to_the_audit_log(fleet: Conn, db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    set_workspace(fleet, ws)
    insert_audit_event(fleet, ws)
    assert db_conn.execute("select event from analysis.audit_events").fetchall() == [("report.rendered",)]


@pytest.mark.parametrize("statement", [
    "update analysis.audit_events set event = 'nothing.happened'",
    "delete from analysis.audit_events",
    "truncate analysis.audit_events",
])
def test_the_fleet_cannot_rewrite_or_erase_the_audit_log(fleet: Conn, db_conn: Conn, statement: str) -> None:
    insert_audit_event(db_conn, make_workspace(db_conn).workspace_id)
    with pytest.raises(DENIED):
        fleet.execute(statement)
    assert db_conn.execute("select event from analysis.audit_events").fetchall() == [("report.rendered",)]


def canonical(statement: str) -> str:
    """One statement as Postgres reads it: lower case, single spaces, no quotes around plain names."""
    statement = re.sub(r'"([a-z_][a-z0-9_]*)"', r"\1", statement.strip().rstrip(";"))
    return " ".join(statement.lower().split())


def runbook_sql_blocks() -> list[list[str]]:
    """The runbook's ```sql blocks: what the owner of meter runs in production, statement by statement."""
    blocks = re.findall(r"^```sql\n(.*?)^```", RUNBOOK.read_text(), re.MULTILINE | re.DOTALL)
    assert len(blocks) == 2, ("deploy/runbook.md should have exactly two ```sql blocks: the grants on meter, "
                              "then its row-level security")
    return [[canonical(statement) for statement in block.split(";") if statement.strip()] for block in blocks]


def runbook_meter_grants() -> list[str]:
    return runbook_sql_blocks()[0]


def test_the_runbooks_grants_on_meter_are_the_ones_migrate_issues(db_conn: Conn) -> None:
    """Production's sync service runs the runbook's block; where `migrate` owns meter it issues these."""
    issued = meter_grant_statements(TEST_ROLES, dashboard_sequences(db_conn))
    assert runbook_meter_grants() == [canonical(statement.as_string(db_conn)) for statement in issued]


def test_the_runbooks_row_security_on_meter_is_what_migrate_issues(db_conn: Conn) -> None:
    """With --skip-meter the owner of meter runs migration 0022 (a meter migration, so skipped) and the
    runbook's second block; where `migrate` owns meter it applies the file and issues these statements."""
    issued = meter_row_security_statements(TEST_ROLES)
    assert runbook_sql_blocks()[1] == [canonical(statement.as_string(db_conn)) for statement in issued]
    named = re.findall(r"store/migrations/(\d{4})_(\w+)\.sql", RUNBOOK.read_text())
    meter_files = {(m.version, m.name) for m in bundled_migrations() if m.creates_meter and m.version >= "0022"}
    assert meter_files == {("0022", "meter_row_security"), ("0024", "meter_export_destinations"),
                           ("0026", "meter_requests_by_month"), ("0027", "meter_request_partition_lock")}
    assert set(named) >= meter_files
