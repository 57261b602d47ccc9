"""The psycopg connection pool of this process, and one-off connections for the command line."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from core.db import Conn
from core.errors import ConfigError
from store.tenancy import scoped_workspace, set_workspace
from workers.settings import get_settings

# Every worker connection's session: the pool's, and the checks stage's second connection (sibling)
SESSION_OPTIONS = (
    # a backend notices within 2 s that its worker died, even while it waits on a lock,
    # so the transaction rolls back and the advisory lock frees at once
    "-c client_connection_check_interval=2000 -c idle_in_transaction_session_timeout=600000"
)
SESSION_KWARGS: dict[str, Any] = {
    "autocommit": True,
    "application_name": "halton-worker",
    "options": SESSION_OPTIONS,
    # a worker cut off by the network is noticed in about a minute, and its lock freed
    "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
}
# what a sibling copies from its first connection's session (the task's statement timeout, any lock timeout)
COPIED_TIMEOUTS = ("statement_timeout", "lock_timeout")

_pool: ConnectionPool[Conn] | None = None
_pool_pid: int | None = None


def redact_url(url: str) -> str:
    """The URL without its password, safe for a log line or an error message."""
    return re.sub(r"(//[^:/@]*):[^@]*@", r"\1:***@", url)


def connect(url: str, connect_timeout: int = 10, options: str | None = None) -> Conn:
    """An autocommit connection; transactions are always explicit (`with conn.transaction()`)."""
    extra: dict[str, Any] = {} if options is None else {"options": options}
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout, **extra)
    except psycopg.OperationalError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = lines[0] if lines else type(error).__name__
        raise ConfigError(f"cannot reach the database at {redact_url(url)}: {reason}") from None


@contextmanager
def sibling(conn: Conn) -> Iterator[Conn]:
    """A second autocommit connection to the same database as the same user, for a read that runs beside
    `conn`'s work (Postgres runs the two in two backends); closed on exit. It has the pool's session
    settings and `conn`'s timeouts, so a statement on it is bounded like one on `conn`."""
    password = conn.pgconn.password
    extra: dict[str, Any] = {"password": password.decode()} if password else {}
    other = psycopg.connect(conn.info.dsn, **{**SESSION_KWARGS, "options": copied_session_options(conn)}, **extra)
    try:
        set_workspace(other, scoped_workspace(conn))  # the same workspace as `conn` (row-level security)
        yield other
    finally:
        other.close()


def copied_session_options(conn: Conn) -> str:
    """The pool's session options with `conn`'s timeouts, for a second connection doing part of its work."""
    copied = " ".join(f"-c {name}={value}" for name, value in session_timeouts(conn).items())
    return f"{SESSION_OPTIONS} {copied}"


def session_timeouts(conn: Conn) -> dict[str, str]:
    """`conn`'s timeouts (COPIED_TIMEOUTS), as `show` gives them, in one round trip."""
    row = conn.execute(sql.SQL("select {}").format(sql.SQL(", ").join(
        sql.SQL("current_setting({})").format(sql.Literal(name)) for name in COPIED_TIMEOUTS))).fetchone()
    return {name: "0" if row is None else str(row[i]) for i, name in enumerate(COPIED_TIMEOUTS)}


def apply_session_timeouts(conn: Conn, timeouts: dict[str, str]) -> None:
    """Set `timeouts` (session_timeouts of another connection) on `conn`'s session, in one round trip."""
    conn.execute(sql.SQL("select {}").format(sql.SQL(", ").join(
        sql.SQL("set_config({}, %s, false)").format(sql.Literal(name)) for name in timeouts)), list(timeouts.values()))


def open_pool(url: str, max_size: int) -> ConnectionPool[Conn]:
    """Open the pool for this process. Called after fork: a pool must never cross a fork."""
    global _pool, _pool_pid
    if _pool is not None and _pool_pid == os.getpid():
        return _pool
    _pool = ConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        kwargs=SESSION_KWARGS,
        open=True,
        # a connection that broke while idle (database restart) is replaced, not handed out
        check=ConnectionPool.check_connection,
        # a connection comes back scoped to no workspace, whatever the job did (row-level security)
        reset=_scoped_to_none,
        name=f"halton-{os.getpid()}",
    )
    _pool_pid = os.getpid()
    return _pool


def _scoped_to_none(conn: Conn) -> None:
    set_workspace(conn, None)


def close_pool() -> None:
    global _pool, _pool_pid
    if _pool is not None and _pool_pid == os.getpid():
        _pool.close()
    _pool, _pool_pid = None, None


def current_pool() -> ConnectionPool[Conn]:
    """This process's pool; opened on first use when no signal opened it (the solo pool, a shell)."""
    if _pool is None or _pool_pid != os.getpid():
        settings = get_settings()
        return open_pool(settings.database_url, settings.db_pool_max)
    return _pool


@contextmanager
def pooled_connection(statement_timeout_s: float | None = None) -> Iterator[Conn]:
    """A pooled connection; with a statement timeout, Postgres cancels a statement that would outlast
    the task's soft limit, so the job fails cleanly instead of being interrupted mid-statement."""
    with current_pool().connection() as conn:
        if statement_timeout_s is None:
            yield conn
            return
        conn.execute(f"set statement_timeout = {max(1, int(statement_timeout_s * 1000))}")
        try:
            yield conn
        finally:
            if not conn.closed and not conn.broken:
                conn.execute("reset statement_timeout")


__all__ = ["Conn", "close_pool", "connect", "open_pool", "pooled_connection", "redact_url"]
