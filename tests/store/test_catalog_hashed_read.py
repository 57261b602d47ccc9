"""The checks stage reads the clustering stage's hashed requests on a second connection beside the daily
sums only when there are many (SIBLING_ROWS): a small workspace's few are read on the job's own connection,
in turn, with no second connection opened, and they are the very rows a second connection reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from synthetic import SeedOptions, seed_workspace
from tests.factories import Conn
from workers.jobs import checks as checks_stage
from workers.jobs.pipeline import run_pipeline
from workers.jobs.stage import StageContext
from workers.runtime.db import sibling

END = date(2026, 11, 1)
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def test_a_small_hashed_read_stays_on_the_jobs_connection_and_reads_what_a_second_one_reads(
        db_conn: Conn, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = seed_workspace(db_conn, SeedOptions(slug="small", days=30, requests_per_day=40, end_date=END)).workspace_id
    assert run_pipeline(db_conn, ws, AS_OF).status == "succeeded"
    ctx = StageContext(db_conn, ws, AS_OF)

    @contextmanager
    def no_second_connection(conn: Conn) -> Iterator[Conn]:
        raise AssertionError("a small hashed read opened a second connection")
        yield conn

    monkeypatch.setattr(checks_stage, "sibling", no_second_connection)
    reads: dict[str, str] = {}
    in_turn = checks_stage.catalog_inputs(ctx, reads)
    assert len(in_turn.requests) and checks_stage.hashed_rows(in_turn.clusters, in_turn.loops) \
        < checks_stage.SIBLING_ROWS
    assert reads == {"heavy_reads": "primary"}

    opened: list[Conn] = []

    @contextmanager
    def counted(conn: Conn) -> Iterator[Conn]:
        with sibling(conn) as other:
            opened.append(other)
            yield other

    monkeypatch.setattr(checks_stage, "sibling", counted)
    monkeypatch.setattr(checks_stage, "SIBLING_ROWS", 0)
    beside = checks_stage.catalog_inputs(ctx)
    assert len(opened) == 1
    pd.testing.assert_frame_equal(in_turn.requests.sort_values("id", ignore_index=True),
                                  beside.requests.sort_values("id", ignore_index=True))
    pd.testing.assert_frame_equal(in_turn.usage.groups, beside.usage.groups)
