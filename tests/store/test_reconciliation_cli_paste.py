"""`paste-bill` and `import-billing` against a real Postgres: a paste that cannot be read is refused before
anything is stored (the month keeps its bill); the paste can come from a file or stdin; an export that
is not text is refused in words. (How the paste is given, without a database: tests/unit/test_cli_paste_input.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from store.reconciliation import insert_statement
from tests.factories import Conn
from tests.store.test_reconciliation_notice import REFUSED
from tests.store.test_reconciliation_store import AS_OF, NOV, november
from workers.jobs import reconcile as jobs

D = 1_000_000_000


def run_cli(env: dict[str, str], *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "workers.cli", *args], env=env, capture_output=True, input=stdin,
                          timeout=120)


PASTE = ["paste-bill", "--workspace", "acme", "--provider", "anthropic", "--period", "2026-11"]


def statements(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute("select raw_text, entered_by from meter.billing_statements order by id").fetchall()


def test_the_cli_refuses_an_unreadable_paste_before_storing_it_and_the_month_keeps_its_bill(
        db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    ws = november(db_conn)
    insert_statement(db_conn, ws, "anthropic", NOV, "$342.04", "finance@acme")
    jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    before = db_conn.execute("select * from analysis.reconciliation").fetchall()
    bad = run_cli(fleet_env, *PASTE, "--text", "about three hundred dollars")
    assert bad.returncode == 1 and bad.stdout == b""
    assert bad.stderr.decode() == f"error: the pasted bill could not be read: {REFUSED}\n"
    huge = tmp_path / "statement.txt"
    huge.write_text("Line item $1.00\n" * 8_000)  # 128 KB
    refused = run_cli(fleet_env, *PASTE, "--file", str(huge))
    assert refused.returncode == 1 and b"the paste is 128,000 characters long" in refused.stderr
    assert statements(db_conn) == [("$342.04", "finance@acme")]
    assert db_conn.execute("select * from analysis.reconciliation").fetchall() == before


def test_the_cli_reads_the_paste_from_a_file_or_from_stdin(db_conn: Conn, fleet_env: dict[str, str],
                                                           tmp_path: Path) -> None:
    november(db_conn)
    block = tmp_path / "statement.txt"
    block.write_text("Subtotal $340.00\nTax $2.04\nTotal $342.04\n", encoding="utf-8")
    from_file = run_cli(fleet_env, *PASTE, "--file", str(block), "--entered-by", "finance@acme")
    assert from_file.returncode == 0, from_file.stderr
    assert db_conn.execute("select billed_nanos from analysis.reconciliation").fetchone() == (342_040_000_000,)
    from_stdin = run_cli(fleet_env, *PASTE, "--file", "-", stdin=b"\xef\xbb\xbfUSD 300.00\n")
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert db_conn.execute("select billed_nanos from analysis.reconciliation").fetchone() == (300 * D,)
    assert statements(db_conn) == [("Subtotal $340.00\nTax $2.04\nTotal $342.04\n", "finance@acme"),
                                   ("USD 300.00\n", "cli")]


def test_importing_a_binary_file_says_it_is_not_a_utf8_csv(fleet_env: dict[str, str], tmp_path: Path,
                                                           db_conn: Conn) -> None:
    november(db_conn, provider="xai", model="grok-4")
    sheet = tmp_path / "usage.xlsx"
    sheet.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xa1\xb2")
    done = run_cli(fleet_env, "import-billing", "--workspace", "acme", "--provider", "xai", "--file", str(sheet))
    assert done.returncode == 1
    assert done.stderr.decode().startswith("error: the xai export usage.xlsx could not be read: the file is not a "
                                           "UTF-8 CSV")
    assert db_conn.execute("select count(*) from analysis.billing_days").fetchone() == (0,)
