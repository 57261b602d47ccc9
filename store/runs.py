"""Run bookkeeping: claim a job, record it in analysis.runs, close it with its results atomically.

The shape every job follows:

    with claimed_run(conn, RunSpec(...)) as run:   # JobBusy (retried) when another session holds the lock
        inputs = read(...)         # store/ reads
        result = compute(inputs)   # pure domain code
        with run.results() as tx:  # ONE transaction: results + the run row turning 'succeeded'
            write(tx, result)

A failure anywhere marks the run 'failed' with a message and leaves earlier results untouched,
because the results transaction never committed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from core.db import Conn
from core.errors import GiveUpError, JobBusy, UserError

log = logging.getLogger(__name__)


ERROR_MESSAGE_LIMIT = 2000
# Deliveries of one task (same task id) that may die mid-run before it is given up on.
MAX_ABANDONED_DELIVERIES = 3
ABANDONED_PREFIX = "abandoned:"


@dataclass(frozen=True)
class RunSpec:
    job: str
    workspace_id: int
    as_of: datetime
    window_start: datetime | None = None
    window_end: datetime | None = None
    # What two deliveries must not do at once. Defaults to the window; a job whose results are not
    # keyed by window (the rollup rewrites a workspace's days) locks the whole workspace instead.
    lock_scope: str | None = None
    task_id: str | None = None
    worker: str | None = None
    attempt: int = 0  # Celery's retry count, recorded for whoever reads the runs
    replay: bool = False

    @property
    def scope(self) -> str:
        return self.lock_scope if self.lock_scope is not None else f"{self.window_start}|{self.window_end}"

    def lock_key(self) -> int:
        digest = hashlib.blake2b(f"{self.job}|{self.workspace_id}|{self.scope}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)


@dataclass
class Run:
    id: int
    spec: RunSpec
    conn: Conn
    stats: dict[str, Any] = field(default_factory=dict)
    closed: bool = False

    @contextmanager
    def results(self) -> Iterator[Conn]:
        """The one transaction that writes the job's results and marks the run succeeded."""
        with self.conn.transaction():
            yield self.conn
            self.conn.execute(
                """update analysis.runs set status = 'succeeded', finished_at = clock_timestamp(),
                          stats = %s::jsonb, error = null
                   where id = %s""",
                (json.dumps(self.stats, default=str), self.id),
            )
        self.closed = True


def describe_failure(error: BaseException) -> str:
    """The message stored on the run: a user error verbatim, anything else with its type."""
    text = str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
    return text[:ERROR_MESSAGE_LIMIT]


@contextmanager
def claimed_run(conn: Conn, spec: RunSpec) -> Iterator[Run]:
    """Yield an open Run holding the job's lock; raise JobBusy when another session holds it.

    A held lock is never taken to mean "someone else is doing this": the holder may be a worker killed
    a moment ago whose session has not ended yet, and skipping would lose the job. The busy task is
    retried with backoff instead; a rerun of the same work is idempotent and cheap. `conn` must be
    autocommit and stay with this job until the block ends: it holds the session-level advisory lock,
    which Postgres releases when the session ends.
    """
    key = spec.lock_key()
    row = conn.execute("select pg_try_advisory_lock(%s)", (key,)).fetchone()
    if row is None or not row[0]:
        holder = _running_as_of(conn, spec)
        raise JobBusy(f"another {spec.job} of workspace {spec.workspace_id} is running"
                      f"{f' (as of {holder})' if holder else ''}; retrying later")
    try:
        run = Run(id=_open_run(conn, spec), spec=spec, conn=conn)
        try:
            _refuse_poisoned(conn, spec)
            yield run
        except BaseException as error:
            if _mid_statement(conn) and not _recover(conn):
                conn.close()  # rolls back and frees the lock; the next run marks this one abandoned
            _mark_failed(conn, run.id, describe_failure(error))
            raise
        if not run.closed:
            _mark_failed(conn, run.id, "the job ended without writing its results")
            raise RuntimeError(f"job {spec.job} ended without closing run {run.id}")
    finally:
        _unlock(conn, key)


def _running_as_of(conn: Conn, spec: RunSpec) -> datetime | None:
    row = conn.execute(
        """select as_of from analysis.runs where workspace_id = %s and job = %s and lock_scope = %s
           and status = 'running' order by id desc limit 1""",
        (spec.workspace_id, spec.job, spec.scope),
    ).fetchone()
    return None if row is None else row[0]


def _open_run(conn: Conn, spec: RunSpec) -> int:
    with conn.transaction():
        row = conn.execute(
            """insert into analysis.runs (workspace_id, job, status, window_start, window_end, started_at,
                                          as_of, task_id, worker, lock_scope, attempt, replay)
               values (%s, %s, 'running', %s, %s, clock_timestamp(), %s, %s, %s, %s, %s, %s)
               returning id""",
            (spec.workspace_id, spec.job, spec.window_start, spec.window_end, spec.as_of, spec.task_id,
             spec.worker, spec.scope, spec.attempt, spec.replay),
        ).fetchone()
        assert row is not None
        run_id = int(row[0])
        # We hold the lock, so any other 'running' row under it was left by a worker that died.
        conn.execute(
            f"""update analysis.runs
                  set status = 'failed', finished_at = clock_timestamp(),
                      error = '{ABANDONED_PREFIX} the worker running it stopped before finishing; superseded by run '
                              || %s::text
                where workspace_id = %s and job = %s and lock_scope = %s and status = 'running' and id <> %s""",
            (run_id, spec.workspace_id, spec.job, spec.scope, run_id),
        )
    return run_id


