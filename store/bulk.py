"""Bulk writes into analysis under row-level security.

Postgres refuses `COPY … FROM` into a table with row-level security for a role the policies apply to (the
fleet's: "COPY FROM not supported with row-level security"), because COPY does not run the policies'
WITH CHECK. So the rows are copied into a temporary table of the same shape, which has no policy, and
moved with one `INSERT … SELECT`, which runs them: a row of another workspace is refused. COPY's speed
stays (the move is one statement inside the server).

The temporary table lives as long as the session (a pooled connection's), emptied at every commit
(`on commit delete rows`) and after each use: creating it cost 2-3 ms of catalog writes a call, more than
a small workspace's whole write. It has the listed columns only (its name carries a digest of them), and
holds rows only inside the transaction that copies them, which rolls them back with it on a failure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from psycopg import sql
from psycopg.copy import Copy

from core.db import Conn

# Rows moved from which the staging table is emptied with TRUNCATE (a new file, a few catalog rows) rather
# than DELETE (per row; the dead rows go when the transaction commits)
TRUNCATE_FROM_ROWS = 10_000


def staging_name(table: str, columns: Sequence[str]) -> str:
    """The session's staging table for these columns of analysis.`table`."""
    digest = hashlib.blake2b("\0".join(columns).encode(), digest_size=4).hexdigest()
    return f"copy_{table}_{digest}"


@contextmanager
def copy_into(conn: Conn, table: str, columns: Sequence[str], *, binary: bool = False) -> Iterator[Copy]:
    """A COPY writer for `columns` of analysis.`table`; the rows reach the table when the block ends.
    Runs in a transaction (a savepoint inside the caller's)."""
    target, staging = sql.Identifier("analysis", table), sql.Identifier(staging_name(table, columns))
    names = sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    with conn.transaction():
        # the listed columns only, with no constraint (those are the target's to check); kept for the session,
        # empty outside the transaction that fills it
        conn.execute(sql.SQL("create temporary table if not exists {} on commit delete rows as select {} from {} "
                             "with no data").format(staging, names, target))
        form = sql.SQL(" (format binary)") if binary else sql.SQL("")
        with conn.cursor() as cursor, cursor.copy(
                sql.SQL("copy {} ({}) from stdin{}").format(staging, names, form)) as copy:
            yield copy
        moved = conn.execute(sql.SQL("insert into {} ({}) select {} from {}").format(target, names, names, staging))
        # emptied now, so a second write in the same transaction starts empty
        empty = "truncate {}" if moved.rowcount >= TRUNCATE_FROM_ROWS else "delete from {}"
        conn.execute(sql.SQL(empty).format(staging))
