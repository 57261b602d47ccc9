"""Shared fixtures: real servers for the whole run.

With DATABASE_URL set, the run creates its own database on that server (and drops it at the end):
it never touches a database it did not create. Without it, an embedded Postgres starts from its
PyPI wheel in a temporary folder. Likewise REDIS_URL, or an embedded redis-server; on a shared
Redis the run uses queue names of its own so it cannot take anyone's tasks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from store.migrate import migrate
from store.roles import Roles, ensure_roles
from tests.factories import Conn
from workers.runtime.embedded import LocalServers, as_role, local_servers

# the roles of CONTRACT.md's "Who may touch what"; workers of the test run connect as the fleet's
TEST_ROLES = Roles(fleet="halton_fleet", dashboard="halton_dashboard")


@dataclass
class RunServers:
    database_url: str
    redis_url: str
    queue_prefix: str
    root: Path
    local: LocalServers  # .redis is set when the run started its own, so a chaos test may restart it


@pytest.fixture(scope="session")
def servers() -> Iterator[RunServers]:
    root = Path(tempfile.mkdtemp(prefix="halton-test-"))
    run_id = uuid.uuid4().hex[:10]
    try:
        with local_servers(root, f"halton_test_{run_id}", drop_on_exit=True) as local:
            with psycopg.connect(local.database_url, autocommit=True) as conn:
                migrate(conn)
                ensure_roles(conn, TEST_ROLES)
            prefix = f"test-{run_id}-" if local.redis is None else ""
            yield RunServers(local.database_url, local.redis_url, prefix, root, local)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(servers: RunServers) -> str:
    return servers.database_url


def _empty_tables(conn: Conn) -> None:
    tables = conn.execute(
        """select schemaname || '.' || tablename from pg_tables
           where schemaname in ('meter', 'analysis') and tablename <> 'schema_migrations'"""
    ).fetchall()
    conn.execute(f"truncate {', '.join(t[0] for t in tables)} restart identity cascade")


@pytest.fixture
def db_conn(database_url: str) -> Iterator[Conn]:
    """An autocommit connection to the run's migrated database, emptied before each test."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        _empty_tables(conn)
        yield conn


def empty_broker(servers: RunServers) -> None:
    """No task of an earlier test may reach this test's worker (a chaos test's redelivered refresh would
    run against the next test's workspace, whose ids restart at 1). The run's own Redis is emptied; on a
    shared one, only the run's own queues."""
    import redis

    broker = redis.Redis.from_url(servers.redis_url)
    try:
        if servers.local.redis is not None:
            broker.flushdb()
        else:
            keys = list(broker.scan_iter(match=f"{servers.queue_prefix}*"))
            if keys:
                broker.delete(*keys)
    finally:
        broker.close()


@pytest.fixture
def fleet_env(servers: RunServers) -> dict[str, str]:
    """The environment a worker or a command of this run needs, on a broker with no task left over."""
    from cryptography.fernet import Fernet

    empty_broker(servers)
    # nothing of the developer's own fleet: no HALTON_* settings, no Sentry project to report to
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("HALTON_", "SENTRY_"))}
    env.update({
        "DATABASE_URL": as_role(servers.database_url, TEST_ROLES.fleet),
        "HALTON_OWNER_DATABASE_URL": servers.database_url,  # migrate and seed write as the owner
        "REDIS_URL": servers.redis_url,
        "HALTON_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "HALTON_QUEUE_ANALYSIS": f"{servers.queue_prefix}analysis",
        "HALTON_QUEUE_BILLING": f"{servers.queue_prefix}billing",
        "HALTON_QUEUE_PDF": f"{servers.queue_prefix}pdf",
        "HALTON_QUEUE_HEAVY": f"{servers.queue_prefix}analysis_heavy",
    })
    return env


def python_exe() -> str:
    return shutil.which("python") or "python3"
