"""The live catalog matches CONTRACT.md: every table and column the contract names, with its type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from store.migrate import migrate
from tests.factories import Conn

REPO = Path(__file__).resolve().parents[2]
SHARED_CONTRACT = REPO.parent / "shared" / "CONTRACT.md"  # the source of truth, beside the checkout
VENDORED_CONTRACT = REPO / "docs" / "CONTRACT.md"  # a copy, so a clone anywhere can run the test
CONTRACT = SHARED_CONTRACT if SHARED_CONTRACT.exists() else VENDORED_CONTRACT
# docs/CONTRACT.md is the shared contract verbatim, then the fleet's own additions under this heading
ADDITIONS_HEADING = "\n## Additions of the fleet"

# Columns the contract lists without a type take the type of the same name in meter (see CONTRACT.md).
INHERITED_TYPES = {
    "workspace_id": "bigint", "project_id": "bigint", "device_id": "bigint", "request_id": "bigint",
    "provider": "text", "model": "text", "service_tier": "text", "check_id": "text", "fingerprint": "text",
    "prompt_hash": "text", "attribution_tier": "text", "cause": "text",
    "first_at": "timestamp with time zone", "last_at": "timestamp with time zone",
    "started_at": "timestamp with time zone", "ended_at": "timestamp with time zone",
    "finished_at": "timestamp with time zone", "computed_at": "timestamp with time zone",
    "first_fired_at": "timestamp with time zone", "last_fired_at": "timestamp with time zone",
    "window_end": "timestamp with time zone", "suppressed_at": "timestamp with time zone",
    "decided_at": "timestamp with time zone", "suppressed_by": "text", "decided_by": "text",
    "day": "date", "month": "date", "period": "date", "sha256": "text",
}
INTEGER_OK = {"devices", "projects", "times_fired", "peak_per_minute"}
TYPE_WORDS = {
    "bigint": "bigint", "integer": "integer", "int": "integer", "smallint": "smallint", "text": "text",
    "timestamptz": "timestamp with time zone", "date": "date", "bytea": "bytea", "jsonb": "jsonb",
    "numeric": "numeric", "boolean": "boolean", "bigint[]": "ARRAY", "text[]": "ARRAY", "double": "double precision",
}


def shared_part(text: str) -> str:
    return text.split(ADDITIONS_HEADING)[0]


def contract_columns(text: str | None = None) -> dict[str, dict[str, str]]:
    """Parse CONTRACT.md's code blocks into {schema.table: {column: catalog type}}."""
    text = shared_part(CONTRACT.read_text()) if text is None else text
    tables: dict[str, dict[str, str]] = {}
    current: str | None = None
    for block in re.findall(r"```\n(.*?)```", text, flags=re.S):
        for raw in block.splitlines():
            line = raw.split("--")[0].strip()
            header = re.match(r"^(meter|analysis)\.(\w+)", line)
            if header:
                current = f"{header.group(1)}.{header.group(2)}"
                tables[current] = {}
                line = line[header.end():].strip()
            if current is None or not line:
                continue
            for part in _split_columns(line):
                _add_column(tables[current], part)
    return tables


def _split_columns(line: str) -> list[str]:
    parts, depth, buf = [], 0, ""
    for char in line:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(buf)
            buf = ""
        else:
            buf += char
    parts.append(buf)
    return [p.strip() for p in parts if p.strip()]


def _add_column(columns: dict[str, str], part: str) -> None:
    words = part.split()
    name = words[0]
    if name in {"primary", "unique"} or not re.match(r"^[a-z_][a-z0-9_]*$", name):
        return
    declared = next((TYPE_WORDS[w] for w in words[1:3] if w in TYPE_WORDS), None)
    if declared is None and name.endswith("_nanos"):
        declared = "bigint"  # the contract's money convention
    if declared is None:
        if name not in INHERITED_TYPES and name not in INTEGER_OK:
            return  # prose, not a column
        declared = INHERITED_TYPES.get(name, "bigint")
    columns[name] = declared


@pytest.mark.skipif(not SHARED_CONTRACT.exists(), reason="no shared/ beside this checkout")
def test_the_vendored_contract_is_the_shared_one() -> None:
    """docs/CONTRACT.md starts with shared/CONTRACT.md verbatim; only the fleet's additions follow it."""
    vendored = VENDORED_CONTRACT.read_text()
    assert shared_part(vendored).rstrip() == SHARED_CONTRACT.read_text().rstrip(), "copy shared/CONTRACT.md to docs/"
    assert vendored.count(ADDITIONS_HEADING) <= 1


def test_contract_parser_finds_every_table() -> None:
    tables = contract_columns()
    assert len(tables) == 22
    assert tables["meter.requests"]["cost_nanos"] == "bigint"
    assert tables["analysis.recommendations"]["sample_request_ids"] == "ARRAY"
    assert tables["analysis.prompt_clusters"]["kinds"] == "ARRAY"
    assert tables["analysis.realised_savings"]["saved_nanos"] == "bigint"
    assert tables["analysis.reports"]["sha256"] == "text"
    assert sum(len(columns) for columns in tables.values()) == 200


def live_columns(db_conn: Conn) -> dict[tuple[str, str], str]:
    return {
        (f"{schema}.{table}", str(column)): str(data_type)
        for schema, table, column, data_type in db_conn.execute(
            """select table_schema, table_name, column_name, data_type from information_schema.columns
               where table_schema in ('meter', 'analysis')"""
        ).fetchall()
    }


def mismatches(db_conn: Conn, contract: dict[str, dict[str, str]]) -> list[str]:
    live = live_columns(db_conn)
    problems = []
    for table, columns in contract.items():
        for column, expected in columns.items():
            actual = live.get((table, column))
            if actual is None:
                problems.append(f"{table}.{column} is missing")
            elif actual != expected and not (column in INTEGER_OK and actual in {"integer", "bigint"}):
                problems.append(f"{table}.{column} is {actual}, contract says {expected}")
    return problems


def test_every_contract_column_exists_with_its_type(db_conn: Conn) -> None:
    assert mismatches(db_conn, contract_columns()) == []


def test_every_addition_the_docs_list_exists_with_its_type(db_conn: Conn) -> None:
    text = VENDORED_CONTRACT.read_text()
    additions = text.split(ADDITIONS_HEADING)[1] if ADDITIONS_HEADING in text else ""
    tables = contract_columns(additions)
    assert "analysis.runs" in tables and "failure_kind" in tables["analysis.runs"]
    assert mismatches(db_conn, tables) == []


def test_migrate_twice_changes_nothing(db_conn: Conn) -> None:
    before = db_conn.execute("select count(*) from analysis.schema_migrations").fetchone()
    assert migrate(db_conn) == []
    after = db_conn.execute("select count(*) from analysis.schema_migrations").fetchone()
    assert before == after


@pytest.mark.parametrize("table", ["analysis.daily_spend", "analysis.check_history"])
def test_null_project_keys_are_unique(db_conn: Conn, table: str) -> None:
    """A null project (unattributed) is one key, so a rerun cannot duplicate it."""
    index = db_conn.execute(
        "select indexdef from pg_indexes where schemaname || '.' || tablename = %s and indexdef like '%%UNIQUE%%'",
        (table,),
    ).fetchone()
    assert index is not None and "NULLS NOT DISTINCT" in str(index[0])
