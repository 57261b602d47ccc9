"""Run bookkeeping: one transaction for results and run row, clean exits for duplicates."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from core.errors import GiveUpError, JobBusy, UserError
from store.runs import FAULT_OF_OURS, MAX_ABANDONED_DELIVERIES, TOO_LONG, RunSpec, claimed_run
from tests.factories import Conn, logged_failure, make_workspace

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def other_conn(database_url: str) -> Iterator[Conn]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def spec(workspace_id: int, job: str = "test_job", as_of: datetime = AS_OF, lock_scope: str | None = None,
         task_id: str | None = None, attempt: int = 0, replay: bool = False) -> RunSpec:
    return RunSpec(job=job, workspace_id=workspace_id, as_of=as_of, window_start=as_of, window_end=as_of,
                   lock_scope=lock_scope, task_id=task_id, attempt=attempt, replay=replay)


def die(conn: Conn, database_url: str, run_spec: RunSpec) -> None:
    """Open a run on its own session and kill the session, as a SIGKILLed worker would."""
    dying = psycopg.connect(database_url, autocommit=True)
    pid = dying.info.backend_pid
    context = claimed_run(dying, run_spec)
    assert context.__enter__() is not None
    dying.close()
    deadline = time.monotonic() + 10  # close() returns before the server has ended the session
    while conn.execute("select 1 from pg_stat_activity where pid = %s", (pid,)).fetchone():
        assert time.monotonic() < deadline, "the dead session did not end"
        time.sleep(0.05)


def write_marker(conn: Conn, workspace_id: int, text: str) -> None:
    conn.execute(
        """insert into analysis.audit_events (workspace_id, actor, event, resource, details, at)
           values (%s, 'test', %s, 'x', '{}', now())""",
        (workspace_id, text),
    )


def test_results_and_run_row_commit_together(db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    with claimed_run(db_conn, spec(ws)) as run:
        run.stats["rows"] = 1
        with run.results() as tx:
            write_marker(tx, ws, "done")
    status, stats = db_conn.execute("select status, stats from analysis.runs").fetchone()  # type: ignore[misc]
    assert (status, stats) == ("succeeded", {"rows": 1})
    assert db_conn.execute("select event from analysis.audit_events").fetchall() == [("done",)]


def test_a_failure_marks_the_run_failed_and_keeps_earlier_results(db_conn: Conn,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    ws = make_workspace(db_conn).workspace_id
    with claimed_run(db_conn, spec(ws)) as run, run.results() as tx:
        write_marker(tx, ws, "first")
    with pytest.raises(RuntimeError), claimed_run(db_conn, spec(ws)) as run, run.results() as tx:
        write_marker(tx, ws, "half-written")
        raise RuntimeError("boom")
    runs = db_conn.execute("select status, error, error_ref from analysis.runs order by id").fetchall()
    assert runs[0] == ("succeeded", None, None)
    assert runs[1][:2] == ("failed", FAULT_OF_OURS), "a sentence for the customer, no exception type"
    assert "RuntimeError: boom" in logged_failure(caplog, runs[1][2]), "the details, under its reference"
    assert db_conn.execute("select event from analysis.audit_events").fetchall() == [("first",)]


def test_a_user_error_is_stored_verbatim(db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    with pytest.raises(UserError), claimed_run(db_conn, spec(ws)):
        raise UserError("the paste '$3x' is not an amount; enter it like $342.04")
    error = db_conn.execute("select error, error_ref like 'ref-%' from analysis.runs").fetchone()
    assert error == ("the paste '$3x' is not an amount; enter it like $342.04", True)


def test_a_copy_of_a_running_job_for_another_moment_is_busy_not_dropped(db_conn: Conn, other_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    with claimed_run(db_conn, spec(ws, lock_scope="workspace")) as first:
        later = spec(ws, as_of=AS_OF + timedelta(hours=5), lock_scope="workspace")
        with pytest.raises(JobBusy, match="retrying later"), claimed_run(other_conn, later):
            pass
        with first.results():
            pass


def test_a_copy_of_the_same_work_is_retried_not_dropped(db_conn: Conn, other_conn: Conn) -> None:
    """The holder may be a worker killed a moment ago whose session has not ended: skipping would lose it."""
    ws = make_workspace(db_conn).workspace_id
    with claimed_run(db_conn, spec(ws)) as first:
        with pytest.raises(JobBusy, match="retrying later"), claimed_run(other_conn, spec(ws)):
            pass
        with first.results():
            pass
    assert db_conn.execute("select count(*) from analysis.runs").fetchone() == (1,)


def test_different_workspaces_do_not_block_each_other(db_conn: Conn, other_conn: Conn) -> None:
    ws_a = make_workspace(db_conn, "a").workspace_id
    ws_b = make_workspace(db_conn, "b").workspace_id
    with claimed_run(db_conn, spec(ws_a)) as first, claimed_run(other_conn, spec(ws_b)) as second:
        held = db_conn.execute("select workspace_id, status from analysis.runs order by workspace_id").fetchall()
        assert held == [(ws_a, "running"), (ws_b, "running")]  # both claimed at once, neither waits
        with first.results(), second.results():
            pass
    done = db_conn.execute("select workspace_id, status from analysis.runs order by workspace_id").fetchall()
    assert done == [(ws_a, "succeeded"), (ws_b, "succeeded")]


def test_the_claim_reads_the_latest_moment_the_job_succeeded_for(db_conn: Conn) -> None:
    """What the pipeline compares a refresh's as_of with, read by the claim (after the lock) as
    the rule reads: the max as_of of the job's succeeded runs in the workspace; failed and running runs, other
    jobs, and the run being claimed, do not count."""
    ws = make_workspace(db_conn).workspace_id
    with claimed_run(db_conn, spec(ws, as_of=AS_OF + timedelta(days=2)), succeeded_as_of=True) as first, \
            first.results():
        assert first.succeeded_as_of is None
    with pytest.raises(UserError), claimed_run(db_conn, spec(ws, as_of=AS_OF + timedelta(days=3))):
        raise UserError("no")
    with claimed_run(db_conn, spec(ws, job="other_job", as_of=AS_OF + timedelta(days=5))) as other, other.results():
        pass
    with claimed_run(db_conn, spec(ws), succeeded_as_of=True) as run, run.results():
        assert run.succeeded_as_of == AS_OF + timedelta(days=2)
        direct = db_conn.execute(
            "select max(as_of) from analysis.runs where workspace_id = %s and job = %s and status = 'succeeded'",
            (ws, "test_job"),
        ).fetchone()
        assert direct is not None and run.succeeded_as_of == direct[0]
    with claimed_run(db_conn, spec(ws)) as unasked, unasked.results():
        assert unasked.succeeded_as_of is None  # not read when not asked for


def test_a_run_left_running_by_a_dead_worker_is_marked_abandoned(db_conn: Conn, database_url: str) -> None:
    ws = make_workspace(db_conn).workspace_id
    die(db_conn, database_url, spec(ws))
    with claimed_run(db_conn, spec(ws)) as again, again.results():
        pass
    rows = db_conn.execute("select id, status, error from analysis.runs order by id").fetchall()
    assert rows[0][1] == "failed" and f"superseded by run {rows[1][0]}" in rows[0][2]
    assert rows[1][1] == "succeeded"


def test_a_workspace_scoped_job_abandons_dead_runs_of_any_window(db_conn: Conn, database_url: str) -> None:
    ws = make_workspace(db_conn).workspace_id
    die(db_conn, database_url, spec(ws, lock_scope="workspace"))
    next_day = spec(ws, as_of=AS_OF + timedelta(days=1), lock_scope="workspace")
    with claimed_run(db_conn, next_day) as run, run.results():
        pass
    statuses = db_conn.execute("select status, left(error, 10) from analysis.runs order by id").fetchall()
    assert statuses == [("failed", "abandoned:"), ("succeeded", None)]


def test_a_delivery_that_keeps_dying_is_given_up(db_conn: Conn, database_url: str) -> None:
    ws = make_workspace(db_conn).workspace_id
    for _ in range(MAX_ABANDONED_DELIVERIES):
        die(db_conn, database_url, spec(ws, task_id="t-1"))
    with pytest.raises(GiveUpError), claimed_run(db_conn, spec(ws, task_id="t-1")):
        pass
    last = db_conn.execute("select status, error from analysis.runs order by id desc limit 1").fetchone()
    assert last is not None and last[0] == "failed" and "given up" in last[1]


def test_a_fresh_enqueue_counts_deaths_from_zero(db_conn: Conn, database_url: str) -> None:
    ws = make_workspace(db_conn).workspace_id
    for _ in range(MAX_ABANDONED_DELIVERIES):
        die(db_conn, database_url, spec(ws, task_id="t-1"))
    for _ in range(MAX_ABANDONED_DELIVERIES - 1):  # one death short of giving up, counting its own only
        die(db_conn, database_url, spec(ws, task_id="t-2"))
    with claimed_run(db_conn, spec(ws, task_id="t-2")) as run, run.results():
        pass
    rows = db_conn.execute("select task_id, status, failure_kind from analysis.runs order by id").fetchall()
    deaths = MAX_ABANDONED_DELIVERIES * 2 - 1
    assert rows[:deaths] == [("t-1", "failed", "abandoned")] * MAX_ABANDONED_DELIVERIES + \
        [("t-2", "failed", "abandoned")] * (MAX_ABANDONED_DELIVERIES - 1)
    assert rows[deaths:] == [("t-2", "succeeded", None)]


def test_deaths_count_across_retries_of_one_task(db_conn: Conn, database_url: str) -> None:
    ws = make_workspace(db_conn).workspace_id
    for attempt in range(MAX_ABANDONED_DELIVERIES):
        die(db_conn, database_url, spec(ws, task_id="t-1", attempt=attempt))
    with pytest.raises(GiveUpError), claimed_run(db_conn, spec(ws, task_id="t-1", attempt=5)):
        pass


def test_runs_under_other_lock_scopes_are_not_abandoned(db_conn: Conn, other_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    with claimed_run(db_conn, spec(ws, lock_scope="provider:openai")) as openai_run:
        with (claimed_run(other_conn, spec(ws, lock_scope="provider:anthropic")) as anthropic_run,
              anthropic_run.results()):
            pass
        assert db_conn.execute(
            "select status from analysis.runs where lock_scope = 'provider:openai'").fetchone() == ("running",)
        with openai_run.results():
            pass


def test_a_job_that_never_writes_results_fails_its_run(db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    with pytest.raises(RuntimeError, match="without closing"), claimed_run(db_conn, spec(ws)):
        pass
    assert db_conn.execute("select status from analysis.runs").fetchone() == ("failed",)


def test_a_job_interrupted_inside_a_statement_frees_its_lock(db_conn: Conn, database_url: str,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """A soft time limit fires while a statement runs: the statement is cancelled and drained, so the run
    is marked failed with its real reason and the lock released, instead of a wedged, busy connection."""
    ws = make_workspace(db_conn).workspace_id
    conn = psycopg.connect(database_url, autocommit=True)
    pid = conn.info.backend_pid

    def soft_limit(signum: int, frame: object) -> None:
        raise TimeoutError("soft time limit")

    previous = signal.signal(signal.SIGALRM, soft_limit)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(TimeoutError), claimed_run(conn, spec(ws)):
                conn.execute("select pg_sleep(2)")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not conn.closed and conn.execute("select 1").fetchone() == (1,)  # the session was recovered
    assert conn.info.backend_pid == pid
    with claimed_run(db_conn, spec(ws)) as again, again.results():  # the lock was released as usual
        pass
    statuses = db_conn.execute("select status, error, error_ref from analysis.runs order by id").fetchall()
    assert [row[:2] for row in statuses] == [("failed", TOO_LONG), ("succeeded", None)]
    assert "TimeoutError: soft time limit" in logged_failure(caplog, statuses[0][2])
    conn.close()


def test_a_hard_time_limit_closes_the_run_its_killed_delivery_left_open(
    db_conn: Conn, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.settings import get_settings
    from workers.tasks.base import close_runs_after_hard_limit

    ws = make_workspace(db_conn).workspace_id
    die(db_conn, database_url, spec(ws, task_id="t-hard"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")
    get_settings.cache_clear()
    try:
        close_runs_after_hard_limit("t-hard", 1800)
    finally:
        get_settings.cache_clear()
    row = db_conn.execute("select status, error from analysis.runs").fetchone()
    assert row is not None and row[0] == "failed" and row[1].startswith("hard time limit (1800s) exceeded")


@pytest.fixture
def commit_settings(db_conn: Conn) -> Iterator[Conn]:
    """A deferred trigger on analysis.runs that records synchronous_commit as each transaction commits."""
    db_conn.execute("""
        create table public.commit_settings (setting text);
        create function public.record_commit_setting() returns trigger language plpgsql as $$
            begin
                insert into public.commit_settings values (current_setting('synchronous_commit'));
                return null;
            end $$;
        create constraint trigger record_commit_setting after update on analysis.runs deferrable initially deferred
            for each row execute function public.record_commit_setting()""")
    try:
        yield db_conn
    finally:
        db_conn.execute("""drop trigger record_commit_setting on analysis.runs;
                           drop function public.record_commit_setting(); drop table public.commit_settings""")


def test_the_results_commit_waits_for_the_flush_even_after_a_cache_turned_it_off(commit_settings: Conn) -> None:
    """core.db.NO_FLUSH_WAIT is for caches a crash may lose; called inside a results transaction it
    would cover the results too, unless the results' last statement turns the wait back on."""
    from core.db import NO_FLUSH_WAIT

    ws = make_workspace(commit_settings).workspace_id
    with claimed_run(commit_settings, spec(ws)) as run, run.results() as tx:
        tx.execute(f"select {NO_FLUSH_WAIT}")
        assert tx.execute("show synchronous_commit").fetchone() == ("off",)
    assert commit_settings.execute("select setting from public.commit_settings").fetchall() == [("on",)]
