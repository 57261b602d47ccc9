"""`halton-workers worker` starts only as a role that can read `meter` and not write it, on the real server:
a superuser, a role with a write privilege on a meter table (granted directly or through a role it belongs
to) are refused with one line and exit 2; the fleet's role starts; HALTON_ALLOW_PRIVILEGED_WORKER admits."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from store.roles import meter_write_access
from tests.conftest import TEST_ROLES
from tests.e2e.worker_process import WorkerProcess
from tests.factories import Conn
from workers.runtime.embedded import as_role
from workers.runtime.worker_guard import privileged_reason

pytestmark = pytest.mark.e2e


def start_worker(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`halton-workers worker` for a refusal: it exits before Celery starts (the timeout catches a start)."""
    return subprocess.run([sys.executable, "-m", "workers.cli", "worker", "--concurrency", "1"], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def superuser(database_url: str, db_conn: Conn) -> str:
    """The run's owner URL, which is a superuser on the servers tests use (embedded or local)."""
    row = db_conn.execute("select rolname from pg_roles where rolname = current_user and rolsuper").fetchone()
    if row is None:
        pytest.skip("the run's DATABASE_URL is not a superuser")
    return str(row[0])


@pytest.fixture
def scratch_role(database_url: str, db_conn: Conn) -> Iterator[str]:
    """A login role of this test alone that may read meter like the fleet (roles are server-wide: a
    unique name, dropped afterwards)."""
    name = f"halton_test_{uuid.uuid4().hex[:10]}"
    role = sql.Identifier(name)
    db_conn.execute(sql.SQL("create role {} login").format(role))
    try:
        db_conn.execute(sql.SQL("grant usage on schema meter to {}").format(role))
        db_conn.execute(sql.SQL("grant select on all tables in schema meter to {}").format(role))
        yield name
    finally:
        for statement in ("drop owned by {}", "drop role {}"):
            db_conn.execute(sql.SQL(statement).format(role))


def access_of(database_url: str, role: str) -> tuple[str, list[str]]:
    with psycopg.connect(as_role(database_url, role), autocommit=True) as conn:
        login, found = meter_write_access(conn)
    return login, [f"{access.role}:{access.what}:{access.target}" for access in found]


def test_the_fleets_role_cannot_write_meter(database_url: str, db_conn: Conn) -> None:
    assert access_of(database_url, TEST_ROLES.fleet) == (TEST_ROLES.fleet, [])
    assert access_of(database_url, TEST_ROLES.dashboard)[1]  # it writes its four tables: never a worker


def test_a_superuser_worker_is_refused_with_one_line(superuser: str, fleet_env: dict[str, str],
                                                      database_url: str) -> None:
    done = start_worker({**fleet_env, "DATABASE_URL": database_url})
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"error: DATABASE_URL logs in as {superuser}, a superuser, and a worker may only read meter: point "
        f"DATABASE_URL at the fleet's role ({TEST_ROLES.fleet}, which `halton-workers migrate` creates), or set "
        "HALTON_ALLOW_PRIVILEGED_WORKER=true in development"]


@pytest.mark.parametrize(("grant", "held"), [
    ("grant insert on meter.devices to {role}", "which has INSERT on meter.devices, "),
    ("grant update (name) on meter.workspaces to {role}", "which has UPDATE on meter.workspaces, "),
    ("grant delete, truncate on meter.requests, meter.projects to {role}",
     "which has DELETE, TRUNCATE on meter.projects (and 1 more table), "),
    # Postgres's predefined role: write access to every table
    ("grant pg_write_all_data to {role}", "which has INSERT, UPDATE, DELETE on meter.alert_channels (and "),
])
def test_a_role_that_can_write_a_meter_table_is_refused(scratch_role: str, db_conn: Conn, database_url: str,
                                                         fleet_env: dict[str, str], grant: str, held: str) -> None:
    db_conn.execute(sql.SQL(grant).format(role=sql.Identifier(scratch_role)))
    done = start_worker({**fleet_env, "DATABASE_URL": as_role(database_url, scratch_role)})
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: DATABASE_URL logs in as {scratch_role}, {held}")
    assert "and a worker may only read meter: point DATABASE_URL at the fleet's role" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_a_member_of_a_role_that_writes_meter_is_refused(scratch_role: str, db_conn: Conn,
                                                          database_url: str) -> None:
    """Even without inheriting them (NOINHERIT), SET ROLE gives it the writer's rights: they count."""
    writer = f"{scratch_role}_w"
    db_conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(writer)))
    try:
        db_conn.execute(sql.SQL("grant insert on meter.requests to {}").format(sql.Identifier(writer)))
        # NOINHERIT before the grant: from Postgres 16 a membership's INHERIT option is taken from the
        # role when it is granted (the embedded server is 18; a later ALTER leaves the grant inheriting)
        db_conn.execute(sql.SQL("alter role {} noinherit").format(sql.Identifier(scratch_role)))
        db_conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(writer), sql.Identifier(scratch_role)))
        login, found = access_of(database_url, scratch_role)
        assert found == [f"{writer}:INSERT:meter.requests"]
        with psycopg.connect(as_role(database_url, scratch_role)) as conn:
            login, accesses = meter_write_access(conn)
        assert privileged_reason(login, accesses) == f"a member of {writer} (INSERT on meter.requests)"
    finally:
        db_conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(writer)))
        db_conn.execute(sql.SQL("drop role {}").format(sql.Identifier(writer)))


def test_the_setting_admits_a_privileged_worker_with_a_warning(superuser: str, fleet_env: dict[str, str],
                                                                 database_url: str, tmp_path: Path) -> None:
    env = {**fleet_env, "DATABASE_URL": database_url, "HALTON_ALLOW_PRIVILEGED_WORKER": "true"}
    worker = WorkerProcess.start(env, tmp_path / "worker.log")  # waits for Celery's " ready."
    try:
        assert (f"HALTON_ALLOW_PRIVILEGED_WORKER=true: this worker runs as {superuser}, a superuser "
                "(development only)") in worker.log()
    finally:
        worker.stop()
