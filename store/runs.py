"""Run bookkeeping: claim a job, record it in analysis.runs, close it with its results atomically.

The shape every job follows:

    with claimed_run(conn, RunSpec(...)) as run:   # JobBusy (retried) when another session holds the lock
        inputs = read(...)         # store/ reads
        result = compute(inputs)   # pure domain code
        with run.results() as tx:  # ONE transaction: results + the run row turning 'succeeded'
            write(tx, result)

A failure anywhere marks the run 'failed' with a message and a failure kind, and leaves earlier
results untouched, because the results transaction never committed. The lock and the claim live in
store/claims.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from core.db import FLUSH_WAIT, Conn
from core.errors import ConfigError, GiveUpError, TransientError, UserError, correlation_id
from store import claims
from store.claims import MAX_ABANDONED_DELIVERIES, FailureKind, RunSpec

__all__ = ["MAX_ABANDONED_DELIVERIES", "ClosedRun", "FailureKind", "Run", "RunSpec", "claimed_run"]

log = logging.getLogger(__name__)

ERROR_MESSAGE_LIMIT = 2000


@dataclass
class Run:
    id: int
    spec: RunSpec
    conn: Conn
    stats: dict[str, Any] = field(default_factory=dict)
    closed: bool = False
    # the latest moment a run of this job succeeded for (the max as_of of its succeeded runs), read by the
    # claim once it held the lock when claimed_run was asked to: what the pipeline compares a refresh's as_of with
    succeeded_as_of: datetime | None = None

    @contextmanager
    def results(self) -> Iterator[Conn]:
        """The one transaction that writes the job's results and marks the run succeeded."""
        with self.conn.transaction():
            yield self.conn
            # the results commit waits for the WAL flush whatever the transaction set before (a cache's
            # core.db.NO_FLUSH_WAIT called inside it would apply to all of it): no extra round trip
            self.conn.execute(
                """update analysis.runs set status = 'succeeded', finished_at = clock_timestamp(),
                          stats = %s::jsonb, error = null
                   where id = %s and """ + FLUSH_WAIT + """ = 'on'""",
                (json.dumps(self.stats, default=str), self.id),
            )
        self.closed = True

    def fail_within(self, tx: Conn, message: str, kind: FailureKind, ref: str | None = None) -> None:
        """Mark the run failed inside a transaction the job opened for rows that say why (reconciliation's
        'error' row), so the dashboard sees both or neither. The job then raises: claimed_run's failure
        path finds the run closed and leaves it. `message` is a sentence for the workspace's people."""
        tx.execute(_FAIL_RUN, (message[:ERROR_MESSAGE_LIMIT], kind.value, ref, self.id))


_FAIL_RUN = """update analysis.runs set status = 'failed', finished_at = clock_timestamp(), error = %s,
                      failure_kind = %s, error_ref = %s
               where id = %s and status = 'running'"""

# what the workspace's people read for a failure that is not theirs to fix; the details (exception type,
# library text, setting names) are in the fleet's logs and Sentry under the reference stored beside it
FAULT_OF_OURS = ("it failed because of a fault on our side, not because of your data; it runs again at the next "
                 "schedule. If it keeps failing, contact support quoting the reference of this error")
NOT_CONFIGURED = ("the fleet is not set up to do this yet; its operators have to change its settings. Contact "
                  "support quoting the reference of this error")
TOO_LONG = "it took longer than its time limit and was stopped; it runs again at the next schedule"


def describe_failure(error: BaseException) -> str:
    """The failure for logs, Sentry and operators: a message written for people verbatim, anything else
    with its type."""
    text = str(error) if getattr(error, "for_customers", False) else f"{type(error).__name__}: {error}"
    return text[:ERROR_MESSAGE_LIMIT]


