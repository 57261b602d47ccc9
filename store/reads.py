"""Reads that share a round trip: each a statement, its parameters and what its rows become (a frame, a
dict), run alone or several in one pipeline. A small workspace's catalog makes a handful of reads of a few rows
each, where the round trips, not the rows, are the cost."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pandas as pd

from core.db import Conn
from store.frames import cast_columns, rows_frame

T = TypeVar("T")
RowList = list[tuple[Any, ...]]  # a statement's fetched rows (store.copy_stream.Rows is COPY's bytes)


@dataclass(frozen=True)
class Read(Generic[T]):
    """One read: its statement and parameters, and what its rows become, so that several can share one round
    trip (read_together) as well as run alone (`run`)."""

    query: str
    params: Sequence[object] | dict[str, object]
    build: Callable[[RowList], T]

    def run(self, conn: Conn) -> T:
        return self.build(conn.execute(self.query, self.params).fetchall())


def read_together(conn: Conn, *reads: Read[Any]) -> tuple[Any, ...]:
    """What each read builds, the statements sent in one pipeline: one round trip for all of them (a small
    workspace's catalog makes a handful of reads of a few rows each, where the round trips are the cost)."""
    with conn.pipeline():
        cursors = [conn.execute(read.query, read.params) for read in reads]
    return tuple(read.build(cursor.fetchall()) for read, cursor in zip(reads, cursors, strict=True))



def frame_of(columns: list[str], types: dict[str, str] | None = None) -> Callable[[RowList], pd.DataFrame]:
    """Rows as a frame of these columns (a few hundred rows at most), some cast (store.frames.cast_columns)."""
    def build(rows: RowList) -> pd.DataFrame:
        frame = rows_frame(rows, columns, types)
        return frame if types is None or len(frame) else cast_columns(frame, types)
    return build
