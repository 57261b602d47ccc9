"""Deterministic Parquet and CSV bytes of an Arrow table: equal content gives equal bytes (no time, no
host, no random id in them), so a rerun can compare sha256 with what it wrote before.

CSV follows the FOCUS attributes: decimals as plain fixed-point numbers without trailing zeros (never an
exponent, never a float), timestamps as `YYYY-MM-DDTHH:mm:ssZ`, nulls as empty fields. A text cell that a
spreadsheet would read as a formula (one beginning with `=`, `+`, `-`, `@`, a tab or a carriage return) is
neutralised with a leading apostrophe, OWASP's advice; numeric cells are numbers and are left alone (a
negative amount stays a number)."""

from __future__ import annotations

import functools
import hashlib

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = ("parquet", "csv")
CONTENT_TYPES = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv; charset=utf-8",
                 "json": "application/json"}
FORMULA_START = r"^[=+\-@\t\r]"
ROW_GROUP = 1 << 20


def to_parquet(table: pa.Table) -> bytes:
    """Snappy, one row group, statistics on; dictionary encoding for the text columns only (amounts and
    counts rarely repeat: hashing them costs more than it saves). Written to an Arrow buffer, not a Python file:
    the writer never calls back into Python (nor takes the GIL) to write, so objects encode side by side."""
    out = pa.BufferOutputStream()
    pq.write_table(table, out, compression="snappy", use_dictionary=_text_columns(table.schema),
                   write_statistics=True, row_group_size=ROW_GROUP, version="2.6")
    data: bytes = out.getvalue().to_pybytes()
    return data


@functools.lru_cache(maxsize=16)
def _text_columns(schema: pa.Schema) -> list[str]:
    """The string columns of a schema (an export writes many objects of one schema)."""
    return [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]


def neutralise(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Text cells beginning with a formula character, prefixed with an apostrophe."""
    risky = pc.match_substring_regex(column, FORMULA_START)
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)


def csv_column(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    kind = column.type
    if pa.types.is_decimal(kind):
        text = pc.cast(column, pa.string())
        return pc.replace_substring_regex(pc.replace_substring_regex(text, r"(\.\d*?)0+$", r"\1"), r"\.$", "")
    if pa.types.is_timestamp(kind):
        return pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
    if pa.types.is_date(kind):
        return pc.strftime(column, format="%Y-%m-%d")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return neutralise(column)
    return column


def to_csv(table: pa.Table) -> bytes:
    converted = pa.table({name: csv_column(table[name]) for name in table.column_names})
    out = pa.BufferOutputStream()
    pacsv.write_csv(converted, out, pacsv.WriteOptions(include_header=True, quoting_style="needed"))
    data: bytes = out.getvalue().to_pybytes()
    return data


def encode(table: pa.Table, fmt: str) -> bytes:
    if fmt == "parquet":
        return to_parquet(table)
    if fmt == "csv":
        return to_csv(table)
    raise ValueError(f"unknown export format {fmt!r}: one of {', '.join(FORMATS)}")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