def customer_failure(error: BaseException) -> str:
    """The failure as stored where the workspace's people read it (analysis.runs.error,
    analysis.reports.error): a sentence they can act on, never an exception type, a library's text or a
    setting name. Their own errors (UserError, an unreadable bill) are verbatim; a temporary failure says
    what was temporary (its messages are the fleet's own)."""
    if getattr(error, "for_customers", False) or isinstance(error, TransientError):
        text = str(error)  # a temporary failure's messages are the fleet's own: what was temporary, in words
    elif isinstance(error, ConfigError):
        text = NOT_CONFIGURED
    elif isinstance(error, TimeoutError) or type(error).__name__ in ("SoftTimeLimitExceeded", "TimeLimitExceeded"):
        text = TOO_LONG
    else:
        text = FAULT_OF_OURS
    return text[:ERROR_MESSAGE_LIMIT]


def log_failure(what: str, error: BaseException) -> str:
    """Log the failure's details under its reference (an ERROR with the traceback reaches Sentry), once per
    exception, and return the reference to store beside the customer's sentence."""
    ref = correlation_id(error)
    if getattr(error, "halton_logged", False):
        return ref  # one failure recorded in two places (a run and a report) is logged once
    with contextlib.suppress(AttributeError):
        error.halton_logged = True  # type: ignore[attr-defined]
    if getattr(error, "for_customers", False) or isinstance(error, TransientError):
        log.warning("%s failed [%s]: %s", what, ref, describe_failure(error))
    else:
        log.error("%s failed [%s]: %s", what, ref, describe_failure(error), exc_info=error)
    return ref


def failure_kind(error: BaseException) -> FailureKind:
    if isinstance(error, GiveUpError):
        return FailureKind.GIVEN_UP
    if isinstance(error, UserError):
        return FailureKind.USER_ERROR
    return FailureKind.ERROR


@contextmanager
def claimed_run(conn: Conn, spec: RunSpec, *, succeeded_as_of: bool = False) -> Iterator[Run]:
    """Yield an open Run holding the job's lock; raise JobBusy when another session holds it
    (store.claims.try_lock says why that is retried, never skipped). `conn` must be autocommit and stay
    with this job until the block ends: it holds the session-level advisory lock, which Postgres
    releases when the session ends. `succeeded_as_of`: the claim also reads Run.succeeded_as_of (no round trip).
    """
    claims.try_lock(conn, spec)
    try:
        run_id, died, succeeded = claims.open_counted(conn, spec, succeeded_as_of=succeeded_as_of)
        run = Run(id=run_id, spec=spec, conn=conn, succeeded_as_of=succeeded)
        try:
            claims.refuse_poisoned(spec, died)
            yield run
        except BaseException as error:
            if _mid_statement(conn) and not _recover(conn):
                conn.close()  # rolls back and frees the lock; the next run marks this one abandoned
            ref = log_failure(f"run {run.id} ({spec.job}, workspace {spec.workspace_id})", error)
            _mark_failed(conn, run.id, customer_failure(error), failure_kind(error), ref)
            raise
        if not run.closed:
            _mark_failed(conn, run.id, "the job ended without writing its results", FailureKind.ERROR, None)
            raise RuntimeError(f"job {spec.job} ended without closing run {run.id}")
    finally:
        _unlock(conn, spec)


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


def _mark_failed(conn: Conn, run_id: int, message: str, kind: FailureKind, ref: str | None) -> None:
    try:
        conn.execute(_FAIL_RUN, (message, kind.value, ref, run_id))
    except psycopg.Error:
        # The connection itself is gone; the next claim of this job marks the run abandoned.
        log.warning("could not mark run %s failed; the next run of this job will", run_id, exc_info=True)


def _unlock(conn: Conn, spec: RunSpec) -> None:
    try:
        claims.unlock(conn, spec)
    except psycopg.Error:
        log.warning("could not release the lock of %s; it is released when the session ends", spec.job)