def _refuse_poisoned(conn: Conn, spec: RunSpec) -> None:
    """Stop a task that keeps dying: Redis keeps no delivery count, so an out-of-memory job would be
    redelivered forever. Deaths of this task id count, whatever its retry number; a fresh enqueue (a new
    task id) starts from zero."""
    if spec.task_id is None:
        return
    row = conn.execute(
        """select count(*) from analysis.runs
           where workspace_id = %s and job = %s and lock_scope = %s and task_id = %s
             and status = 'failed' and error like %s""",
        (spec.workspace_id, spec.job, spec.scope, spec.task_id, f"{ABANDONED_PREFIX}%"),
    ).fetchone()
    died = int(row[0]) if row else 0
    if died >= MAX_ABANDONED_DELIVERIES:
        raise GiveUpError(
            f"given up: {died} deliveries of this {spec.job} (task {spec.task_id}) died mid-run (killed for "
            "memory or the hard time limit?); look at the worker logs, then enqueue it again"
        )


def _mid_statement(conn: Conn) -> bool:
    return not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.ACTIVE


def _recover(conn: Conn) -> bool:
    """Make a connection interrupted inside a statement (a soft time limit) usable again.

    psycopg cannot: the interrupted statement's result is still pending. So cancel it on the server,
    drain the result with the libpq calls underneath, and roll back, keeping the session and its lock
    so the run can be marked failed with its real reason and the lock released as usual.
    """
    try:
        conn.cancel_safe(timeout=5)
        while conn.pgconn.get_result() is not None:
            pass
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.pgconn.exec_(b"rollback")
        return conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    except psycopg.Error:
        return False


def _mark_failed(conn: Conn, run_id: int, message: str) -> None:
    try:
        conn.execute(
            """update analysis.runs set status = 'failed', finished_at = clock_timestamp(), error = %s
               where id = %s and status = 'running'""",
            (message, run_id),
        )
    except psycopg.Error:
        # The connection itself is gone; the next claim of this job marks the run abandoned.
        log.warning("could not mark run %s failed; the next run of this job will", run_id, exc_info=True)


def _unlock(conn: Conn, key: int) -> None:
    if conn.closed or conn.broken:
        return  # the lock died with the session
    try:
        conn.execute("select pg_advisory_unlock(%s)", (key,))
    except psycopg.Error:
        log.warning("could not release advisory lock %s; it is released when the session ends", key)


def latest_runs(conn: Conn, workspace_id: int, limit: int = 10) -> list[tuple[Any, ...]]:
    return conn.execute(
        """select id, job, status, window_start, window_end, started_at, finished_at, error, stats
           from analysis.runs where workspace_id = %s order by id desc limit %s""",
        (workspace_id, limit),
    ).fetchall()


def fail_running_runs_of_task(conn: Conn, task_id: str, message: str) -> int:
    """Close the runs a killed delivery left open (called from the worker's parent process)."""
    cursor = conn.execute(
        """update analysis.runs set status = 'failed', finished_at = clock_timestamp(), error = %s
           where task_id = %s and status = 'running'""",
        (message[:ERROR_MESSAGE_LIMIT], task_id),
    )
    return cursor.rowcount


def latest_finished_run(conn: Conn, workspace_id: int, job: str, since: datetime) -> tuple[str, str | None] | None:
    """(status, error) of the newest finished run of `job` started since `since`, if any."""
    row = conn.execute(
        """select status, error from analysis.runs where workspace_id = %s and job = %s
           and started_at >= %s and status <> 'running' order by id desc limit 1""",
        (workspace_id, job, since),
    ).fetchone()
    return None if row is None else (str(row[0]), row[1])


def prune_runs(conn: Conn, workspace_id: int, older_than: datetime) -> int:
    """Delete a workspace's finished runs older than the cut-off, keeping the latest of each job
    and any run that results still point at."""
    with conn.transaction():  # a savepoint when called inside the results transaction
        cursor = conn.execute(
            """delete from analysis.runs r
               where r.workspace_id = %s and r.finished_at < %s and r.status <> 'running'
                 and r.id not in (select max(id) from analysis.runs where workspace_id = %s group by job)
                 and not exists (select 1 from analysis.recommendations x where x.run_id = r.id)
                 and not exists (select 1 from analysis.reconciliation x where x.run_id = r.id)
                 and not exists (select 1 from analysis.rollup_state x where x.run_id = r.id)""",
            (workspace_id, older_than, workspace_id),
        )
        return cursor.rowcount
