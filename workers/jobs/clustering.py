"""Stage 2: prompt clusters, loop incidents and request shapes (issue 7): read via store → pure clustering →
write via store.

Window: [as_of − 30 days, as_of) for clusters and incidents; the request shapes cover the 30 complete
UTC days before as_of's day (the rollup's days), since they are fitted on per-day cells.

Incremental: the per-day key arrays and shape cells (store/clustering_days.py) are rebuilt only for the
days that are new or received late rows (store.incremental.days_to_recompute), in their
own transaction: they are a cache of meter, consistent with analysis.clustering_state. The window's
repeated hashes come from those arrays, part by part (first hex digit), and only the rows of repeated
hashes are fetched again: by prefix ranges on the prompt_hash index a batch at a time, or, when they
are more than HALTON_CLUSTER_INDEX_SHARE of the window, by one scan per group of parts, in prompt_hash
order. Either way they are clustered HALTON_CLUSTER_CHUNK_ROWS rows of whole hashes at a time (a hash needs
only its own rows) and only the results are kept: the rows held at once do not grow with the workspace
(what does: the results, a row per repeated hash, and one part's distinct keys, a sixteenth of the window's).
An as_of older than the state's is left alone unless it is a replay (a queued nightly run must not
rewind what a later refresh wrote): the pipeline's rule, with the state's moment as the moment the results are
current to, decided in the run on the state it reads once (Stage.decides_current_in_run).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from clustering import ClusterRules, LoopRules, cluster_requests
from clustering.keys import PARTS, hash_prefixes, parts_of_days, repeated_by_part
from clustering.loops import empty_incidents
from clustering.prompts import empty_clusters
from clustering.shapes import shape_rows
from core.db import Conn
from pricing import RateTable, load_rates
from store import clustering as store
from store import clustering_days as days_store
from store import rollup as rollup_store
from store.incremental import DayWindow, days_to_recompute
from store.runs import Run
from workers.jobs.stage import ALREADY_CURRENT, Stage, StageContext, already_current, trailing_window
from workers.runtime.replica import heavy_reader
from workers.settings import ClusteringSettings, clustering_settings


def aggregate_days(as_of: datetime) -> tuple[date, date]:
    """[first, end) of the UTC days the window touches (its first and its last day are partial)."""
    start, end = trailing_window(as_of)
    return start.astimezone(UTC).date(), end.astimezone(UTC).date() + timedelta(days=1)


def run_clustering(ctx: StageContext, run: Run) -> None:
    settings = clustering_settings()
    conn, ws, as_of = ctx.conn, ctx.workspace_id, ctx.as_of
    start, end = trailing_window(as_of)
    state, timezone = days_store.load_state_and_timezone(conn, ws)
    # the pipeline's rule (Stage.decides_current_in_run), on the state read here once, after the lock: results
    # current to a later moment stay, unless this is a replay (a queued nightly run must not rewind them)
    if state is not None and already_current(state.synced_through, ctx):
        with run.results():
            run.stats[ALREADY_CURRENT] = state.synced_through.isoformat()
        return
    # from here an older as_of than the state's is a replay
    first_day, end_day = aggregate_days(as_of)
    rules = ClusterRules(loops=LoopRules(settings.loop_max_gap_seconds, settings.loop_min_requests,
                                         settings.loop_min_duration_seconds))
    # the COPY readers of meter.requests: on the replica when it is current (workers/runtime/replica.py)
    with heavy_reader(conn, ws, ctx.read_lsn) as (reader, source):
        run.stats["heavy_reads"] = source
        aggregates, (hashed, unhashed), shapes = refresh_aggregates(conn, ws, first_day, end_day, as_of, run.id,
                                                                    state, timezone, reader=reader,
                                                                    shape_seed=settings.shape_seed)
        run.stats.update(aggregates)
        clusters, incidents, looked_at = find_clusters(conn, ws, start, end, as_of, rules, settings, load_rates(),
                                                       reader=reader, hashed=hashed)
    with run.results() as tx:
        run.stats.update(store.replace_results(tx, ws, end, run.id, clusters, incidents, shapes,
                                               settings.shape_seed))
        run.stats.update({"repeated_hash_requests": looked_at, "hashed_requests_in_days": hashed,
                          "null_hash_requests_in_days": unhashed,
                          "avoidable_nanos": int(clusters["avoidable_nanos"].sum()) if len(clusters) else 0})


def refresh_aggregates(conn: Conn, ws: int, first_day: date, end_day: date, as_of: datetime, run_id: int,
                       state: days_store.ClusteringState | None, timezone: str, *, reader: Conn | None = None,
                       shape_seed: int = 0) -> tuple[dict[str, Any], tuple[int, int], list[tuple[Any, ...]]]:
    """Rebuild the per-day key arrays and shape cells of the days that need it, in one transaction; the day
    keys are read from meter.requests on `reader` (default `conn`). Returns the stats, the stored days'
    (hashed, unhashed) requests (nothing after writes them before the results, so they are read once, here) and
    the request shapes of the 30 complete days before as_of's day (shape_rows with `shape_seed`): their cells are
    read at the end of the same transaction, which turns sorts off for that read in its state's statement (no
    statements of its own to turn them off and back on), and fitted after it commits."""
    window = DayWindow(first_day=first_day, end_day=end_day)
    if state is not None and as_of < state.synced_through:
        state = None  # a replay of an earlier moment rebuilds every day as of then
    changed, full = days_to_recompute(conn, ws, window, as_of, None if state is None else state.as_tuple())
    # the day keys read on `conn`: JIT off for them by the transaction's first statement, and back on by the
    # shape cells' (no statement of their own to set it and put it back)
    own_reader = reader is None or reader is conn
    with conn.transaction():
        # a cache: lost in a crash with its state row, rebuilt by the next refresh (no WAL flush waited for)
        jit = days_store.forget_days(conn, ws, first_day, end_day, changed, jit_off=own_reader)
        keys_read = write_day_keys(conn, ws, changed, as_of, reader=reader, jit_off=own_reader)
        cells = days_store.rebuild_shape_days(conn, ws, timezone, changed, as_of, jit=jit)
        totals = days_store.save_state(conn, ws, first_day, end_day, as_of, run_id, sort_off=True)
        shape_days = DayWindow.ending_before(as_of)
        grid = days_store.read_shape_cells(conn, ws, shape_days.first_day, shape_days.end_day, sort_off=True)
    return {"days_rebuilt": len(changed), "full_rebuild": full, "rows_read_for_days": keys_read,
            "shape_cells_written": cells}, totals, shape_rows(grid, seed=shape_seed)


def write_day_keys(conn: Conn, ws: int, days: list[date], as_of: datetime, *, reader: Conn | None = None,
                   jit_off: bool = False) -> int:
    """Write the days' key parts (read from meter.requests on `reader`, default `conn`) a batch of days at a
    time; the requests read. `jit_off`: JIT is off on the reader already (day_prompt_key_batches)."""
    keys_read = 0
    # batches sized by the rollup's counts of the days (the stage runs after it; without them a day at a time)
    counted = rollup_store.day_requests(conn, ws, days, as_of)
    for batch in days_store.day_prompt_key_batches(conn if reader is None else reader, ws, days, as_of, counted,
                                                   jit_off=jit_off):
        days_store.write_key_days(conn, ws, batch.days, parts_of_days(batch.day, batch.keys), batch.unhashed)
        keys_read += batch.requests
    return keys_read


def find_clusters(conn: Conn, ws: int, start: datetime, end: datetime, as_of: datetime, rules: ClusterRules,
                  settings: ClusteringSettings, rates: RateTable, *,
                  reader: Conn | None = None, hashed: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Clusters and incidents of the window, a group of whole repeated hashes at a time (at most about
    `chunk_rows` rows each; their rows read from meter.requests on `reader`, default `conn`): a hash's
    clusters and incidents need only its own rows, so each group is clustered alone and only its results
    are kept. `hashed`: the stored days' hashed requests (days_store.day_totals), when the caller read them."""
    first_day, end_day = aggregate_days(as_of)
    if hashed is None:
        hashed, _ = days_store.day_totals(conn, ws, first_day, end_day)
    parts = [repeated for group in part_groups(hashed)
             for repeated in repeated_by_part(*days_store.read_key_parts(conn, ws, first_day, end_day, group), group)]
    scan = sum(int(counts.sum()) for _, counts in parts) > settings.index_share * hashed
    clusters, incidents, looked_at = [], [], 0
    batches = fetch_batches(parts, settings, scan)
    for frame in store.candidate_frames(conn if reader is None else reader, ws, start, end, as_of, batches, scan=scan,
                                        group_rows=settings.chunk_rows):
        models = frame["model"].astype(str).unique().tolist()
        result = cluster_requests(frame, ClusterRules(rules.loops, rules.cache_lifetimes,
                                                      rules.extended_cache_lifetimes, cache_minimums(rates, models)))
        del frame  # the group's rows go before the next group's come
        clusters.append(result.clusters)
        incidents.append(result.incidents)
        looked_at += result.requests
    return (_joined(clusters, empty_clusters, ["prompt_hash"]),
            _joined(incidents, empty_incidents, ["prompt_hash", "device_id", "started_at"]), looked_at)


