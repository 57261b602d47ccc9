"""Reads and writes of the clustering stage's results (issue 7); its per-day aggregates are in
store/clustering_days.py.

- the repeated hashes' rows, read from meter.requests for clustering (candidate_frames);
- analysis.prompt_clusters, analysis.loop_incidents, analysis.request_shapes: the results. They hold
  the latest window of a workspace only: a run deletes the workspace's rows and writes its own, so
  the dashboard reads `where workspace_id = %s` with no window to choose.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from core.db import Conn
from core.errors import present
from store.bulk import copy_into
from store.clustering_days import planner_setting, without_jit
from store.frames import Chunk, hash_groups, request_frames, to_pandas

CANDIDATE_COLUMNS = ("id", "prompt_hash", "started_at", "device_id", "project_id", "model", "provider",
                     "status_code", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens",
                     "cost_nanos")



def candidate_frames(conn: Conn, workspace_id: int, start: datetime, end: datetime, as_of: datetime,
                     prefix_batches: Sequence[Sequence[str]], *, scan: bool = False,
                     group_rows: int = 100_000) -> Iterator[pd.DataFrame]:
    """Every request in [start, end) synced by as_of whose prompt_hash starts with one of a batch's
    16-digit prefixes, in frames that each hold every row of their hashes. By the index: a frame per
    batch, each prefix a range scan of the prompt_hash index (the batches are sized by their rows). With
    `scan`: one pass over the window's rows per batch, in prompt_hash order, cut into frames of about
    `group_rows` rows of whole hashes (store.frames.hash_groups), so memory does not grow with the batch."""
    batches = [tuple(batch) for batch in prefix_batches if batch]
    if not batches:
        return
    # A scan's planner estimate is that `= any(<100,000 prefixes>)` keeps nearly every row, so passing
    # them through a Gather looks dear and it scans on one core; they are a small share (at most
    # HALTON_CLUSTER_SCAN_ROWS), so tell it rows are cheap to pass: 2 cores scan (1 s less of 5.5 s).
    cheap_rows = planner_setting(conn, "parallel_tuple_cost", "0.001") if scan else nullcontext()
    with without_jit(conn), cheap_rows:
        if not scan:
            chunks = [Chunk(start, end, prompt_prefixes=batch) for batch in batches]
            yield from request_frames(conn, workspace_id, start, end, CANDIDATE_COLUMNS, chunks=chunks,
                                      synced_by=as_of, hashed_only=True)
            return
        for batch in batches:
            for table in hash_groups(conn, workspace_id, Chunk(start, end, prompt_heads=batch), CANDIDATE_COLUMNS,
                                     group_rows=group_rows, synced_by=as_of):
                frame = to_pandas(table)
                del table  # not held while the caller works on the frame
                yield frame


_CLUSTER_FIELDS = ("prompt_hash", "requests", "devices", "projects", "first_at", "last_at", "cost_nanos",
                   "duplicate_requests", "avoidable_nanos", "kinds", "project_id", "model", "provider", "models",
                   "median_prompt_tokens", "median_output_tokens", "median_gap_seconds", "cacheable_requests",
                   "cacheable_prompt_tokens", "cacheable_requests_1h", "cacheable_prompt_tokens_1h", "loop_incidents")
_INCIDENT_FIELDS = ("prompt_hash", "device_id", "project_id", "model", "started_at", "ended_at", "requests",
                    "cost_nanos", "peak_per_minute")


def replace_results(conn: Conn, workspace_id: int, window_end: datetime, run_id: int, clusters: pd.DataFrame,
                    incidents: pd.DataFrame, shapes: Sequence[tuple[Any, ...]], seed: int) -> dict[str, int]:
    """Replace the workspace's clusters, incidents and shapes (clustering.shapes.shape_rows). Call inside the
    results transaction."""
    # one statement: a round trip and a statement's fixed cost each, where a small workspace's writes are few
    conn.execute("""with clusters as (delete from analysis.prompt_clusters where workspace_id = %(ws)s),
                         incidents as (delete from analysis.loop_incidents where workspace_id = %(ws)s)
                    delete from analysis.request_shapes where workspace_id = %(ws)s""", {"ws": workspace_id})
    fixed = {"workspace_id": workspace_id, "window_end": window_end, "run_id": run_id}
    _copy_rows(conn, "prompt_clusters", _CLUSTER_FIELDS, clusters, fixed)
    _copy_rows(conn, "loop_incidents", _INCIDENT_FIELDS, incidents, fixed)
    _insert_shapes(conn, workspace_id, window_end, run_id, seed, shapes)
    return {"clusters": len(clusters), "loop_incidents": len(incidents), "request_shapes": len(shapes)}


def _insert_shapes(conn: Conn, workspace_id: int, window_end: datetime, run_id: int, seed: int,
                   shapes: Sequence[tuple[Any, ...]]) -> None:
    """The shapes in one INSERT of one JSON array (json.dumps is C; psycopg adapts a list element by element in
    Python): a few per project, where a COPY through store.bulk's staging table is six round trips. As
    _column writes them (_project_ids, _names): the unattributed traffic's project null, an empty model or
    provider null; a share is the text of its float, as a COPY sends it. jsonb, not json: json's ->> parses the
    element's text again for each of the 15 fields (0.86 against 0.32 ms of the server's for a small
    workspace's 22 shapes); the values are the same (a number's text in jsonb is its numeric's, equal once
    cast)."""
    if not shapes:
        return
    projects = _project_ids(shape[0] for shape in shapes)
    models, providers = _names(shape[2] for shape in shapes), _names(shape[3] for shape in shapes)
    rows = [(project, number, model, provider, *rest)
            for project, model, provider, (_, number, _, _, *rest) in zip(projects, models, providers, shapes,
                                                                           strict=True)]
    conn.execute(
        """insert into analysis.request_shapes (workspace_id, window_end, run_id, seed, project_id, shape, model,
                                                provider, prompt_band, output_band, time_profile, label, requests,
                                                cost_nanos, request_share, cost_share, typical_prompt_tokens,
                                                typical_output_tokens, hours)
           select %s, %s, %s, %s, (s->>0)::bigint, (s->>1)::smallint, s->>2, s->>3, s->>4, s->>5, s->>6, s->>7,
                  (s->>8)::bigint, (s->>9)::bigint, (s->>10)::numeric(5, 4), (s->>11)::numeric(5, 4),
                  (s->>12)::bigint, (s->>13)::bigint,
                  array(select hour::bigint from jsonb_array_elements_text(s->14) with ordinality as h(hour, n)
                        order by n)
           from jsonb_array_elements(%s::jsonb) as s""",
        (workspace_id, window_end, run_id, seed, json.dumps(rows)))


def _copy_rows(conn: Conn, table: str, fields: tuple[str, ...], frame: pd.DataFrame, fixed: dict[str, Any]) -> None:
    """COPY the result rows, each column converted whole: a conversion per cell cost seconds for the
    100,000 clusters of a large workspace (22 fields each)."""
    if frame.empty:  # nothing to send: no COPY round trip
        return
    columns = [*fixed, *fields]
    values = [repeat(v, len(frame)) for v in fixed.values()] + [_column(name, frame[name]) for name in fields]
    with copy_into(conn, table, columns) as copy:
        for row in zip(*values, strict=True):
            copy.write_row(row)


def _column(name: str, column: pd.Series) -> list[Any]:
    """A frame column as the table wants it: no project is null, no model is null, lists stay lists,
    numpy scalars become plain Python values."""
    if name == "project_id":
        return _project_ids(column.astype(np.int64).tolist())
    if name in ("model", "provider"):
        return _names(column.tolist())
    if pd.api.types.is_datetime64_any_dtype(column):
        return [t.to_pydatetime() for t in column]
    if column.dtype == object:
        return [_plain(v) for v in column.tolist()]
    return column.tolist()


def _project_ids(values: Iterable[int]) -> list[int | None]:
    """No project (a negative id: the unattributed traffic) is null."""
    return [None if v < 0 else v for v in values]


def _names(values: Iterable[str]) -> list[str | None]:
    """An empty model or provider is null."""
    return [v or None for v in values]


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple | np.ndarray):
        return [v.item() if isinstance(v, np.generic) else v for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


# -- reads for people (CLI, demo) --------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterLine:
    prompt_hash: str
    requests: int
    devices: int
    duplicate_requests: int
    cost_nanos: int
    avoidable_nanos: int
    kinds: list[str]
    model: str | None


@dataclass(frozen=True)
class IncidentLine:
    prompt_hash: str
    device: str
    project: str | None
    started_at: datetime
    ended_at: datetime
    requests: int
    cost_nanos: int
    peak_per_minute: int


def top_clusters(conn: Conn, workspace_id: int, limit: int = 10) -> list[ClusterLine]:
    rows = conn.execute(
        """select prompt_hash, requests, devices, duplicate_requests, cost_nanos, avoidable_nanos, kinds, model
           from analysis.prompt_clusters where workspace_id = %s
           order by avoidable_nanos desc, cost_nanos desc, prompt_hash limit %s""", (workspace_id, limit)).fetchall()
    return [ClusterLine(*row) for row in rows]


def top_incidents(conn: Conn, workspace_id: int, limit: int = 10) -> list[IncidentLine]:
    rows = conn.execute(
        """select i.prompt_hash, coalesce(d.name, i.device_id::text), p.slug, i.started_at, i.ended_at, i.requests,
                  i.cost_nanos, i.peak_per_minute
           from analysis.loop_incidents i
           left join meter.devices d on d.id = i.device_id and d.workspace_id = i.workspace_id
           left join meter.projects p on p.id = i.project_id and p.workspace_id = i.workspace_id
           where i.workspace_id = %s order by i.cost_nanos desc, i.started_at limit %s""",
        (workspace_id, limit)).fetchall()
    return [IncidentLine(*row) for row in rows]


def cluster_summary(conn: Conn, workspace_id: int) -> tuple[int, int, int, datetime | None]:
    """(clusters, avoidable nanos, duplicate requests, window_end) of the workspace's latest run."""
    row = conn.execute(
        """select count(*), coalesce(sum(avoidable_nanos), 0), coalesce(sum(duplicate_requests), 0), max(window_end)
           from analysis.prompt_clusters where workspace_id = %s""", (workspace_id,)).fetchone()
    row = present(row, "the clusters' totals row")
    return int(row[0]), int(row[1]), int(row[2]), row[3]
