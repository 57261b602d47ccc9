"""Claiming a job: the advisory lock, the run row it opens, and what it finds left by dead workers.

A job's lock is identified by a 64-bit key derived from (job, workspace, scope), where the scope is
the job's window unless the job names a wider or other one ('workspace', 'provider:openai',
'request:42'). The key is stored on the run row (`lock_key`), so "the runs under this lock" is an
indexed equality, not a formatted string.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.db import NO_FLUSH_WAIT, Conn
from core.errors import GiveUpError, JobBusy, present

# Deliveries of one task (same task id) that may die mid-run before it is given up on.
MAX_ABANDONED_DELIVERIES = 3


class FailureKind(StrEnum):
    ERROR = "error"  # the job raised (a bug, a provider that kept failing, …)
    USER_ERROR = "user_error"  # bad input a person must fix; the message says what
    ABANDONED = "abandoned"  # the worker running it died; a later claim found it still 'running'
    GIVEN_UP = "given_up"  # its deliveries kept dying; not redelivered again
    TIMEOUT = "timeout"  # the hard time limit killed it
    SKIPPED = "skipped"  # a pipeline stage not run because a stage it needs failed


@dataclass(frozen=True)
class RunSpec:
    job: str
    workspace_id: int
    as_of: datetime
    window_start: datetime | None = None
    window_end: datetime | None = None
    # What two deliveries must not do at once. None: the window. A job whose results are not keyed
    # by window (the rollup rewrites a workspace's days) names a wider scope, e.g. 'workspace'.
    lock_scope: str | None = None
    task_id: str | None = None
    worker: str | None = None
    attempt: int = 0  # Celery's retry count, recorded for whoever reads the runs
    replay: bool = False

    def lock_key(self) -> int:
        scope = self.lock_scope if self.lock_scope is not None else f"window {self.window_start} {self.window_end}"
        digest = hashlib.blake2b(f"{self.job}\0{self.workspace_id}\0{scope}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)


def try_lock(conn: Conn, spec: RunSpec) -> None:
    """Take the job's session-level advisory lock or raise JobBusy.

    A held lock is never taken to mean "someone else is doing this": the holder may be a worker killed
    a moment ago whose session has not ended yet, and skipping would lose the job. The busy task is
    retried with backoff instead; a rerun of the same work is idempotent and cheap."""
    row = conn.execute("select pg_try_advisory_lock(%s)", (spec.lock_key(),)).fetchone()
    if row is None or not row[0]:
        holder = _running_as_of(conn, spec)
        raise JobBusy(f"another {spec.job} of workspace {spec.workspace_id} is running"
                      f"{f' (as of {holder})' if holder else ''}; retrying later")


def _running_as_of(conn: Conn, spec: RunSpec) -> datetime | None:
    row = conn.execute(
        """select as_of from analysis.runs where workspace_id = %s and lock_key = %s and status = 'running'
           order by id desc limit 1""",
        (spec.workspace_id, spec.lock_key()),
    ).fetchone()
    return None if row is None else row[0]


def open_run(conn: Conn, spec: RunSpec) -> int:
    """Insert the 'running' row; close as abandoned any other 'running' row under the same lock,
    which only a worker that died can have left, since we hold the lock."""
    return open_counted(conn, spec)[0]


# One statement (one round trip, atomic in autocommit): the new run, the abandoned ones under the same lock
# (the update cannot see the row inserted by the same statement), and how many deliveries of this task id
# died, counting those just marked (refuse_poisoned): the rows abandoned before, which are no longer
# 'running', and those the update marks, which all were; and the latest moment a run of the job succeeded for
# (what the pipeline asks to leave results current to a later moment alone), read here, after the lock, rather
# than in a round trip of its own (the new run is 'running', so it never counts). Committed without waiting for
# the WAL flush (core.db.NO_FLUSH_WAIT: a claim lost in a crash goes with its session and lock).
_OPEN_RUN = """
    with new as (
        insert into analysis.runs (workspace_id, job, status, window_start, window_end, started_at, as_of, task_id,
                                   worker, lock_scope, lock_key, attempt, replay)
        values (%(ws)s, %(job)s, 'running', %(window_start)s, %(window_end)s, clock_timestamp(), %(as_of)s,
                %(task_id)s, %(worker)s, %(lock_scope)s, %(key)s, %(attempt)s, %(replay)s)
        returning id),
    abandoned as (
        update analysis.runs
           set status = 'failed', finished_at = clock_timestamp(), failure_kind = 'abandoned',
               error = 'abandoned: the worker running it stopped before finishing; superseded by run '
                       || (select id from new)::text
         where workspace_id = %(ws)s and lock_key = %(key)s and status = 'running'
        returning task_id)
    select (select id from new),
           (select count(*) from analysis.runs
             where workspace_id = %(ws)s and lock_key = %(key)s and task_id = %(task_id)s
               and failure_kind = 'abandoned' and status <> 'running')
           + (select count(*) from abandoned where task_id = %(task_id)s),
           -- only when asked: an uncorrelated subquery runs only when the case reaches it, and it reads every
           -- run of the job (90 days' worth)
           case when %(succeeded)s then (select max(as_of) from analysis.runs
                                          where workspace_id = %(ws)s and job = %(job)s and status = 'succeeded') end,
           """ + NO_FLUSH_WAIT


def open_counted(conn: Conn, spec: RunSpec, *, succeeded_as_of: bool = False) -> tuple[int, int, datetime | None]:
    """open_run, how many deliveries of this task id died mid-run, this claim's findings included (what
    refuse_poisoned counts; 0 without a task id), and, when `succeeded_as_of`, the latest moment a run of the job
    succeeded for (the max as_of of its succeeded runs, as the claim found it; None otherwise), in one round trip."""
    row = conn.execute(_OPEN_RUN, {
        "ws": spec.workspace_id, "job": spec.job, "window_start": spec.window_start, "window_end": spec.window_end,
        "as_of": spec.as_of, "task_id": spec.task_id, "worker": spec.worker, "lock_scope": spec.lock_scope,
        "key": spec.lock_key(), "attempt": spec.attempt, "replay": spec.replay,
        "succeeded": succeeded_as_of}).fetchone()
    row = present(row, "the new run's id")
    return int(row[0]), int(row[1] or 0), row[2]


def refuse_poisoned(spec: RunSpec, died: int) -> None:
    """Stop a task that keeps dying: Redis keeps no delivery count, so an out-of-memory job would be
    redelivered forever. Deaths of this task id count (`died`, as open_counted counted them), whatever its
    retry number; a fresh enqueue (a new task id) starts from zero."""
    if spec.task_id is None:
        return
    if died >= MAX_ABANDONED_DELIVERIES:
        raise GiveUpError(
            f"given up: {died} deliveries of this {spec.job} (task {spec.task_id}) died mid-run (killed for "
            "memory or the hard time limit?); look at the worker logs, then enqueue it again"
        )


def unlock(conn: Conn, spec: RunSpec) -> bool:
    """Release the lock; False when the session is gone (the lock died with it)."""
    if conn.closed or conn.broken:
        return False
    conn.execute("select pg_advisory_unlock(%s)", (spec.lock_key(),))
    return True


def record_skipped(conn: Conn, spec: RunSpec, reason: str) -> int:
    """A run row for a stage that was not run, saying why (failed, kind 'skipped')."""
    row = conn.execute(
        """insert into analysis.runs (workspace_id, job, status, window_start, window_end, started_at,
                                      finished_at, as_of, task_id, worker, lock_scope, lock_key, attempt,
                                      replay, error, failure_kind)
           values (%s, %s, 'failed', %s, %s, clock_timestamp(), clock_timestamp(), %s, %s, %s, %s, %s, %s, %s,
                   %s, 'skipped')
           returning id""",
        (spec.workspace_id, spec.job, spec.window_start, spec.window_end, spec.as_of, spec.task_id, spec.worker,
         spec.lock_scope, spec.lock_key(), spec.attempt, spec.replay, reason),
    ).fetchone()
    row = present(row, "the skipped run's id")
    return int(row[0])