def latest_refresh_runs(conn: Conn, workspace_id: int, last_stage: str) -> list[tuple[Any, ...]]:
    """The runs of one refresh, newest first (id, job, status, window_start, window_end, started_at,
    finished_at, error, stats): the refresh as of the latest
    moment whose last stage has finished (one refresh is one as_of and one task; a retried stage shows its
    latest attempt). Two refreshes that overlap (a second one beat fired while the first ran) interleave
    their run ids: the latest run of each job can then mix the two and show one still running."""
    return conn.execute(
        """with refresh as (
               select as_of, task_id from analysis.runs
               where workspace_id = %s and job = %s and status <> 'running' and as_of is not null
               order by as_of desc, finished_at desc, id desc limit 1)
           select * from (
               select distinct on (r.job) r.id, r.job, r.status, r.window_start, r.window_end, r.started_at,
                      r.finished_at, r.error, r.stats
               from analysis.runs r join refresh on r.as_of = refresh.as_of
                    and r.task_id is not distinct from refresh.task_id
               where r.workspace_id = %s
               order by r.job, r.id desc) runs
           order by id desc""",
        (workspace_id, last_stage, workspace_id),
    ).fetchall()


@dataclass(frozen=True)
class RefreshProgress:
    """The refreshes of a workspace since a moment: how many started (one per task, its retries included),
    how many of them finished their last stage, and how many of their runs are still running."""
    started: int
    finished: int
    running: int


def refresh_progress(conn: Conn, workspace_id: int, stages: Sequence[str], since: datetime) -> RefreshProgress:
    """`stages`: the refresh's stages in order (workers.jobs.pipeline.STAGE_NAMES); other jobs do not count."""
    row = conn.execute(
        """select count(distinct coalesce(task_id, id::text)),
                  count(distinct coalesce(task_id, id::text)) filter (where job = %s and status <> 'running'),
                  count(*) filter (where status = 'running')
           from analysis.runs where workspace_id = %s and job = any(%s) and started_at >= %s""",
        (stages[-1], workspace_id, list(stages), since),
    ).fetchone()
    return RefreshProgress(0, 0, 0) if row is None else RefreshProgress(int(row[0]), int(row[1]), int(row[2]))


@dataclass(frozen=True)
class ClosedRun:
    """A run closed from outside its job (a killed delivery): enough to close what the job itself owned,
    and to write run rows for what the killed delivery would have run next (the pipeline's skipped stages)."""
    id: int
    job: str
    workspace_id: int
    lock_scope: str | None
    as_of: datetime | None
    task_id: str | None
    worker: str | None
    attempt: int
    replay: bool


def fail_running_runs_of_task(conn: Conn, task_id: str, message: str) -> list[ClosedRun]:
    """Close the runs a killed delivery left open (called from the worker's parent process)."""
    rows = conn.execute(
        """update analysis.runs set status = 'failed', finished_at = clock_timestamp(), error = %s,
                  failure_kind = 'timeout'
           where task_id = %s and status = 'running'
           returning id, job, workspace_id, lock_scope, as_of, task_id, worker, attempt, replay""",
        (message[:ERROR_MESSAGE_LIMIT], task_id),
    ).fetchall()
    return [ClosedRun(int(i), str(j), int(w), s, a, t, wk, int(n), bool(r)) for i, j, w, s, a, t, wk, n, r in rows]


def latest_finished_run(conn: Conn, workspace_id: int, job: str, since: datetime) -> tuple[str, str | None] | None:
    """(status, error) of the newest finished run of `job` started since `since`, if any."""
    row = conn.execute(
        """select status, error from analysis.runs where workspace_id = %s and job = %s
           and started_at >= %s and status <> 'running' order by id desc limit 1""",
        (workspace_id, job, since),
    ).fetchone()
    return None if row is None else (str(row[0]), row[1])


def latest_succeeded(conn: Conn, workspace_id: int, job: str) -> tuple[datetime, dict[str, Any]] | None:
    """(as_of, stats) of the run of `job` that succeeded for the latest moment, if any."""
    row = conn.execute(
        """select as_of, stats from analysis.runs where workspace_id = %s and job = %s and status = 'succeeded'
             and as_of is not null order by as_of desc, id desc limit 1""",
        (workspace_id, job),
    ).fetchone()
    return None if row is None else (row[0], dict(row[1] or {}))


def prune_runs(conn: Conn, workspace_id: int, older_than: datetime) -> int:
    """Delete a workspace's finished runs older than the cut-off, keeping the latest of each job
    and any run that results still point at. One statement, atomic alone: no savepoint around it (two round
    trips inside the rollup's results transaction, which a failed delete fails either way)."""
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
