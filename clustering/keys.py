"""Per-day prompt-key counts: what keeps the nightly clustering incremental and bounded.

A prompt key is the first 16 hex digits of prompt_hash as a signed 64-bit integer, as store.frames
reads it (store.frames also uses 0 for "no hash"; a digest starting with 16 zeros, one in 2^64, shares
it). A day of a workspace is summarised as its distinct keys and their counts, cut into 16 parts by
the key's first hex digit (= the hash's first character), stored as raw arrays.
The window's repeated hashes are then found part by part from the stored days alone: memory holds one
sixteenth of the window's distinct keys at a time, and no raw row of an unchanged day is read again.

Why raw little-endian arrays rather than one SQL row per (day, hash): a workspace's hashes are mostly
seen once, so a row per hash is nearly a row per request; writing and grouping ten million narrow rows
costs more than the clustering itself, while numpy reads and merges the arrays at memory speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

PARTS = 16


def part_of(keys: NDArray[np.int64]) -> NDArray[np.int64]:
    """The first hex digit of each key's hash."""
    return (keys.view(np.uint64) >> np.uint64(60)).astype(np.int64)


def keys_from_heads(heads: bytes) -> NDArray[np.int64]:
    """Prompt keys from the hashes' first 16 hex digits laid end to end (what the store reads per day).
    numpy over the whole day at once: a Python int() per hash would cost more than reading them."""
    digits = _HEX_VALUE[np.frombuffer(heads, dtype=np.uint8)]
    if len(heads) % 16 or (digits == _NOT_HEX).any():
        raise ValueError("a prompt_hash does not start with 16 lowercase hex digits")
    pairs = digits.reshape(-1, 16)
    octets = np.ascontiguousarray((pairs[:, 0::2] << 4) | pairs[:, 1::2])
    return octets.view(">u8").ravel().astype(np.uint64).view(np.int64)


_NOT_HEX = 255
_HEX_VALUE = np.full(256, _NOT_HEX, dtype=np.uint8)
for _value, _digit in enumerate("0123456789abcdef"):
    _HEX_VALUE[ord(_digit)] = _value  # lowercase only: the fetch matches the lowercase prefixes hash_prefixes gives


@dataclass(frozen=True)
class DayParts:
    """The distinct keys of several days with their requests, sorted by day, part and key (as int64: within a
    part, the sign bit is the part's), in runs of one (day, part) with keys: what analysis.prompt_key_days
    stores, a row per run."""

    keys: NDArray[np.int64]
    counts: NDArray[np.int32]
    day: NDArray[np.int64]  # per run: the day's index
    part: NDArray[np.int64]  # per run
    bounds: NDArray[np.intp]  # per run its first key, then the end of the last run

    @property
    def runs(self) -> int:
        return len(self.day)

    def run_requests(self) -> list[int]:
        """The requests of each run's keys."""
        sums: list[int] = np.add.reduceat(self.counts.astype(np.int64), self.bounds[:-1]).tolist() \
            if self.runs else []
        return sums


def parts_of_days(day: NDArray[np.int64], keys: NDArray[np.int64]) -> DayParts:
    """Key runs of several days (`day`: each key's day index, non-decreasing) in one pass over them all: a
    small workspace's month is a few hundred keys, where a numpy call per day and part cost more than the
    keys; a large one's batch is one day, sorted once."""
    # sorted as uint64, keys are sorted by part (the top four bits), then as int64 within a part
    unsigned = keys.view(np.uint64)
    day_ends = np.searchsorted(day, np.arange(int(day[-1]) + 1), side="right") if len(day) else np.zeros(0, np.intp)
    ordered = np.concatenate([np.sort(unsigned[first:end]) for first, end in
                              zip(np.r_[0, day_ends[:-1]].tolist(), day_ends.tolist(), strict=True)]) \
        if len(day) else unsigned
    new = np.ones(len(ordered), dtype=bool)
    new[1:] = (ordered[1:] != ordered[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(new)
    unique, unique_day = ordered[starts], day[starts]
    counts = np.diff(np.append(starts, len(ordered))).astype(np.int32)
    part = (unique >> np.uint64(60)).astype(np.int64)
    run = np.ones(len(unique), dtype=bool)
    run[1:] = (part[1:] != part[:-1]) | (unique_day[1:] != unique_day[:-1])
    run_starts = np.flatnonzero(run)
    return DayParts(unique.view(np.int64), counts, unique_day[run_starts], part[run_starts],
                    np.append(run_starts, len(unique)))


def repeated_of(keys: NDArray[np.int64], counts: NDArray[np.int32] | NDArray[np.int64]) -> tuple[NDArray[np.int64],
                                                                                                  NDArray[np.int64]]:
    """Keys seen more than once over several days' distinct keys and their counts laid end to end (one
    part), sorted, and the requests of each."""
    unique, inverse = np.unique(keys, return_inverse=True)
    totals = np.bincount(inverse, weights=counts.astype(np.int64), minlength=len(unique)).astype(np.int64)
    repeated = totals > 1
    return np.asarray(unique[repeated], dtype=np.int64), np.asarray(totals[repeated], dtype=np.int64)


def repeated_by_part(keys: NDArray[np.int64], counts: NDArray[np.int32] | NDArray[np.int64],
                     parts: Sequence[int]) -> list[tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """repeated_of each of `parts` (in that order; a part without repeats has empty arrays), from the keys
    and counts of those parts' days laid end to end: one pass over all of them, as a small workspace's keys
    are a few hundred in all (a key is in one part only, so repeats never cross parts)."""
    repeated, totals = repeated_of(keys, counts)
    # sorted as int64 the parts run 8..15 then 0..7; as uint64, 0..15: each part a run of its sorted keys
    order = np.argsort(repeated.view(np.uint64), kind="stable")
    repeated, totals = repeated[order], totals[order]
    bounds = np.searchsorted(part_of(repeated), np.arange(PARTS + 1))
    return [(repeated[bounds[part]:bounds[part + 1]], totals[bounds[part]:bounds[part + 1]]) for part in parts]


def hash_prefixes(keys: NDArray[np.int64]) -> list[str]:
    """The 16 hex digits each key stands for: the prefix of prompt_hash to fetch its rows by."""
    return [format(int(k), "016x") for k in keys.view(np.uint64)]
