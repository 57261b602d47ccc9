"""meter.requests by month (migration 0026, issue 18 item 3): a new install's layout, the default partition,
the maintenance step, the conversion of a populated table, and the stages' reads keeping only their months."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from store import partitions, rollup
from store.frames import REQUEST_COLUMNS, Chunk, request_select
from store.migrate import bundled_migrations, migrate
from store.roles import ensure_roles
from store.tenancy import set_workspace
from tests.conftest import TEST_ROLES
from tests.factories import Conn, add_request, make_workspace
from workers.runtime.embedded import as_role, drop_database, recreate_database, with_database

NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)


def test_a_new_install_has_requests_by_month_with_a_default_partition(db_conn: Conn) -> None:
    assert partitions.is_partitioned(db_conn)
    names = [p.name for p in partitions.partitions(db_conn)]
    this_month = datetime.now(UTC).strftime("requests_%Y_%m")
    assert this_month in names and names[-1] == partitions.DEFAULT_PARTITION
    key = db_conn.execute("""select pg_get_constraintdef(oid) from pg_constraint
                             where conrelid = 'meter.requests'::regclass and contype = 'p'""").fetchone()
    assert key == ("PRIMARY KEY (id, started_at)",)


def test_a_row_of_a_month_without_partition_lands_in_the_default_then_moves_to_its_month(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    old = add_request(db_conn, scene, datetime(1999, 3, 4, 5, tzinfo=UTC))  # an offline daemon's row: no failure
    assert in_partition(db_conn, old) == partitions.DEFAULT_PARTITION
    assert partitions.maintain(db_conn) >= 1
    assert in_partition(db_conn, old) == "requests_1999_03"
    assert db_conn.execute("select count(*) from meter_partitions.requests_default").fetchone() == (0,)
    assert partitions.maintain(db_conn) == 0  # idempotent
    assert db_conn.execute("select count(*) from meter.requests").fetchone() == (1,)


def test_a_seed_of_history_gets_its_months_before_its_rows_land(db_conn: Conn) -> None:
    from synthetic import SeedOptions, seed_workspace

    seeded = seed_workspace(db_conn, SeedOptions(slug="history", days=45, requests_per_day=20, seed=3,
                                                 end_date=date(2019, 2, 10), plants=frozenset()))  # 27 Dec-9 Feb
    assert seeded.requests > 0
    assert db_conn.execute("select count(*) from meter_partitions.requests_default").fetchone() == (0,)
    months = {name for name, in db_conn.execute(
        "select distinct tableoid::regclass::text from meter.requests where workspace_id = %s",
        (seeded.workspace_id,)).fetchall()}
    assert months == {"meter_partitions.requests_2018_12", "meter_partitions.requests_2019_01",
                      "meter_partitions.requests_2019_02"}


def test_the_fleet_and_the_dashboard_read_through_the_parent_only(db_conn: Conn, fleet: Conn,
                                                                  dashboard: Conn) -> None:
    acme, beta = make_workspace(db_conn, "acme"), make_workspace(db_conn, "beta")
    for scene in (acme, beta):
        add_request(db_conn, scene, NOVEMBER + timedelta(days=3))
    set_workspace(fleet, acme.workspace_id)
    assert fleet.execute("select workspace_id from meter.requests").fetchall() == [(acme.workspace_id,)]
    assert dashboard.execute("select count(*) from meter.requests").fetchone() == (2,)
    for conn in (fleet, dashboard):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="meter_partitions"):
            conn.execute("select count(*) from meter_partitions.requests_default")
    # row-level security on each partition, without a policy: no row to anyone but the owner, should a
    # role ever get USAGE on the schema
    unguarded = db_conn.execute(
        """select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
           where i.inhparent = 'meter.requests'::regclass and not c.relrowsecurity""").fetchall()
    assert unguarded == []


def plan(conn: Conn, query: Any, params: Any) -> str:
    return "\n".join(str(row[0]) for row in conn.execute(b"explain (costs off) " + query_bytes(conn, query), params))


def query_bytes(conn: Conn, query: Any) -> bytes:
    text = query.as_string(conn) if not isinstance(query, str) else query
    return text.encode()


def scanned(plan_text: str) -> set[str]:
    return set(re.findall(r"on (requests_\w+)", plan_text))


def test_the_stages_reads_keep_only_their_months(db_conn: Conn) -> None:
    """EXPLAIN: the COPY reader's day, the rollup's days, clustering's day heads, the catalog's window."""
    partitions.ensure_months(db_conn, date(2026, 9, 1), date(2027, 1, 1))
    scene = make_workspace(db_conn)
    add_request(db_conn, scene, NOVEMBER + timedelta(days=3))
    as_of = NOVEMBER + timedelta(days=20)
    day = Chunk(NOVEMBER + timedelta(days=3), NOVEMBER + timedelta(days=4))
    query, params = request_select(list(REQUEST_COLUMNS), day, as_of, False, scene.workspace_id)
    assert scanned(plan(db_conn, query, params)) == {"requests_2026_11"}

    from store.rollup import _INSERT_DAYS  # the rollup's insert of its days (explain does not run it)
    days = [date(2026, 10, 30) + timedelta(days=i) for i in range(4)]  # across the month's edge
    rollup_plan = plan(db_conn, _INSERT_DAYS, rollup.insert_days_params(scene.workspace_id, days, as_of))
    assert scanned(rollup_plan) == {"requests_2026_10", "requests_2026_11"}

    from store.clustering_days import _DAY_HEADS
    heads = _DAY_HEADS.strip().removeprefix("copy (").rsplit("to stdout", 1)[0].strip().removesuffix(")")
    heads_plan = plan(db_conn, heads, (scene.workspace_id, day.start, day.end, as_of))
    assert scanned(heads_plan) == {"requests_2026_11"}

    from store.catalog_scan import _AGGREGATE
    window = {"ws": scene.workspace_id, "start": NOVEMBER - timedelta(days=10), "end": NOVEMBER + timedelta(days=20),
              "as_of": as_of}
    assert scanned(plan(db_conn, _AGGREGATE, window)) == {"requests_2026_10", "requests_2026_11"}

    from store.catalog_scan import _aggregate_query  # the window's two edges in one statement: each its month
    edges = [(NOVEMBER + timedelta(days=2, hours=3), NOVEMBER + timedelta(days=3)),
             (NOVEMBER + timedelta(days=20), NOVEMBER + timedelta(days=20, hours=3))]
    assert scanned(plan(db_conn, *_aggregate_query(scene.workspace_id, edges, as_of))) == {"requests_2026_11"}


def in_partition(conn: Conn, request_id: int) -> str:
    row = conn.execute("select tableoid::regclass::text from meter.requests where id = %s", (request_id,)).fetchone()
    assert row is not None
    return str(row[0]).removeprefix("meter_partitions.")


def snapshot(conn: Conn) -> dict[str, Any]:
    """Everything the conversion must keep: rows, grants, policies, triggers, indexes (a partitioned index is
    defined ON ONLY the parent, and built on each partition), row-level security, the owner."""
    return {
        "rows": conn.execute("select * from meter.requests order by id").fetchall(),
        "grants": conn.execute(
            """select a.grantee::regrole::text, a.privilege_type, a.is_grantable
                 from pg_class c, aclexplode(c.relacl) a where c.oid = 'meter.requests'::regclass order by 1, 2"""
        ).fetchall(),
        "column grants": conn.execute(
            """select t.attname, a.grantee::regrole::text, a.privilege_type from pg_attribute t, aclexplode(t.attacl) a
                 where t.attrelid = 'meter.requests'::regclass and t.attnum > 0 order by 1, 2, 3""").fetchall(),
        "policies": conn.execute(
            """select policyname, permissive, roles, cmd, qual, with_check from pg_policies
               where schemaname = 'meter' and tablename = 'requests' order by 1""").fetchall(),
        "triggers": conn.execute(
            """select pg_get_triggerdef(oid) from pg_trigger
               where tgrelid = 'meter.requests'::regclass and not tgisinternal order by tgname""").fetchall(),
        "indexes": conn.execute(
            """select replace(pg_get_indexdef(indexrelid), ' ON ONLY ', ' ON ') from pg_index
               where indrelid = 'meter.requests'::regclass and not indisprimary order by 1""").fetchall(),
        "security": conn.execute("""select relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner)
                                    from pg_class where oid = 'meter.requests'::regclass""").fetchone(),
    }


def test_a_populated_table_converts_keeping_every_row_grant_policy_trigger_and_index(database_url: str) -> None:
    """The documented path (deploy/runbook.md, "Partitions") on a table migrated and populated before 0026."""
    name = f"{urlsplit(database_url).path.lstrip('/')}_convert"
    recreate_database(database_url, name)
    url = with_database(database_url, name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            migrate(conn, [m for m in bundled_migrations() if m.version < "0026"])
            ensure_roles(conn, TEST_ROLES)
            conn.execute("""create function meter.requests_touched() returns trigger language plpgsql
                            as $$ begin new.latency_ms := coalesce(new.latency_ms, 0); return new; end $$""")
            conn.execute("""create trigger requests_touched before update on meter.requests
                            for each row execute function meter.requests_touched()""")
            conn.execute("grant select (id, started_at) on meter.requests to public")  # a column grant: kept
            acme, beta = make_workspace(conn, "acme"), make_workspace(conn, "beta")
            for i in range(60):  # three months and a far older row, attributed or not
                add_request(conn, acme if i % 2 else beta, datetime(2026, 9, 1, tzinfo=UTC) + timedelta(days=i * 1.5),
                            project=None if i % 7 == 0 else i % 2, cost_nanos=1_000_000 + i)
            add_request(conn, acme, datetime(2019, 5, 6, tzinfo=UTC))
            before = snapshot(conn)

            migrate(conn)  # 0026 on a populated table: its functions, the table left as it is
            assert not partitions.is_partitioned(conn)
            assert partitions.convert(conn) == 61
            assert partitions.is_partitioned(conn)
            assert snapshot(conn) == before
            assert partitions.convert(conn) == 0  # already partitioned: nothing done
            ensure_roles(conn, TEST_ROLES)  # the next migrate's grants and policies change nothing
            assert snapshot(conn) == before
            assert {"requests_2019_05", "requests_2026_09", "requests_2026_10", "requests_2026_11",
                    partitions.DEFAULT_PARTITION} <= {p.name for p in partitions.partitions(conn)}
            newest = add_request(conn, acme, NOVEMBER)  # the identity goes on from where it was
            assert newest == max(row[0] for row in before["rows"]) + 1
            conn.execute("update meter.requests set latency_ms = null where id = %s", (newest,))
            assert conn.execute("select latency_ms from meter.requests where id = %s", (newest,)).fetchone() == (0,)
        with psycopg.connect(as_role(url, TEST_ROLES.fleet), autocommit=True) as fleet:
            set_workspace(fleet, acme.workspace_id)
            seen = fleet.execute("select distinct workspace_id from meter.requests").fetchall()
            assert seen == [(acme.workspace_id,)]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                fleet.execute("delete from meter.requests")
    finally:
        drop_database(database_url, name)


def test_the_command_line_lists_maintains_and_refuses_to_convert_twice(db_conn: Conn,
                                                                       fleet_env: dict[str, str]) -> None:
    scene = make_workspace(db_conn)
    add_request(db_conn, scene, datetime(2001, 2, 3, tzinfo=UTC))  # in the default partition until maintained

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "workers.cli", "partitions", *args], env=fleet_env,
                              capture_output=True, text=True, timeout=120)

    maintained = run("maintain")
    assert maintained.returncode == 0 and maintained.stdout.startswith("partitions created: "), maintained.stderr
    listed = run("status")
    assert listed.returncode == 0
    assert re.search(r"^meter_partitions\.requests_2001_02  FOR VALUES FROM \('2001-02-01 00:00:00\+00'\)",
                     listed.stdout, re.MULTILINE), listed.stdout
    assert listed.stdout.splitlines()[-1].startswith("meter_partitions.requests_default  DEFAULT")
    converted = run("convert", "--yes")
    assert converted.returncode == 0 and converted.stdout.strip() == "meter.requests is already partitioned"
