"""Heavy reads on a streaming replica (issue 18 item 3): `DATABASE_READ_URL`, used only when it is current.

A job records the primary's write-ahead log position when it starts (`start_lsn`, run_pipeline). A heavy
read (the COPY readers of meter.requests: clustering's day keys and candidate rows, the catalog's hashed
requests) goes to the replica only if the replica has replayed the log past that position
(`pg_last_wal_replay_lsn() >= it`); otherwise to the primary. Why the log position and not the replay
timestamp against the job's as_of: a request with synced_at ≤ as_of may commit after as_of (synced_at is
its transaction's start), and an idle primary writes no commits, so an up-to-date replica's last replayed
commit can be hours old; the position compares exactly what matters: every transaction the primary had
committed when the job started is visible on the replica. Reads there are then what the job would have read
on the primary at some moment after its start, which is all a read on the primary promises too.

The replica's connection has the session of the pool's (workers/runtime/db.py), the primary connection's
statement timeout, and is scoped to the job's workspace (row-level security holds there as on the primary:
a physical replica has the same roles and policies). An unreachable replica is a warning, not a failure:
the read goes to the primary.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import psycopg

from core.db import Conn
from store.replica import current_wal_lsn, replayed_past
from store.tenancy import set_workspace
from workers.runtime.db import SESSION_KWARGS, copied_session_options, redact_url

log = logging.getLogger(__name__)

READ_URL = "DATABASE_READ_URL"
APPLICATION_NAME = "halton-reader"  # how a reader shows in pg_stat_activity on the replica
PRIMARY, REPLICA = "primary", "replica"


def read_url() -> str | None:
    """DATABASE_READ_URL (checked at a worker's start-up by workers.settings), or None: no replica."""
    url = os.environ.get(READ_URL, "").strip()
    return url or None


def start_lsn(conn: Conn) -> str | None:
    """The primary's log position at a job's start; None (and no query) when no replica is configured."""
    return None if read_url() is None else current_wal_lsn(conn)


def _current_replica(conn: Conn, workspace_id: int, since_lsn: str | None) -> Conn | None:
    url = read_url()
    if url is None or since_lsn is None:
        return None
    try:
        replica = psycopg.connect(url, connect_timeout=5, **{**SESSION_KWARGS, "application_name": APPLICATION_NAME,
                                                             "options": copied_session_options(conn)})
    except psycopg.OperationalError as error:
        log.warning("the replica at %s is unreachable (%s): heavy reads go to the primary", redact_url(url),
                    str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
        return None
    try:
        if replayed_past(replica, since_lsn):
            set_workspace(replica, workspace_id)
            return replica
        log.info("the replica has not replayed past %s yet: heavy reads go to the primary", since_lsn)
    except BaseException:
        replica.close()
        raise
    replica.close()
    return None


@contextmanager
def heavy_reader(conn: Conn, workspace_id: int, since_lsn: str | None,
                 fallback: Callable[[Conn], AbstractContextManager[Conn]] = nullcontext) -> Iterator[tuple[Conn, str]]:
    """(a connection for the job's heavy reads, PRIMARY or REPLICA): the replica's when it has replayed past
    `since_lsn`, else `fallback(conn)` (`conn` itself by default; workers.runtime.db.sibling for a read that
    runs beside `conn`'s work)."""
    replica = _current_replica(conn, workspace_id, since_lsn)
    if replica is None:
        with fallback(conn) as primary:
            yield primary, PRIMARY
        return
    try:
        yield replica, REPLICA
    finally:
        replica.close()
