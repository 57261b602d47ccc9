"""The per-request reader: COPY into typed frames, the same rows as a plain query, per day or by prompt prefix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from store.frames import NO_PROJECT, NO_PROMPT_KEY, REQUEST_COLUMNS, Chunk, read_requests, request_frames
from tests.factories import Conn, add_request, make_workspace

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=3)


def with_hash(conn: Conn, request_id: int, prompt_hash: str | None) -> None:
    conn.execute("update meter.requests set prompt_hash = %s where id = %s", (prompt_hash, request_id))


@pytest.fixture
def scene_ids(db_conn: Conn) -> tuple[int, list[int]]:
    scene = make_workspace(db_conn)
    other = make_workspace(db_conn, "other")
    ids = [
        add_request(db_conn, scene, START + timedelta(hours=1), cost_nanos=11, model="claude-sonnet-4-6"),
        add_request(db_conn, scene, START + timedelta(days=1, hours=5), cost_nanos=22, project=None, model="gpt-5",
                    provider="openai", service_tier="batch"),
        add_request(db_conn, scene, START + timedelta(days=2, hours=23, minutes=59), cost_nanos=33),
        add_request(db_conn, scene, END, cost_nanos=44),  # outside: the window is half-open
    ]
    add_request(db_conn, other, START + timedelta(hours=2), cost_nanos=55)  # another workspace
    with_hash(db_conn, ids[0], "ffffffffffffffff" + "0" * 48)
    with_hash(db_conn, ids[1], "00000000000000017" + "a" * 47)
    return scene.workspace_id, ids


def test_the_frame_holds_the_window_rows_with_types_a_stage_can_use(db_conn: Conn,
                                                                     scene_ids: tuple[int, list[int]]) -> None:
    ws, ids = scene_ids
    frame = read_requests(db_conn, ws, START, END, tuple(REQUEST_COLUMNS)).sort_values("id", ignore_index=True)
    assert frame["id"].tolist() == ids[:3]
    assert frame["cost_nanos"].tolist() == [11, 22, 33] and frame["cost_nanos"].dtype == np.int64
    assert isinstance(frame["model"].dtype, pd.CategoricalDtype)
    assert isinstance(frame["service_tier"].dtype, pd.CategoricalDtype)
    assert frame["model"].tolist() == ["claude-sonnet-4-6", "gpt-5", "claude-sonnet-4-6"]
    assert str(frame["started_at"].dtype) == "datetime64[us, UTC]"
    assert frame["started_at"].iloc[2] == pd.Timestamp(START + timedelta(days=2, hours=23, minutes=59))
    assert frame["project_id"].iloc[1] == NO_PROJECT and frame["project_id"].dtype == np.int64
    # the first 16 hex digits as a signed 64-bit integer; no hash is 0
    assert frame["prompt_key"].tolist() == [-1, 1, NO_PROMPT_KEY]
    assert frame["prompt_hash"].iloc[2] is None or pd.isna(frame["prompt_hash"].iloc[2])


def test_one_frame_per_utc_day_and_the_same_rows_as_a_query(db_conn: Conn, scene_ids: tuple[int, list[int]]) -> None:
    ws, _ = scene_ids
    frames = list(request_frames(db_conn, ws, START, END, ["id", "cost_nanos"]))
    assert [len(f) for f in frames] == [1, 1, 1]
    expected = db_conn.execute("select id, cost_nanos from meter.requests where workspace_id = %s and started_at >= %s"
                               " and started_at < %s order by id", (ws, START, END)).fetchall()
    got = pd.concat(frames).sort_values("id")
    assert list(map(tuple, got.to_numpy().tolist())) == expected


def narrowed(by: str, prefix: str) -> Chunk:
    if by == "prompt_prefixes":
        return Chunk(START, END, prompt_prefixes=(prefix,))
    return Chunk(START, END, prompt_heads=(prefix,))


@pytest.mark.parametrize("by", ["prompt_prefixes", "prompt_heads"])
def test_prompt_prefixes_by_index_or_by_scan_find_the_rows_of_those_hashes_only(
        db_conn: Conn, scene_ids: tuple[int, list[int]], by: str) -> None:
    ws, ids = scene_ids
    chunks = [narrowed(by, "ffffffffffffffff"), narrowed(by, "0000000000000001")]
    frames = list(request_frames(db_conn, ws, START, END, ["id", "prompt_hash"], chunks=chunks))
    assert [f["id"].tolist() for f in frames] == [[ids[0]], [ids[1]]]  # the row without a hash is in neither


def test_rows_synced_after_the_moment_are_left_out(db_conn: Conn, scene_ids: tuple[int, list[int]]) -> None:
    ws, ids = scene_ids
    db_conn.execute("update meter.requests set synced_at = %s where id = %s", (END + timedelta(days=1), ids[0]))
    frame = read_requests(db_conn, ws, START, END, ["id"], synced_by=END)
    assert sorted(frame["id"].tolist()) == ids[1:3]


def test_an_empty_window_gives_an_empty_frame_with_the_columns(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    frame = read_requests(db_conn, scene.workspace_id, START, END, ["id", "model", "cost_nanos"])
    assert len(frame) == 0 and list(frame.columns) == ["id", "model", "cost_nanos"]


def test_an_unknown_column_is_refused(db_conn: Conn) -> None:
    with pytest.raises(ValueError, match="unknown request column"):
        read_requests(db_conn, 1, START, END, ["id", "password"])
