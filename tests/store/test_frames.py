"""The per-request reader: COPY into typed frames, the same rows as a plain query, per day or by prompt prefix."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from store.frames import (
    NO_PROJECT,
    NO_PROMPT_KEY,
    REQUEST_COLUMNS,
    Chunk,
    _whole_hashes,
    hash_groups,
    read_requests,
    request_frames,
)
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


def test_hash_groups_hand_out_whole_hashes_in_hash_order_a_few_rows_at_a_time(db_conn: Conn) -> None:
    scene = make_workspace(db_conn, "groups")
    # hashes given out of order in time; "9…" has 5 rows, more than a group's 2
    hashes = ["b" * 64, "2" * 64, "9" * 64, "2" * 64, "9" * 64, "e" * 64, "9" * 64, "b" * 64, "9" * 64, "9" * 64,
              "4" * 63 + "0", "4" * 63 + "1", None]
    for i, prompt_hash in enumerate(hashes):
        with_hash(db_conn, add_request(db_conn, scene, START + timedelta(hours=i), cost_nanos=i), prompt_hash)
    add_request(db_conn, scene, END, cost_nanos=99)  # outside the window
    heads = tuple(sorted({h[:16] for h in hashes if h is not None} - {"e" * 16}))  # "e…" not asked for
    # a piece of 1 byte: every row is a piece of its own, so the groups are made across many pieces
    tables = list(hash_groups(db_conn, scene.workspace_id, Chunk(START, END, prompt_heads=heads),
                              ["prompt_hash", "cost_nanos", "model"], group_rows=2, piece_bytes=1))
    groups = [t.column("prompt_hash").to_pylist() for t in tables]
    assert [h for g in groups for h in g] == sorted(h for h in hashes if h is not None and h[0] != "e")
    assert all(not set(a) & set(b) for a, b in itertools.combinations(groups, 2))  # no hash in two groups
    assert all(len(g) <= 2 or len(set(g)) == 1 for g in groups)  # more only when one hash has more
    assert ["9" * 64] * 5 in groups and len(groups) >= 4
    assert sorted(c for t in tables for c in t.column("cost_nanos").to_pylist()) == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10,
                                                                                       11]
    assert all(t.to_pandas()["model"].tolist() == ["claude-sonnet-4-6"] * t.num_rows for t in tables)
    one = list(hash_groups(db_conn, scene.workspace_id, Chunk(START, END, prompt_heads=heads), ["prompt_hash"],
                           group_rows=1000))
    assert [t.num_rows for t in one] == [11]
    with pytest.raises(ValueError, match="prompt_hash"):
        next(hash_groups(db_conn, scene.workspace_id, Chunk(START, END, prompt_heads=heads), ["id"], group_rows=2))


@pytest.mark.parametrize("final", [False, True])
def test_whole_hashes_cut_at_hash_changes_only(final: bool) -> None:
    hashes = ["a"] * 3 + ["b"] + ["c"] * 5 + ["d", "e", "f"] + ["g"] * 2
    table = pa.table({"prompt_hash": hashes, "n": list(range(len(hashes)))})
    groups, rest = _whole_hashes(table, 2, final=final)
    cut = [g.column("prompt_hash").to_pylist() for g in groups]
    # "a" and "c" are longer than a group: alone; the last hash "g" may go on unless final
    expected = [["a"] * 3, ["b"], ["c"] * 5, ["d", "e"]] + ([["f"], ["g"] * 2] if final else [])
    assert cut == expected
    assert rest.column("prompt_hash").to_pylist() == ([] if final else ["f", "g", "g"])
    assert [n for g in groups for n in g.column("n").to_pylist()] + rest.column("n").to_pylist() == list(
        range(len(hashes)))
