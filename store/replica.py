"""Where the primary's write-ahead log is, and whether a streaming replica has replayed up to a point of it
(workers/runtime/replica.py decides where a job's heavy reads go)."""

from __future__ import annotations

from core.db import Conn


def current_wal_lsn(conn: Conn) -> str:
    """The primary's current write-ahead log position: every transaction committed before this call lies
    at or before it."""
    row = conn.execute("select pg_current_wal_lsn()::text").fetchone()
    if row is None:
        raise RuntimeError("pg_current_wal_lsn() returned no row")
    return str(row[0])


def replayed_past(conn: Conn, lsn: str) -> bool:
    """Whether `conn` is a standby in recovery that has replayed the log up to `lsn` (so every transaction
    the primary had committed when `lsn` was read is visible on it). A promoted standby is not one."""
    row = conn.execute("select pg_is_in_recovery() and coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)",
                       (lsn,)).fetchone()
    return bool(row and row[0])