# Up to this many hashed requests, the 16 parts' key arrays are read in one query (a small workspace's
# fixed cost); above it a part at a time, so only one part's raw arrays are in memory at once.
ONE_READ_KEYS = 2_000_000


def part_groups(hashed: int) -> list[list[int]]:
    """The key parts to read together, in part order."""
    return [list(range(PARTS))] if hashed <= ONE_READ_KEYS else [[part] for part in range(PARTS)]


def fetch_batches(parts: list[tuple[NDArray[np.int64], NDArray[np.int64]]], settings: ClusteringSettings,
                  scan: bool) -> list[list[str]]:
    """Prefixes to fetch per query, from each part's repeated keys and their requests. By index: at most
    `fetch_batch` hashes and about `chunk_rows` rows at a time (a batch is one frame; a key with more rows
    is a batch alone). By scan (the repeated hashes cover much of the window, so probing the index per
    hash would cost more than reading the window once): whole parts together, as long as their rows stay
    under `scan_rows` (what one sorted scan returns; it reaches memory `chunk_rows` at a time)."""
    if not scan:
        return _index_batches(parts, settings)
    batches: list[list[str]] = [[]]
    rows_in_batch = 0
    for keys, counts in parts:
        rows = int(counts.sum())
        if batches[-1] and rows_in_batch + rows > settings.scan_rows:
            batches.append([])
            rows_in_batch = 0
        batches[-1].extend(hash_prefixes(keys))
        rows_in_batch += rows
    return batches


