"""Per-day prompt-key arrays: parts, counts, repeats across days and the prefixes they stand for."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from clustering.keys import (
    PARTS,
    DayParts,
    hash_prefixes,
    keys_from_heads,
    part_of,
    parts_of_days,
    repeated_by_part,
    repeated_of,
)
from workers.jobs.clustering import fetch_batches
from workers.settings import ClusteringSettings


def key_of(prompt_hash: str) -> int:
    """What store.frames computes in SQL: the first 16 hex digits as a signed 64-bit integer."""
    return int.from_bytes(bytes.fromhex(prompt_hash[:16]), "big", signed=True)


HASHES = ["f" * 64, "0123456789abcdef" + "0" * 48, "8" + "1" * 63, "a" * 64]


def one_day(keys: list[int]) -> DayParts:
    """A day's prompt keys (one per hashed request) as parts_of_days cuts them."""
    return parts_of_days(np.zeros(len(keys), dtype=np.int64), np.array(keys, dtype=np.int64))


def run_of(runs: DayParts, day: int, part: int) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """The keys and counts of the run of (day, part), empty arrays when it has no keys."""
    for run in range(runs.runs):
        if runs.day[run] == day and runs.part[run] == part:
            return runs.keys[runs.bounds[run]:runs.bounds[run + 1]], runs.counts[runs.bounds[run]:runs.bounds[run + 1]]
    return np.array([], dtype=np.int64), np.array([], dtype=np.int32)


def test_a_key_gives_back_its_hash_prefix_and_part() -> None:
    keys = np.array([key_of(h) for h in HASHES], dtype=np.int64)
    assert hash_prefixes(keys) == [h[:16] for h in HASHES]
    assert part_of(keys).tolist() == [int(h[0], 16) for h in HASHES]


def test_a_day_is_cut_into_parts_by_first_hex_digit_with_counts() -> None:
    runs = one_day([key_of(HASHES[0])] * 3 + [key_of(HASHES[1]), key_of(HASHES[3])])
    assert runs.part.tolist() == [0, 10, 15] and runs.day.tolist() == [0, 0, 0]  # only parts with keys
    assert run_of(runs, 0, 15)[0].tolist() == [key_of(HASHES[0])] and run_of(runs, 0, 15)[1].tolist() == [3]
    assert run_of(runs, 0, 0)[1].tolist() == [1] and run_of(runs, 0, 10)[1].tolist() == [1]


def test_keys_read_from_hash_heads_equal_the_sql_key() -> None:
    heads = "".join(h[:16] for h in HASHES)
    assert keys_from_heads(heads.encode()).tolist() == [key_of(h) for h in HASHES]
    assert keys_from_heads(b"").tolist() == []


# uppercase too: the rows are fetched by their lowercase prefix, so an uppercase digest would be
# counted here and never found there
@pytest.mark.parametrize("heads", [b"0123456789abcdeg", b"0123456789abcde", b"0123456789abcdef 123456789abcdef",
                                   b"0123456789ABCDEF"])
def test_heads_that_are_not_lowercase_hex_digits_are_refused(heads: bytes) -> None:
    with pytest.raises(ValueError, match="16 lowercase hex digits"):
        keys_from_heads(heads)


def test_repeats_are_counted_across_days() -> None:
    day_one = one_day([key_of(HASHES[3]), key_of("a" + "b" * 63)])
    day_two = one_day([key_of(HASHES[3])])
    stored = [run_of(day_one, 0, 10), run_of(day_two, 0, 10)]
    [(keys, counts)] = repeated_by_part(np.concatenate([k for k, _ in stored]), np.concatenate([c for _, c in stored]),
                                        [10])
    assert keys.tolist() == [key_of(HASHES[3])] and int(counts.sum()) == 2
    nothing = np.array([], dtype=np.int64)
    assert [(k.tolist(), c.tolist()) for k, c in repeated_by_part(nothing, nothing, [10])] == [([], [])]


