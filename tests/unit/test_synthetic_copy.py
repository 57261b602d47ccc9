"""The binary COPY encoding of seed rows, decoded back field by field (no database)."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pandas as pd
import pytest

from store.seed_writes import PG_EPOCH_MICROS, REQUEST_COLUMNS, binary_rows
from synthetic.columns import categorical


def frame(rows: int = 2) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for name, kind in REQUEST_COLUMNS.items():
        if kind == "text":
            data[name] = pd.Series(["é-" + name, None][:rows], dtype=object)
        elif kind == "timestamptz":
            data[name] = np.array([PG_EPOCH_MICROS + 1, 1_700_000_000_000_000][:rows], dtype=np.int64)
        else:
            data[name] = pd.array([7, None][:rows], dtype="Int64")
    data["model"] = categorical(np.array([1, -1][:rows]), ["gpt-5", "claude-sonnet-4-6"])
    return pd.DataFrame(data)


def decode(data: bytes) -> list[list[bytes | None]]:
    rows, at = [], 0
    while at < len(data):
        (fields,), at = struct.unpack_from(">h", data, at), at + 2
        row: list[bytes | None] = []
        for _ in range(fields):
            (length,), at = struct.unpack_from(">i", data, at), at + 4
            row.append(None if length < 0 else data[at : at + length])
            at += max(length, 0)
        rows.append(row)
    return rows


def test_each_row_has_every_column_with_its_length_and_big_endian_value() -> None:
    first, _ = decode(binary_rows(frame()))
    assert len(first) == len(REQUEST_COLUMNS)
    by_name = dict(zip(REQUEST_COLUMNS, first, strict=True))
    assert by_name["workspace_id"] == struct.pack(">q", 7)
    assert by_name["latency_ms"] == struct.pack(">i", 7)
    assert by_name["status_code"] == struct.pack(">h", 7)
    assert by_name["started_at"] == struct.pack(">q", 1)  # microseconds since 2000-01-01
    assert by_name["prompt_hash"] == "é-prompt_hash".encode()
    assert by_name["model"] == b"claude-sonnet-4-6"


def test_nulls_are_minus_one_lengths() -> None:
    _, second = decode(binary_rows(frame()))
    by_name = dict(zip(REQUEST_COLUMNS, second, strict=True))
    assert by_name["project_id"] is None and by_name["prompt_hash"] is None and by_name["model"] is None
    assert by_name["synced_at"] == struct.pack(">q", 1_700_000_000_000_000 - PG_EPOCH_MICROS)


def test_a_value_too_big_for_its_column_is_refused_not_wrapped() -> None:
    rows = frame(1)
    rows["input_tokens"] = pd.array([2**31], dtype="Int64")
    with pytest.raises(ValueError, match="input_tokens"):
        binary_rows(rows)