def _index_batches(parts: list[tuple[NDArray[np.int64], NDArray[np.int64]]],
                   settings: ClusteringSettings) -> list[list[str]]:
    keys = np.concatenate([k for k, _ in parts]) if parts else np.array([], dtype=np.int64)
    counts = np.concatenate([c for _, c in parts]) if parts else np.array([], dtype=np.int64)
    batches, first = [], 0
    for end in _cuts(counts, settings.chunk_rows, settings.fetch_batch):
        batches.append(hash_prefixes(keys[first:end]))
        first = end
    return batches


def _cuts(counts: NDArray[np.int64], max_rows: int, max_keys: int) -> list[int]:
    """Ends of consecutive runs of keys of at most `max_rows` requests and `max_keys` keys each (a key
    with more requests makes a run alone)."""
    ends: list[int] = []
    first, rows = 0, 0
    for i, count in enumerate(counts.tolist()):
        if i > first and (rows + count > max_rows or i - first >= max_keys):
            ends.append(i)
            first, rows = i, 0
        rows += count
    if len(counts):
        ends.append(len(counts))
    return ends


def cache_minimums(rates: RateTable, models: list[str]) -> dict[str, int]:
    """Minimum cacheable prompt per model as logged (aliases resolved); a model without one has no cache."""
    minimums = {}
    for model in models:
        info = rates.model_info(model)
        if info is not None and info.min_cacheable_tokens:
            minimums[model] = int(info.min_cacheable_tokens)
    return minimums


def _joined(frames: list[pd.DataFrame], empty: Callable[[], pd.DataFrame], order: list[str]) -> pd.DataFrame:
    """The batches' rows as one frame in a fixed order, so a rerun writes the same rows."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty()
    return pd.concat(frames, ignore_index=True).sort_values(order, kind="stable").reset_index(drop=True)


# The stage decides whether its results are already current from the state it reads anyway (with the workspace's
# time zone), where the pipeline's check (Stage.current_to) read the same row again first: a round trip less.
STAGE = Stage(name="clustering", needs=("rollup",), run=run_clustering, decides_current_in_run=True)
