"""The catalog's aggregate reads equal the pure adapter on the same requests: analysis.catalog_daily built
incrementally (late rows rebuild their day), the window's edges summed on the fly, a replay left to a
direct sum, the odd requests one by one; and samples are the scope's latest requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from checks.base import REQUEST_COLUMNS, SampleScope, latest_ids
from checks.usage import (
    BOUND_COLUMNS,
    GROUP_KEYS,
    ODD_COLUMNS,
    SUM_COLUMNS,
    Usage,
    from_requests,
    odd_columns,
    successful_rows,
)
from pricing import load_rates
from store.catalog_scan import Days, read_usage, refresh_catalog_daily, sample_ids
from store.frames import read_requests
from tests.factories import Conn, Scene, add_request, make_workspace

DAY = datetime(2026, 10, 20, tzinfo=UTC)
ZONE = "America/New_York"


def traffic(conn: Conn, scene: Scene) -> None:
    for day in range(3):
        for hour in (1, 4, 7, 13, 23):
            at = DAY + timedelta(days=day, hours=hour)
            add_request(conn, scene, at, input_tokens=500 * (hour + 1), output_tokens=40 * hour)
            add_request(conn, scene, at, project=None, model="gpt-5.1", provider="openai", output_tokens=2000)
        add_request(conn, scene, DAY + timedelta(days=day, hours=9), input_tokens=150_000)  # above every line
        add_request(conn, scene, DAY + timedelta(days=day, hours=10), output_tokens=0)  # no output
        add_request(conn, scene, DAY + timedelta(days=day, hours=11), status_code=529, output_tokens=0)
        # a capitalised model and tier: code point order puts them before lower case (a linguistic collation
        # would not), as pandas orders them
        add_request(conn, scene, DAY + timedelta(days=day, hours=12), model="Zeta-1", provider="Zeta",
                    service_tier="Priority")


def direct(conn: Conn, ws: int, as_of: datetime) -> Usage:
    frame = read_requests(conn, ws, as_of - timedelta(days=30), as_of, REQUEST_COLUMNS, synced_by=as_of)
    return from_requests(frame, rates=load_rates(), timezone=ZONE)


def summed(usage: Usage) -> pd.DataFrame:
    groups = usage.groups.astype({"provider": str, "model": str, "service_tier": str, "night": bool,
                                  "project_id": "int64", "status_code": "int64"})
    grouped = groups.groupby(list(GROUP_KEYS))
    out = grouped[list(SUM_COLUMNS)].sum().astype("int64")
    out["max_prompt"] = grouped["max_prompt"].max().astype("int64")
    out["first_at"] = pd.to_datetime(grouped["first_at"].min(), utc=True)
    assert list(out.columns) == [*SUM_COLUMNS, *BOUND_COLUMNS]
    return out.sort_index()


def assert_same(conn: Conn, ws: int, as_of: datetime) -> None:
    stored = read_usage(conn, ws, as_of - timedelta(days=30), as_of, synced_by=as_of, timezone=ZONE,
                        rates=load_rates())
    expected = direct(conn, ws, as_of)
    pd.testing.assert_frame_equal(summed(stored), summed(expected), check_dtype=False)
    # the groups in the order of their keys, as pandas sorts them (the checks read them in that order)
    pd.testing.assert_frame_equal(stored.groups, stored.groups.sort_values(list(GROUP_KEYS), ignore_index=True),
                                  check_exact=True)
    # the checks' plain-list view of the successful sums: the stored path's equals the direct read's, row for row
    sums = ["requests", "output_tokens", "max_prompt"]
    rows = list(successful_rows(stored, sums))
    assert rows and rows == list(successful_rows(expected, sums))
    # every column of the odd requests, not only their ids: the edges' are read in the workspace's time zone
    columns = sorted(expected.odd.columns)
    assert len(expected.odd) > 0, "no odd request to compare"
    assert sorted(stored.odd.columns) == columns
    pd.testing.assert_frame_equal(stored.odd.sort_values("id")[columns].reset_index(drop=True),
                                  expected.odd.sort_values("id")[columns].reset_index(drop=True),
                                  check_dtype=False, check_categorical=False)
    # the arrays the checks read of them, taken from the read's Arrow table, are those of its frame (and typed alike)
    for usage in (stored, expected):
        of_frame = odd_columns(usage.odd)
        assert list(usage.odd_columns) == list(of_frame) == list(ODD_COLUMNS)
        for name, values in of_frame.items():
            assert usage.odd_columns[name].dtype == values.dtype, name
            assert usage.odd_columns[name].tolist() == values.tolist(), name


def test_daily_sums_edges_late_rows_and_replays_equal_a_direct_sum(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    db_conn.execute("update meter.workspaces set timezone = %s where id = %s", (ZONE, scene.workspace_id))
    traffic(db_conn, scene)
    ws = scene.workspace_id
    first = DAY + timedelta(days=2, hours=14)  # not a midnight: both edges of the window are partial days
    assert_same(db_conn, ws, first)
    assert_same(db_conn, ws, first)  # a rerun reads what it built
    # a late row for the first day, synced after that run: the next run rebuilds that day
    add_request(db_conn, scene, DAY + timedelta(hours=2), input_tokens=7_000,
                synced_at=first + timedelta(minutes=30))
    later = first + timedelta(hours=1)
    assert_same(db_conn, ws, later)
    assert_same(db_conn, ws, first)  # a replay before the table's moment: summed directly, table untouched
    assert_same(db_conn, ws, later)
    assert_same(db_conn, ws, DAY + timedelta(days=3))  # a midnight: whole days only


def test_sample_ids_are_the_scopes_latest_requests_as_the_pure_path_picks_them(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    traffic(db_conn, scene)
    as_of = DAY + timedelta(days=3)
    frame = read_requests(db_conn, scene.workspace_id, as_of - timedelta(days=30), as_of, REQUEST_COLUMNS)
    for scope in (SampleScope(project_id=scene.project_ids[0], model="claude-sonnet-4-6"),
                  SampleScope(project_id=-1, model="gpt-5.1"), SampleScope(device_id=scene.device_ids[0],
                                                                             successful=False),
                  SampleScope(project_id=scene.project_ids[0], with_output=True, since=DAY + timedelta(days=1))):
        ids = sample_ids(db_conn, scene.workspace_id, as_of - timedelta(days=30), as_of, scope, synced_by=as_of)
        assert ids and ids == latest_ids(frame, scope), scope


def test_the_catalogs_insert_is_planned_for_its_own_days_however_often_a_connection_runs_it(db_conn: Conn) -> None:
    """As the rollup's insert (tests/store/test_rollup.py): psycopg prepares a statement a connection runs
    five times and Postgres may then plan it once for any workspace and days; the catalog's insert of a
    range of days is never prepared, so each run is planned for its own (bench/bench_plans.py)."""
    scene = make_workspace(db_conn)
    traffic(db_conn, scene)
    as_of = DAY + timedelta(days=3)
    for turn in range(8):
        with db_conn.transaction():
            db_conn.execute("delete from analysis.catalog_daily_state where workspace_id = %s", (scene.workspace_id,))
            assert refresh_catalog_daily(db_conn, scene.workspace_id, Days.of(as_of - timedelta(days=30), as_of),
                                         as_of + turn * timedelta(minutes=1), ZONE, 200_000)
    prepared = [str(row[0]) for row in db_conn.execute("select statement from pg_prepared_statements")]
    assert any("catalog_daily_state" in statement for statement in prepared), "psycopg prepared nothing: not tested"
    assert not [statement for statement in prepared if "insert into analysis.catalog_daily " in statement]


def test_the_fixed_statements_rendered_once_are_the_bytes_the_connection_renders(db_conn: Conn) -> None:
    """store.catalog_scan renders its fixed statements once without a connection; the bytes must be the ones
    psycopg renders with the connection at every execute (its identifier quoting, literals, encoding)."""
    from store import catalog_scan as scan

    pairs = [(scan._INSERT_DAYS_OF, scan._INSERT_DAYS), (scan._ODD_DAYS_OF, scan._ODD_DAYS)]
    pairs += [(scan._groups_union_of(stored, ranges), scan._groups_union(stored, ranges))
              for stored in (False, True) for ranges in (0, 1, 2, 3) if stored or ranges]
    for composed, rendered in pairs:
        assert rendered.as_bytes(db_conn) == composed.as_bytes(db_conn)
