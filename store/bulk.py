"""Bulk writes into analysis under row-level security.

Postgres refuses `COPY … FROM` into a table with row-level security for a role the policies apply to (the
fleet's: "COPY FROM not supported with row-level security"), because COPY does not run the policies'
WITH CHECK. So the rows are copied into a temporary table of the same shape, which has no policy, and
moved with one `INSERT … SELECT`, which runs them: a row of another workspace is refused. COPY's speed
stays (the move is one statement inside the server).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from psycopg import sql
from psycopg.copy import Copy

from core.db import Conn


@contextmanager
def copy_into(conn: Conn, table: str, columns: Sequence[str], *, binary: bool = False) -> Iterator[Copy]:
    """A COPY writer for `columns` of analysis.`table`; the rows reach the table when the block ends.
    Runs in a transaction (a savepoint inside the caller's)."""
    target, staging = sql.Identifier("analysis", table), sql.Identifier(f"copy_{table}")
    names = sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    with conn.transaction():
        # the listed columns only, with no constraint (those are the target's to check); dropped at the end
        # of the outermost transaction, emptied after each use so a second write in it starts empty
        conn.execute(sql.SQL("create temporary table if not exists {} on commit drop as select {} from {} with no data"
                             ).format(staging, names, target))
        form = sql.SQL(" (format binary)") if binary else sql.SQL("")
        with conn.cursor() as cursor, cursor.copy(
                sql.SQL("copy {} ({}) from stdin{}").format(staging, names, form)) as copy:
            yield copy
        conn.execute(sql.SQL("insert into {} ({}) select {} from {}").format(target, names, names, staging))
        conn.execute(sql.SQL("truncate {}").format(staging))
