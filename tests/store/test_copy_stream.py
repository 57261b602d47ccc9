"""COPY read in bulk and its text format parsed: every text value comes back as stored (quotes, commas,
tabs, newlines, backslashes, 'NULL', 'NA', ''), NULL as null; an early stop or a failing query leaves the
connection usable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import psycopg
import pyarrow as pa
import pytest
from psycopg import sql

from store.copy_stream import copy_bytes, copy_pieces, copy_text, parse_text
from store.frames import (
    REQUEST_COLUMNS,
    Chunk,
    copy_table,
    hash_groups,
    read_request_ranges,
    read_requests,
    request_frames,
    to_pandas,
)
from tests.factories import Conn, add_request, make_workspace

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=3)
ODD = ['say "hi"', "a,b", "line\nbreak", "tab\there", "back\\slash", "\\N", "\\n", "\\\\N", "x\\", "cr\rlf",
       "bs\bff\fvt\v", "NULL", "NA", "nan", "", " lead ", "é ü 漢字", '"', ","]


def test_odd_text_values_come_back_as_stored_and_null_as_null(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    ids = []
    for i, odd in enumerate(ODD):
        ids.append(add_request(db_conn, scene, START + timedelta(hours=i * 3), model=odd, provider=f"p{odd}",
                               project=None if i % 2 else 0))
    # one hash per day: several chunks; a hash holding an escape
    for i, request_id in enumerate(ids):
        db_conn.execute("update meter.requests set prompt_hash = %s where id = %s",
                        (f"{i:016x}" + ("\\t" if i % 3 == 0 else "ab"), request_id))
    columns = ["id", "model", "provider", "attribution_tier", "prompt_hash", "started_at", "project_id"]
    expected = pd.DataFrame(db_conn.execute(
        "select id, model, provider, attribution_tier, prompt_hash from meter.requests where workspace_id = %s"
        " order by id", (scene.workspace_id,)).fetchall(), columns=columns[:5])
    assert expected["model"].tolist() == ODD
    frames = [read_requests(db_conn, scene.workspace_id, START, END, columns),
              pd.concat([f.astype({c: object for c in columns[1:4]})
                         for f in request_frames(db_conn, scene.workspace_id, START, END, columns)]),
              read_request_ranges(db_conn, scene.workspace_id, [Chunk(START, START + timedelta(days=1)),
                                                               Chunk(START + timedelta(days=1), END)], columns)]
    for frame in frames:
        got = frame.sort_values("id", ignore_index=True)
        for name in columns[1:5]:
            values = [None if pd.isna(v) else v for v in got[name].astype(object)]
            assert values == [None if pd.isna(v) else v for v in expected[name].astype(object)], name
        assert got["project_id"].tolist() == [-1 if i % 2 else got["project_id"][0] for i in range(len(ODD))]
    groups = list(hash_groups(db_conn, scene.workspace_id, Chunk(START, END), ["prompt_hash", "model"],
                              group_rows=2, piece_bytes=1))
    assert sorted(v for t in groups for v in t.column("prompt_hash").to_pylist()) == sorted(expected["prompt_hash"])
    typed = copy_table(db_conn, sql.SQL("select {} from meter.requests where workspace_id = %s order by id").format(
                           sql.SQL("model, status_code = 200 as ok")), [scene.workspace_id],
                       {"model": pa.string(), "ok": pa.bool_()})
    assert typed.column("model").to_pylist() == ODD and typed.column("ok").to_pylist() == [True] * len(ODD)


def test_a_range_read_that_finds_nothing_is_the_parse_of_no_rows(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    add_request(db_conn, scene, START + timedelta(hours=1), model="m")
    columns = ["id", "model", "provider", "prompt_hash", "started_at", "project_id", "cost_nanos"]
    empty = read_request_ranges(db_conn, scene.workspace_id, [Chunk(END, END + timedelta(days=1))], columns)
    parsed = to_pandas(parse_text(b"", pa.schema([(c, REQUEST_COLUMNS[c][1]) for c in columns])).unify_dictionaries())
    pd.testing.assert_frame_equal(empty, parsed)
    assert len(read_request_ranges(db_conn, scene.workspace_id, [Chunk(START, END)], columns)) == 1


def test_parse_text_reads_null_markers_and_escapes() -> None:
    data = b"1\t\\N\ta\\tb\n2\t\\\\N\t\\\\\n3\t\tNA\n"
    table = parse_text(data, pa.schema([("n", pa.int64()), ("s", pa.string()),
                                        ("d", pa.dictionary(pa.int32(), pa.string()))]))
    assert table.column("n").to_pylist() == [1, 2, 3]
    assert table.column("s").to_pylist() == [None, "\\N", ""]
    assert table.column("d").to_pylist() == ["a\tb", "\\", "NA"]


def test_stopping_early_or_a_failing_query_leaves_the_connection_usable(db_conn: Conn) -> None:
    query = copy_text(sql.SQL("select i, repeat('x', 100) from generate_series(1, 200000) as i"))
    pieces = copy_pieces(db_conn, query, [], piece_bytes=1000)
    assert next(pieces).startswith(b"1\t")
    pieces.close()  # the COPY is cancelled
    assert db_conn.execute("select 42").fetchone() == (42,)
    failing = copy_text(sql.SQL("select 1 / (i - 5000) from generate_series(1, 10000) as i"))
    with pytest.raises(psycopg.errors.DivisionByZero):
        copy_bytes(db_conn, failing, [])
    assert db_conn.execute("select 43").fetchone() == (43,)
    assert copy_bytes(db_conn, copy_text(sql.SQL("select 1 where false")), []) == b""
    whole = copy_bytes(db_conn, copy_text(sql.SQL("select i from generate_series(1, 3) as i")), [])
    assert whole == b"1\n2\n3\n"


def test_inside_a_transaction_the_copy_sees_its_writes_and_the_transaction_goes_on(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    with db_conn.transaction():
        request_id = add_request(db_conn, scene, START + timedelta(hours=1), model="inside")
        frame = read_requests(db_conn, scene.workspace_id, START, END, ["id", "model"])
        assert frame["id"].tolist() == [request_id] and frame["model"].tolist() == ["inside"]
        assert db_conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        db_conn.execute("select 1")


def test_a_backend_terminated_mid_copy_raises_an_operational_error(db_conn: Conn, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as victim:
        query = copy_text(sql.SQL("select i, repeat('x', 100) from generate_series(1, 2000000) as i"))
        pieces = copy_pieces(victim, query, [], piece_bytes=1000)
        next(pieces)
        db_conn.execute("select pg_terminate_backend(%s, 5000)", (victim.info.backend_pid,))
        with pytest.raises(psycopg.OperationalError):
            for _ in pieces:
                pass
        assert victim.closed or victim.broken
