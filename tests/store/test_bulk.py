"""store.bulk.copy_into: COPY into a session-lived staging table, moved by one INSERT … SELECT that row-level
security checks. Each write lands its own rows once, whatever came before it on the connection."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest

from store.bulk import TRUNCATE_FROM_ROWS, copy_into
from store.tenancy import workspace_scope
from tests.factories import Conn, make_workspace

COLUMNS = ("workspace_id", "provider", "day", "logged_nanos")
FIRST = date(2000, 1, 1)


def write(conn: Conn, workspace_id: int, days: range, provider: str = "openai") -> None:
    with copy_into(conn, "reconciliation_days", COLUMNS) as copy:
        for offset in days:
            copy.write_row((workspace_id, provider, FIRST + timedelta(days=offset), offset))


def stored(conn: Conn) -> list[tuple[object, ...]]:
    return conn.execute("select workspace_id, provider, count(*), sum(logged_nanos) from analysis.reconciliation_days "
                        "group by 1, 2 order by 1, 2").fetchall()


def test_two_writes_in_one_transaction_land_each_row_once(db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    with db_conn.transaction():
        write(db_conn, ws, range(3))
        write(db_conn, ws, range(3), provider="anthropic")
    assert stored(db_conn) == [(ws, "anthropic", 3, 3), (ws, "openai", 3, 3)]


def test_a_write_past_the_truncate_size_is_followed_by_an_empty_staging_table(db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    with db_conn.transaction():
        write(db_conn, ws, range(TRUNCATE_FROM_ROWS))
        write(db_conn, ws, range(2), provider="anthropic")
    total = sum(range(TRUNCATE_FROM_ROWS))
    assert stored(db_conn) == [(ws, "anthropic", 2, 1), (ws, "openai", TRUNCATE_FROM_ROWS, total)]


def test_a_write_rolled_back_by_its_caller_leaves_nothing_for_the_next(db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    with pytest.raises(RuntimeError), db_conn.transaction():
        write(db_conn, ws, range(5))
        raise RuntimeError("the caller's results transaction fails after the write")
    assert stored(db_conn) == []
    write(db_conn, ws, range(2))
    assert stored(db_conn) == [(ws, "openai", 2, 1)]


def test_a_write_refused_by_row_security_leaves_nothing_for_the_next_workspace(fleet: Conn, db_conn: Conn) -> None:
    acme, beta = make_workspace(db_conn, "acme").workspace_id, make_workspace(db_conn, "beta").workspace_id
    refused = pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security")
    with workspace_scope(fleet, acme), refused, fleet.transaction():
        write(fleet, beta, range(4))  # beta's rows on a connection scoped to acme
    with workspace_scope(fleet, beta):
        write(fleet, beta, range(2))
    assert stored(db_conn) == [(beta, "openai", 2, 1)]