def test_fetch_batches_by_index_or_by_scan() -> None:
    parts = [(np.array([key_of(h)], dtype=np.int64), np.array([5], dtype=np.int64)) for h in HASHES]
    settings = ClusteringSettings(fetch_batch=3, scan_rows=10)
    assert [len(b) for b in fetch_batches(parts, settings, scan=False)] == [3, 1]
    assert [len(b) for b in fetch_batches(parts, settings, scan=True)] == [2, 2]


def test_index_batches_are_cut_by_rows_too_and_a_large_key_goes_alone() -> None:
    keys = np.array(sorted(key_of(h) for h in HASHES), dtype=np.int64)
    parts = [(keys, np.array([4, 30, 3, 3], dtype=np.int64))]
    batches = fetch_batches(parts, ClusteringSettings(fetch_batch=100, chunk_rows=10), scan=False)
    assert [len(b) for b in batches] == [1, 1, 2]
    assert [p for b in batches for p in b] == hash_prefixes(keys)  # every key once, in order
    assert fetch_batches([(keys[:0], keys[:0])], ClusteringSettings(), scan=False) == []


def test_repeated_keys_come_with_their_counts() -> None:
    day_one = one_day([key_of(HASHES[3])] * 2 + [key_of("a" + "b" * 63)])
    day_two = one_day([key_of(HASHES[3])])
    stored = [run_of(day_one, 0, 10), run_of(day_two, 0, 10)]
    keys, counts = repeated_of(np.concatenate([k for k, _ in stored]), np.concatenate([c for _, c in stored]))
    assert keys.tolist() == [key_of(HASHES[3])] and counts.tolist() == [3]


def test_several_days_runs_are_each_days_distinct_keys_by_part_with_counts() -> None:
    rng = np.random.default_rng(5)
    pool = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, 40, dtype=np.int64)
    days = [rng.choice(pool, int(rng.integers(0, 30))) for _ in range(9)]  # some days without keys
    runs = parts_of_days(np.repeat(np.arange(len(days)), [len(d) for d in days]), np.concatenate(days))
    expected = []
    for index, keys in enumerate(days):
        unique, counts = np.unique(keys, return_counts=True)  # sorted as int64, then cut by first hex digit
        for part in range(PARTS):
            inside = part_of(unique) == part
            if inside.any():
                expected.append((index, part, unique[inside].tolist(), counts[inside].tolist()))
    got = [(int(runs.day[r]), int(runs.part[r]), runs.keys[runs.bounds[r]:runs.bounds[r + 1]].tolist(),
            runs.counts[runs.bounds[r]:runs.bounds[r + 1]].tolist()) for r in range(runs.runs)]
    assert got == expected
    assert runs.run_requests() == [sum(counts) for *_, counts in expected]
    empty = parts_of_days(np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert empty.runs == 0 and empty.run_requests() == []


def test_the_repeats_of_several_parts_read_together_are_each_parts_own() -> None:
    rng = np.random.default_rng(6)
    pool = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, 60, dtype=np.int64)
    days = [rng.choice(pool, int(rng.integers(0, 40))) for _ in range(7)]
    runs = parts_of_days(np.repeat(np.arange(len(days)), [len(d) for d in days]), np.concatenate(days))
    parts = [3, 0, 8, 15, 9]
    stored = [run_of(runs, day, p) for p in sorted(parts) for day in range(len(days))]  # part, then day order
    together = repeated_by_part(np.concatenate([k for k, _ in stored]), np.concatenate([c for _, c in stored]), parts)
    for part, (keys, counts) in zip(parts, together, strict=True):
        own = [run_of(runs, day, part) for day in range(len(days))]
        alone = repeated_of(np.concatenate([k for k, _ in own]), np.concatenate([c for _, c in own]))
        assert keys.tolist() == alone[0].tolist() and counts.tolist() == alone[1].tolist()
    assert sum(len(keys) for keys, _ in together) > 0
