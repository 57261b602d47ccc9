"""Loop incidents: bursts of one prompt_hash from one device, found by gap segmentation after a sort.

Why gap segmentation rather than a density clustering (DBSCAN) of timestamps: on one dimension,
DBSCAN with `eps` = the maximum gap and `min_samples` = 1 *is* "sort, cut where the gap exceeds eps",
and the sort plus one vectorised comparison is O(n log n) with no per-point neighbourhood queries,
so the whole window's repeated rows segment in one pass of numpy.

A burst is a loop when it is long enough not to be a retry (see LoopRules); a retry of a failed
request (a 429, a 5xx, tried again a few times in a minute) is not.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from clustering.frame import NO_PROJECT, Sorted, hash_codes, is_ok, labels, micros, modes, segment_sums

MICROS_PER_SECOND = 1_000_000
MICROS_PER_MINUTE = 60 * MICROS_PER_SECOND

INCIDENT_COLUMNS = ("prompt_hash", "device_id", "project_id", "model", "started_at", "ended_at", "requests",
                    "cost_nanos", "peak_per_minute")


@dataclass(frozen=True)
class LoopRules:
    """When a burst of the same prompt from one device is a loop. The defaults, and why:

    - max_gap_seconds 120: an agent stuck in a loop re-sends as soon as the previous answer is back;
      even a 200k-token prompt answers within a minute or two. Wider gaps are people or schedules.
    - min_requests 20 successful answers: SDK retry policies try 2 to 10 times, and only successful
      answers cost anything (a 429 storm is a rate-limit problem, not a spend problem).
    - min_duration_seconds 60: twenty identical requests within a minute are a parallel fan-out
      (n samples of one prompt), a deliberate choice rather than an accident.
    """

    max_gap_seconds: float = 120.0
    min_requests: int = 20
    min_duration_seconds: float = 60.0


def empty_incidents() -> pd.DataFrame:
    """A frame of no incident (a copy: building one column by column costs most of a millisecond)."""
    return _empty_incidents().copy()


@functools.cache
def _empty_incidents() -> pd.DataFrame:
    return pd.DataFrame({
        "prompt_hash": pd.Series([], dtype=object), "device_id": pd.Series([], dtype=np.int64),
        "project_id": pd.Series([], dtype=np.int64), "model": pd.Series([], dtype=object),
        "started_at": pd.Series([], dtype="datetime64[us, UTC]"),
        "ended_at": pd.Series([], dtype="datetime64[us, UTC]"),
        "requests": pd.Series([], dtype=np.int64), "cost_nanos": pd.Series([], dtype=np.int64),
        "peak_per_minute": pd.Series([], dtype=np.int64),
    })


def find_loop_incidents(frame: pd.DataFrame, rules: LoopRules) -> pd.DataFrame:
    """One row per loop incident (INCIDENT_COLUMNS; project_id NO_PROJECT when unattributed), ordered
    by hash, device and start. `frame` needs prompt_hash, started_at, device_id, project_id, model,
    status_code and cost_nanos; rows with a null prompt_hash are ignored."""
    codes, hashes = hash_codes(frame["prompt_hash"])
    hashed = codes >= 0
    if not hashed.any():
        return empty_incidents()
    device = frame["device_id"].to_numpy(np.int64)[hashed]
    rows = Sorted.by(codes[hashed], device, micros(frame["started_at"])[hashed])
    g, dev, t = rows.keys
    max_gap = int(rules.max_gap_seconds * MICROS_PER_SECOND)
    new = np.ones(len(t), dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (dev[1:] != dev[:-1]) | (t[1:] - t[:-1] > max_gap)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(t))
    ok = rows.take(is_ok(frame)[hashed])
    ok_count = np.add.reduceat(ok.astype(np.int64), starts)
    duration = t[ends - 1] - t[starts]
    loop = (ok_count >= rules.min_requests) & (duration >= int(rules.min_duration_seconds * MICROS_PER_SECOND))
    if not loop.any():
        return empty_incidents()
    segment = np.cumsum(new) - 1
    member = loop[segment]
    starts, ends = starts[loop], ends[loop]
    cost = rows.take(frame["cost_nanos"].to_numpy(np.int64)[hashed])
    seg = np.cumsum(new[member]) - 1  # 0..incidents-1 over the member rows
    return pd.DataFrame({
        "prompt_hash": hashes[g[starts]],
        "device_id": dev[starts],
        "project_id": modes(seg, rows.take(frame["project_id"].to_numpy(np.int64)[hashed])[member], NO_PROJECT),
        "model": _model_names(frame, hashed, rows, member, seg),
        "started_at": pd.to_datetime(t[starts], unit="us", utc=True),
        "ended_at": pd.to_datetime(t[ends - 1], unit="us", utc=True),
        "requests": ends - starts,
        "cost_nanos": segment_sums(cost, starts, ends),
        "peak_per_minute": _peak_per_minute(t[member], seg, t[starts]),
    })


def _model_names(frame: pd.DataFrame, hashed: NDArray[np.bool_], rows: Sorted, member: NDArray[np.bool_],
                 seg: NDArray[np.intp]) -> NDArray[np.object_]:
    """The model most of each incident's requests used (by code: no string per row)."""
    codes, names = labels(frame["model"].astype("category"))
    top = modes(seg, rows.take(codes[hashed])[member], -1).astype(np.int64)
    return np.where(top >= 0, np.asarray(names, dtype=object)[np.maximum(top, 0)], "")


def _peak_per_minute(t: NDArray[np.int64], seg: NDArray[np.intp], first: NDArray[np.int64]) -> NDArray[np.int64]:
    """The most requests in one minute of each incident, minutes counted from its first request
    (the way the seed reports its planted loop)."""
    minute = (t - first[seg]) // MICROS_PER_MINUTE
    span = int(minute.max()) + 1
    cells, counts = np.unique(seg.astype(np.int64) * span + minute, return_counts=True)
    peak = np.zeros(len(first), dtype=np.int64)
    np.maximum.at(peak, cells // span, counts)
    return peak
