"""What a worker's parent reads at scrape time (workers/runtime/metrics.py FleetCollector): the queue lengths
from the run's real Redis and the refresh lag from its real Postgres, as the fleet's role under row-level
security; and a source that does not answer leaves the scrape whole."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis
from celery import Celery
from prometheus_client import CollectorRegistry

from store.fleet_health import refresh_lag_seconds
from tests.conftest import TEST_ROLES, RunServers
from tests.factories import Conn, make_workspace
from workers.app.queues import HEAVY_PRIORITY, priority_lists
from workers.runtime.embedded import as_role
from workers.runtime.metrics import FleetCollector

HOUR = 3600.0


@pytest.fixture
def fleet_url(database_url: str) -> str:
    return as_role(database_url, TEST_ROLES.fleet)


@pytest.fixture
def queues(servers: RunServers) -> Iterator[list[str]]:
    names = [f"{servers.queue_prefix}metrics-{uuid.uuid4().hex[:8]}-{n}" for n in ("a", "b")]
    yield names
    client = redis.Redis.from_url(servers.redis_url)
    client.delete(*[key for name in names for key in priority_lists(name)])
    client.close()


def registry_of(collector: FleetCollector) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(collector)
    return registry


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def add_run(conn: Conn, workspace_id: int, job: str, status: str, hours_ago: float) -> None:
    conn.execute("""insert into analysis.runs (workspace_id, job, status, started_at, finished_at)
                    values (%s, %s, %s, now() - make_interval(secs => %s), now() - make_interval(secs => %s))""",
                 (workspace_id, job, status, hours_ago * HOUR + 60, hours_ago * HOUR))


def created(conn: Conn, workspace_id: int, hours_ago: float) -> None:
    conn.execute("update meter.workspaces set created_at = now() - make_interval(secs => %s) where id = %s",
                 (hours_ago * HOUR, workspace_id))


def test_queue_length_is_each_queues_redis_list_length(servers: RunServers, queues: list[str], fleet_url: str,
                                                       db_conn: Conn) -> None:
    client = redis.Redis.from_url(servers.redis_url)
    client.rpush(queues[0], "t1", "t2", "t3")
    client.close()
    registry = registry_of(FleetCollector(servers.redis_url, queues, fleet_url))
    assert registry.get_sample_value("halton_queue_length", {"queue": queues[0]}) == 3
    assert registry.get_sample_value("halton_queue_length", {"queue": queues[1]}) == 0
    assert registry.get_sample_value("halton_metrics_source_up", {"source": "redis"}) == 1


def test_queue_length_counts_the_messages_sent_at_a_lower_priority(servers: RunServers, queues: list[str],
                                                                   fleet_url: str, db_conn: Conn) -> None:
    """A large workspace's refresh waits at the heavy priority, in a list of its own (kombu's): counted too."""
    client = Celery("sender", broker=servers.redis_url)
    try:
        client.send_task("halton.refresh_workspace", kwargs={"workspace_id": 1}, queue=queues[1],
                         priority=HEAVY_PRIORITY)
        client.send_task("halton.refresh_workspace", kwargs={"workspace_id": 2}, queue=queues[1])
    finally:
        client.close()
    registry = registry_of(FleetCollector(servers.redis_url, queues, fleet_url))
    assert registry.get_sample_value("halton_queue_length", {"queue": queues[1]}) == 2
    assert registry.get_sample_value("halton_queue_length", {"queue": queues[0]}) == 0


def test_an_unreachable_redis_leaves_out_the_queue_lengths_and_not_the_scrape(queues: list[str], fleet_url: str,
                                                                              db_conn: Conn) -> None:
    add_run(db_conn, make_workspace(db_conn, "acme").workspace_id, "rollup", "succeeded", 3)
    registry = registry_of(FleetCollector(f"redis://127.0.0.1:{closed_port()}/0", queues, fleet_url, timeout=0.5))
    assert registry.get_sample_value("halton_queue_length", {"queue": queues[0]}) is None
    assert registry.get_sample_value("halton_metrics_source_up", {"source": "redis"}) == 0
    assert registry.get_sample_value("halton_metrics_source_up", {"source": "postgres"}) == 1
    assert registry.get_sample_value("halton_refresh_lag_seconds") is not None


def test_an_unreachable_postgres_leaves_out_the_refresh_lag_and_not_the_scrape(servers: RunServers,
                                                                              queues: list[str]) -> None:
    registry = registry_of(FleetCollector(servers.redis_url, queues,
                                          f"postgresql://nobody@127.0.0.1:{closed_port()}/none", timeout=0.5))
    assert registry.get_sample_value("halton_refresh_lag_seconds") is None
    assert registry.get_sample_value("halton_metrics_source_up", {"source": "postgres"}) == 0
    assert registry.get_sample_value("halton_queue_length", {"queue": queues[0]}) == 0


def test_refresh_lag_is_the_age_of_the_oldest_workspaces_last_successful_rollup(fleet_url: str,
                                                                               db_conn: Conn) -> None:
    acme, beta, fresh = (make_workspace(db_conn, slug).workspace_id for slug in ("acme", "beta", "fresh"))
    add_run(db_conn, acme, "rollup", "succeeded", 30)
    add_run(db_conn, acme, "rollup", "succeeded", 10)  # acme's last success: 10 hours ago
    add_run(db_conn, acme, "rollup", "failed", 1)  # a failure since does not make it fresher
    add_run(db_conn, acme, "clustering", "succeeded", 1)  # nor another stage's success
    add_run(db_conn, beta, "rollup", "succeeded", 2)
    created(db_conn, fresh, hours_ago=6)  # never succeeded, created 6 hours ago: younger than acme's lag
    add_run(db_conn, fresh, "rollup", "failed", 5)
    add_run(db_conn, 999_999, "rollup", "succeeded", 100)  # a workspace no longer in meter.workspaces
    # the fleet's role sees no run unscoped: the lag comes through the narrow function
    with psycopg.connect(fleet_url, autocommit=True) as fleet:
        assert fleet.execute("select count(*) from analysis.runs").fetchone() == (0,)
        lag = refresh_lag_seconds(fleet, "rollup")
    assert lag is not None
    assert 10 * HOUR <= lag < 11 * HOUR
    registry = registry_of(FleetCollector("redis://127.0.0.1:1/0", [], fleet_url, timeout=0.5))
    scraped = registry.get_sample_value("halton_refresh_lag_seconds")
    assert scraped is not None and 10 * HOUR <= scraped < 11 * HOUR
    assert registry.get_sample_value("halton_metrics_source_up", {"source": "postgres"}) == 1


def test_a_workspace_failing_every_night_since_its_creation_counts_from_its_creation(fleet_url: str,
                                                                                      db_conn: Conn) -> None:
    """The lag alert is there for it: never a successful rollup, three days of failures."""
    acme, failing = (make_workspace(db_conn, slug).workspace_id for slug in ("acme", "failing"))
    add_run(db_conn, acme, "rollup", "succeeded", 2)
    created(db_conn, failing, hours_ago=72)
    for night in (70, 46, 22):
        add_run(db_conn, failing, "rollup", "failed", night)
    with psycopg.connect(fleet_url, autocommit=True) as fleet:
        lag = refresh_lag_seconds(fleet, "rollup")
    assert lag is not None and 72 * HOUR <= lag < 73 * HOUR
    registry = registry_of(FleetCollector("redis://127.0.0.1:1/0", [], fleet_url, timeout=0.5))
    scraped = registry.get_sample_value("halton_refresh_lag_seconds")
    assert scraped is not None and 72 * HOUR <= scraped < 73 * HOUR


def test_a_workspace_created_minutes_ago_adds_minutes_of_lag(fleet_url: str, db_conn: Conn) -> None:
    created(db_conn, make_workspace(db_conn, "new").workspace_id, hours_ago=0.1)  # no run at all yet
    with psycopg.connect(fleet_url, autocommit=True) as fleet:
        lag = refresh_lag_seconds(fleet, "rollup")
    assert lag is not None and 0.1 * HOUR <= lag < 0.2 * HOUR


def test_no_refresh_lag_without_any_workspace(fleet_url: str, db_conn: Conn) -> None:
    add_run(db_conn, 999_999, "rollup", "failed", 5)  # a workspace no longer in meter.workspaces
    with psycopg.connect(fleet_url, autocommit=True) as fleet:
        assert refresh_lag_seconds(fleet, "rollup") is None
    registry = registry_of(FleetCollector("redis://127.0.0.1:1/0", [], fleet_url, timeout=0.5))
    assert registry.get_sample_value("halton_refresh_lag_seconds") is None
    assert registry.get_sample_value("halton_metrics_source_up", {"source": "postgres"}) == 1


def test_where_the_functions_owner_cannot_read_meter_a_workspace_counts_from_its_first_run(
        fleet_url: str, db_conn: Conn) -> None:
    """Production until the owner of meter grants it (deploy/runbook.md): the owner of analysis reads no
    meter table, so a workspace that never succeeded counts from its first run, whatever its status."""
    acme, failing = (make_workspace(db_conn, slug).workspace_id for slug in ("acme", "failing"))
    add_run(db_conn, acme, "rollup", "succeeded", 2)
    add_run(db_conn, failing, "rollup", "failed", 30)
    add_run(db_conn, failing, "rollup", "failed", 6)
    owner = f"halton_analysis_owner_{uuid.uuid4().hex[:8]}"
    ids = [acme, failing]
    with db_conn.transaction(force_rollback=True):  # the owner, its grants and the change of owner roll back
        db_conn.execute(f"create role {owner}")
        db_conn.execute(f"grant usage on schema analysis to {owner}")
        db_conn.execute(f"grant select on analysis.runs to {owner}")
        db_conn.execute(f"alter function analysis.fleet_oldest_success(bigint[], text) owner to {owner}")
        db_conn.execute(f"set local role {TEST_ROLES.fleet}")
        row = db_conn.execute("""select extract(epoch from now() - analysis.fleet_oldest_success(%s::bigint[],
                                                                                          'rollup'))::float8""",
                              (ids,)).fetchone()
    assert row is not None and 30 * HOUR <= row[0] < 31 * HOUR


def test_only_the_fleets_role_may_call_the_refresh_lag_function(database_url: str, db_conn: Conn) -> None:
    with psycopg.connect(as_role(database_url, TEST_ROLES.dashboard), autocommit=True) as dashboard, \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        dashboard.execute("select analysis.fleet_oldest_success(array[1]::bigint[], 'rollup')")
