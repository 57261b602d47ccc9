"""Run bookkeeping: one transaction for results and run row, clean exits for duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from store.runs import RunSpec, claimed_run
from tests.factories import Conn, make_workspace
from workers.errors import UserError

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def other_conn(database_url: str) -> Iterator[Conn]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def spec(workspace_id: int, job: str = "test_job") -> RunSpec:
    return RunSpec(job=job, workspace_id=workspace_id, as_of=AS_OF, window_start=AS_OF, window_end=AS_OF)


def write_marker(conn: Conn, workspace_id: int, text: str) -> None:
    conn.execute(
        """insert into analysis.audit_events (workspace_id, actor, event, resource, details, at)
           values (%s, 'test', %s, 'x', '{}', now())""",
        (workspace_id, text),
    )


def test_results_and_run_row_commit_together(db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    with claimed_run(db_conn, spec(ws)) as run:
        assert run is not None
        run.stats["rows"] = 1
        with run.results() as tx:
            write_marker(tx, ws, "done")
    status, stats = db_conn.execute("select status, stats from analysis.runs").fetchone()  # type: ignore[misc]
    assert (status, stats) == ("succeeded", {"rows": 1})
    assert db_conn.execute("select event from analysis.audit_events").fetchall() == [("done",)]


def test_a_failure_marks_the_run_failed_and_keeps_earlier_results(db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    with claimed_run(db_conn, spec(ws)) as run:
        assert run is not None
        with run.results() as tx:
            write_marker(tx, ws, "first")
    with pytest.raises(RuntimeError), claimed_run(db_conn, spec(ws)) as run:
        assert run is not None
        with run.results() as tx:
            write_marker(tx, ws, "half-written")
            raise RuntimeError("boom")
    runs = db_conn.execute("select status, error from analysis.runs order by id").fetchall()
    assert runs == [("succeeded", None), ("failed", "RuntimeError: boom")]
    assert db_conn.execute("select event from analysis.audit_events").fetchall() == [("first",)]


def test_a_user_error_is_stored_verbatim(db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    with pytest.raises(UserError), claimed_run(db_conn, spec(ws)) as run:
        assert run is not None
        raise UserError("the paste '$3x' is not an amount; enter it like $342.04")
    error = db_conn.execute("select error from analysis.runs").fetchone()
    assert error == ("the paste '$3x' is not an amount; enter it like $342.04",)


def test_a_duplicate_delivery_exits_without_a_run(db_conn: Conn, other_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    with claimed_run(db_conn, spec(ws)) as first:
        assert first is not None
        with claimed_run(other_conn, spec(ws)) as second:
            assert second is None
        with first.results():
            pass
    assert db_conn.execute("select count(*) from analysis.runs").fetchone() == (1,)


def test_different_workspaces_do_not_block_each_other(db_conn: Conn, other_conn: Conn) -> None:
    ws_a = make_workspace(db_conn, "a").workspace_id
    ws_b = make_workspace(db_conn, "b").workspace_id
    with claimed_run(db_conn, spec(ws_a)) as first, claimed_run(other_conn, spec(ws_b)) as second:
        assert first is not None and second is not None
        with first.results(), second.results():
            pass


def test_a_run_left_running_by_a_dead_worker_is_marked_abandoned(db_conn: Conn, database_url: str) -> None:
    ws = make_workspace(db_conn).workspace_id
    dying = psycopg.connect(database_url, autocommit=True)
    context = claimed_run(dying, spec(ws))
    run = context.__enter__()
    assert run is not None
    dying.close()  # the worker dies: its session and its advisory lock go with it
    with claimed_run(db_conn, spec(ws)) as again:
        assert again is not None
        with again.results():
            pass
    rows = db_conn.execute("select id, status, error from analysis.runs order by id").fetchall()
    assert rows[0][1] == "failed" and f"superseded by run {rows[1][0]}" in rows[0][2]
    assert rows[1][1] == "succeeded"


def test_a_job_that_never_writes_results_fails_its_run(db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    with pytest.raises(RuntimeError, match="without closing"), claimed_run(db_conn, spec(ws)) as run:
        assert run is not None
    assert db_conn.execute("select status from analysis.runs").fetchone() == ("failed",)
