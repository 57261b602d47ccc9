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

One reader connection per worker process (`DATABASE_READ_URL` as the fleet's role, application_name
halton-reader), opened at the first heavy read and reused by every later stage and job of the process: a
connection costs about 8 ms and a backend on the replica, the replay check one round trip. Each use sets the
job connection's statement and lock timeouts on it and scopes it to the job's workspace (row-level security
holds there as on the primary: a physical replica has the same roles and policies); after it, it is scoped to
no workspace again. A reader that broke while idle (the replica restarted, a network cut) fails its replay
check and is replaced by a new connection at once; one left mid-transaction or mid-COPY by an error is closed,
not reused; one still in use (a second heavy read at the same time in the process) is not shared: that read
gets a connection of its own for its duration. A reader never crosses a fork: a child opens its own. An
unreachable replica is a warning, not a failure: the read goes to the primary.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import psycopg
from psycopg.pq import TransactionStatus

from core.db import Conn
from store.replica import current_wal_lsn, replayed_past
from store.tenancy import set_workspace
from workers.runtime.db import SESSION_KWARGS, apply_session_timeouts, redact_url, session_timeouts

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


class _Reader:
    """This process's reader connection to the replica, if open, and the URL it was opened with."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # held while a heavy read uses `conn`
        self.conn: Conn | None = None
        self.url: str | None = None
        self.inherited: list[Conn] = []  # a parent's, after a fork: never used nor closed (the socket is shared)

    def take(self, url: str) -> Conn | None:
        """The open reader for `url`, if any (the caller holds the lock)."""
        if self.conn is not None and (self.conn.closed or self.conn.broken or self.url != url):
            self.discard()
        return self.conn

    def discard(self) -> None:
        if self.conn is not None:
            _close_quietly(self.conn)
        self.conn, self.url = None, None

    def forked(self) -> None:
        """In a new child process: the parent's reader is not ours to use or close."""
        self.lock = threading.Lock()
        if self.conn is not None:
            self.inherited.append(self.conn)
        self.conn, self.url = None, None


_reader = _Reader()
os.register_at_fork(after_in_child=_reader.forked)


def close_reader() -> None:
    """Close this process's reader connection (a worker process ending)."""
    with _reader.lock:
        _reader.discard()


def _close_quietly(conn: Conn) -> None:
    with contextlib.suppress(Exception):
        conn.close()


def _connect(url: str) -> Conn | None:
    try:
        return psycopg.connect(url, connect_timeout=5, **{**SESSION_KWARGS, "application_name": APPLICATION_NAME})
    except psycopg.OperationalError as error:
        log.warning("the replica at %s is unreachable (%s): heavy reads go to the primary", redact_url(url),
                    str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
        return None


def _checked(url: str, since_lsn: str, kept: Conn | None) -> tuple[Conn | None, bool]:
    """(a connection to the replica, whether it has replayed past `since_lsn`): `kept` when it still answers,
    else a new one (None when the replica is unreachable)."""
    if kept is not None:
        try:
            return kept, replayed_past(kept, since_lsn)
        except psycopg.OperationalError:
            log.info("the reader connection to the replica broke: opening another")
            _close_quietly(kept)
    fresh = _connect(url)
    if fresh is None:
        return None, False
    try:
        return fresh, replayed_past(fresh, since_lsn)
    except BaseException:
        fresh.close()
        raise


def _lease(url: str, since_lsn: str) -> tuple[Conn | None, bool]:
    """(a connection to a replica that has replayed past `since_lsn`, or None; whether it is this process's
    reader, whose lock the caller then holds until _give_back)."""
    if not _reader.lock.acquire(blocking=False):  # another heavy read of this process has the reader
        reader, current = _checked(url, since_lsn, None)
        if reader is not None and not current:
            reader.close()
        return (reader if current else None), False
    try:
        reader, current = _checked(url, since_lsn, _reader.take(url))
        _reader.conn, _reader.url = reader, (url if reader is not None else None)
    except BaseException:
        _reader.lock.release()
        raise
    if not current:
        _reader.lock.release()
        if reader is not None:
            log.info("the replica has not replayed past %s yet: heavy reads go to the primary", since_lsn)
        return None, False
    return reader, True


def _give_back(reader: Conn, shared: bool) -> None:
    """After a heavy read: the process's reader scoped to no workspace again, or closed when it cannot serve
    the next one (broken, or left in a transaction or a COPY by an error); a connection of its own closed."""
    if not shared:
        _close_quietly(reader)
        return
    try:
        if reader.closed or reader.broken or reader.info.transaction_status != TransactionStatus.IDLE:
            _reader.discard()
            return
        try:
            set_workspace(reader, None)
        except psycopg.Error:
            _reader.discard()
    finally:
        _reader.lock.release()


@contextmanager
def heavy_reader(conn: Conn, workspace_id: int, since_lsn: str | None,
                 fallback: Callable[[Conn], AbstractContextManager[Conn]] = nullcontext) -> Iterator[tuple[Conn, str]]:
    """(a connection for the job's heavy reads, PRIMARY or REPLICA): the process's reader on the replica when
    the replica has replayed past `since_lsn`, else `fallback(conn)` (`conn` itself by default;
    workers.runtime.db.sibling for a read that runs beside `conn`'s work)."""
    url = read_url()
    reader, shared = (None, False) if url is None or since_lsn is None else _lease(url, since_lsn)
    if reader is None:
        with fallback(conn) as primary:
            yield primary, PRIMARY
        return
    try:
        apply_session_timeouts(reader, session_timeouts(conn))  # bounded like a statement on `conn`
        set_workspace(reader, workspace_id)
        yield reader, REPLICA
    finally:
        _give_back(reader, shared)
