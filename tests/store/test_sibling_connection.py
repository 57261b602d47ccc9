"""The checks stage's second connection (workers.runtime.db.sibling) is bounded like the pool's."""

from __future__ import annotations

from tests.factories import Conn
from workers.runtime.db import sibling


def show(conn: Conn, name: str) -> str:
    row = conn.execute(f"show {name}").fetchone()
    assert row is not None
    return str(row[0])


def test_the_second_connection_has_the_pools_session_settings_and_the_tasks_timeouts(db_conn: Conn) -> None:
    db_conn.execute("set statement_timeout = 4321")  # what pooled_connection sets from the task's soft limit
    db_conn.execute("set lock_timeout = 1234")
    with sibling(db_conn) as other:
        assert show(other, "statement_timeout") == "4321ms"
        assert show(other, "lock_timeout") == "1234ms"
        assert show(other, "idle_in_transaction_session_timeout") == "10min"
        assert show(other, "client_connection_check_interval") == "2s"
        assert show(other, "application_name") == "halton-worker"
        assert other.autocommit


def test_a_first_connection_without_timeouts_gives_a_second_one_without_them(db_conn: Conn) -> None:
    with sibling(db_conn) as other:
        assert show(other, "statement_timeout") == "0"
        assert show(other, "lock_timeout") == "0"
