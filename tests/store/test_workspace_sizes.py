"""The fan-out's size of a workspace (store/workspace_sizes.py): its requests in the refresh's window, read as
the fleet's role one workspace at a time under row-level security; before its first rollup a count of
meter.requests stopped at the cap, after it the rollup's daily totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store.tenancy import workspace_scope
from store.workspace_sizes import window_requests, workspace_sizes
from tests.factories import Conn, Scene, add_request, make_workspace
from workers.jobs import refresh_workspace
from workers.jobs.stage import trailing_window

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def seed(conn: Conn, slug: str, in_window: int, before: int = 0) -> int:
    scene = make_workspace(conn, slug, projects=1, devices=1)
    for n in range(in_window):
        add_request(conn, scene, AS_OF - timedelta(days=1 + n % 20, minutes=n))
    for n in range(before):  # older than the 30-day window: not part of the size
        add_request(conn, scene, AS_OF - timedelta(days=45 + n))
    return scene.workspace_id


def test_each_workspace_is_sized_in_its_own_scope_as_the_fleet(db_conn: Conn, fleet: Conn) -> None:
    small, large, empty = seed(db_conn, "small", 3, before=4), seed(db_conn, "large", 40), seed(db_conn, "empty", 0)
    start, end = trailing_window(AS_OF)
    assert workspace_sizes(fleet, [large, small, empty], start, end, cap=1000) == {large: 40, small: 3, empty: 0}
    # the count stops at the cap: a large workspace costs the fan-out no more than `cap` index entries
    assert workspace_sizes(fleet, [large, small], start, end, cap=10) == {large: 10, small: 3}
    # and the connection is left in no workspace's scope, as it came
    row = fleet.execute("select count(*) from meter.requests").fetchone()
    assert row is not None and row[0] == 0
    with workspace_scope(fleet, small), pytest.raises(RuntimeError, match="unscoped connection"):
        workspace_sizes(fleet, [large], start, end, cap=1000)


def test_after_its_rollup_a_workspace_is_sized_by_the_rollups_daily_totals(db_conn: Conn) -> None:
    workspace_id = seed(db_conn, "acme", 12, before=5)
    refresh_workspace(db_conn, workspace_id, AS_OF, stage="rollup")
    start, end = trailing_window(AS_OF)
    # the rollup's counts, not meter's (nor capped: they cost a few rows a day): a request the sync service adds
    # after the rollup counts from the next night on
    add_request(db_conn, make_scene_of(db_conn, workspace_id), AS_OF - timedelta(days=2))
    assert window_requests(db_conn, workspace_id, start, end, cap=5) == 12


def make_scene_of(conn: Conn, workspace_id: int) -> Scene:
    project = conn.execute("select id from meter.projects where workspace_id = %s", (workspace_id,)).fetchone()
    device = conn.execute("select id from meter.devices where workspace_id = %s", (workspace_id,)).fetchone()
    assert project is not None and device is not None
    return Scene(workspace_id, [project[0]], [device[0]])


def test_before_its_first_rollup_a_workspace_counts_the_history_that_rollup_builds(db_conn: Conn) -> None:
    """A workspace whose years of history were just loaded but which is quiet this month is large: its first
    refresh rebuilds every day of the rollup's history, not the 30-day window."""
    from workers.tasks.refresh import first_build_start

    workspace_id = seed(db_conn, "backfilled", 2, before=30)
    start, end = trailing_window(AS_OF)
    assert window_requests(db_conn, workspace_id, start, end, cap=1000) == 2
    assert window_requests(db_conn, workspace_id, start, end, cap=1000,
                           history_start=first_build_start(AS_OF)) == 32
    # once rolled up, the nightly reads the window again, and the size is the window's
    refresh_workspace(db_conn, workspace_id, AS_OF, stage="rollup")
    assert window_requests(db_conn, workspace_id, start, end, cap=1000,
                           history_start=first_build_start(AS_OF)) == 2
