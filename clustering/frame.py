"""Small vectorised helpers shared by the clustering functions (no row loops)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

NO_PROJECT = -1  # project_id of an unattributed request (store.frames.NO_PROJECT)
OK_BELOW = 400  # a status under this is an answer that cost something


def labels(values: pd.Series) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
    """(code per row, -1 for null; the distinct values in sorted order, so codes order like values).
    A Categorical gives its codes (re-ranked by sorted category) without touching the strings."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = np.asarray(values.cat.categories, dtype=object)
        order = np.argsort(categories.astype(str), kind="stable")
        rank = np.empty(len(categories), dtype=np.int64)
        rank[order] = np.arange(len(categories))
        codes = values.cat.codes.to_numpy(np.int64)
        return np.where(codes >= 0, rank[np.maximum(codes, 0)], -1), categories[order]
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def hash_codes(hashes: pd.Series) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
    """(code per row, -1 for a null hash; the distinct hashes in sorted order). Null hashes get no
    code at all, so they can never be grouped together."""
    return labels(hashes)


def micros(times: pd.Series) -> NDArray[np.int64]:
    """UTC timestamps as integer microseconds since the epoch."""
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return np.asarray(naive.to_numpy(dtype="datetime64[us]").astype(np.int64))


def is_ok(frame: pd.DataFrame) -> NDArray[np.bool_]:
    return np.asarray(frame["status_code"].to_numpy(np.int64) < OK_BELOW)


def prompt_tokens(frame: pd.DataFrame) -> NDArray[np.int64]:
    """The whole prompt: fresh input plus what was read from or written to the cache."""
    return np.asarray(frame["input_tokens"].to_numpy(np.int64) + frame["cache_read_tokens"].to_numpy(np.int64)
                      + frame["cache_write_tokens"].to_numpy(np.int64))


@dataclass(frozen=True)
class Sorted:
    """Rows in the lexicographic order of some keys (first key most significant), kept sorted."""

    order: NDArray[np.intp]
    keys: tuple[NDArray[np.int64], ...]

    @classmethod
    def by(cls, *keys: NDArray[np.int64]) -> Sorted:
        order = np.lexsort(tuple(reversed(keys)))  # np.lexsort sorts by its last key first
        return cls(order, tuple(np.asarray(k)[order] for k in keys))

    def take(self, values: NDArray[Any]) -> NDArray[Any]:
        return np.asarray(values)[self.order]


def group_starts(*sorted_keys: NDArray[np.int64]) -> NDArray[np.intp]:
    """Index of the first row of each run of equal keys in sorted arrays."""
    n = len(sorted_keys[0])
    new = np.zeros(n, dtype=bool)
    if n:
        new[0] = True
    for key in sorted_keys:
        new[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(new)


def modes(segment: NDArray[np.intp], values: NDArray[Any], default: Any, count: int | None = None) -> NDArray[Any]:
    """The most frequent value of each segment 0..count-1 (ties to the smallest value); `default`
    for a segment with no rows."""
    if count is None:
        count = int(segment.max()) + 1 if len(segment) else 0
    out = np.full(count, default, dtype=object)
    if not len(segment):
        return out
    codes, uniques = pd.factorize(pd.Series(values), sort=True)
    cells, sizes = np.unique(segment.astype(np.int64) * len(uniques) + codes, return_counts=True)
    seg, code = cells // len(uniques), cells % len(uniques)
    order = np.lexsort((code, -sizes, seg))  # by segment, then most frequent, then smallest value
    first = order[np.r_[True, seg[order][1:] != seg[order][:-1]]]
    out[seg[first]] = np.asarray(uniques, dtype=object)[code[first]]
    return out


def distinct_lists(segment: NDArray[np.intp], values: NDArray[Any], count: int,
                   names: NDArray[Any] | None = None) -> list[list[Any]]:
    """The sorted distinct values of each segment 0..count-1 (as `names[value]` when given: values
    are codes then, and the lists hold their names, in the codes' order)."""
    codes, uniques = pd.factorize(pd.Series(values), sort=True)
    cells = np.unique(segment.astype(np.int64) * max(len(uniques), 1) + codes)
    seg, code = cells // max(len(uniques), 1), cells % max(len(uniques), 1)
    shown = np.asarray(uniques if names is None else np.asarray(names, dtype=str)[np.asarray(uniques)], dtype=object)
    names = shown[code]
    bounds = np.searchsorted(seg, np.arange(count + 1))
    return [names[bounds[i]:bounds[i + 1]].tolist() for i in range(count)]


def distinct_counts(segment: NDArray[np.intp], values: NDArray[np.int64], count: int,
                    ignore: int | None = None) -> NDArray[np.int64]:
    """How many distinct values each segment 0..count-1 has (leaving out `ignore`)."""
    keep = np.ones(len(values), dtype=bool) if ignore is None else values != ignore
    codes, uniques = pd.factorize(values[keep])
    width = max(len(uniques), 1)
    pairs = pd.unique(segment[keep].astype(np.int64) * width + codes)  # hashing, no sort
    return np.bincount(pairs // width, minlength=count).astype(np.int64)


def segment_sums(values: NDArray[np.int64], starts: NDArray[np.intp], ends: NDArray[np.intp]) -> NDArray[np.int64]:
    """Exact integer sums of values[start:end] for each segment (a prefix sum, so never a float)."""
    prefix = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(values, dtype=np.int64)])
    return np.asarray(prefix[ends] - prefix[starts], dtype=np.int64)
