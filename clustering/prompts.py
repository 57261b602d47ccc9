"""Prompt clusters: every prompt_hash seen more than once, what its repeats cost and what could
have answered them (a response cache, a prompt cache), and whether it looped.

Definitions (what the checks of the catalog quote from):
- duplicate_requests: the requests of a hash after its first successful answer; a response cache
  keyed by the normalised prompt could have answered every one of them. avoidable_nanos is their cost.
- cacheable (kind), cacheable_requests: successful repeats of the same prompt to the same model
  whose previous successful request was at most the provider's cache lifetime before, whose prompt
  reaches the model's minimum cacheable length, and which read nothing from the cache. The
  `_1h` columns use the extended lifetimes (Anthropic's 1-hour cache, OpenAI's 24-hour retention).
  Both lifetimes are the price table's facts of each provider (pricing/providers.py).
- loop (kind): the hash has at least one loop incident (clustering.loops).
A prompt cache lives per model and organisation, so the gaps are measured per (hash, model) across
the workspace's devices; a cluster never spans workspaces because its input is one workspace's rows.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from clustering.frame import (
    NO_PROJECT,
    Sorted,
    distinct_counts,
    distinct_lists,
    group_starts,
    hash_codes,
    is_ok,
    labels,
    micros,
    modes,
    prompt_tokens,
    segment_sums,
)
from clustering.loops import LoopRules, find_loop_incidents
from pricing import load_rates

KINDS = ("duplicate", "cacheable", "loop")


def default_cache_lifetimes() -> dict[str, float]:
    """Seconds a cached prefix lives after its last use, per provider: the price table's facts."""
    return load_rates().cache_lifetimes()


def extended_cache_lifetimes() -> dict[str, float]:
    """The longer lifetimes a caller can ask for (Anthropic's 1-hour cache, OpenAI's 24-hour retention)."""
    return load_rates().cache_lifetimes(extended=True)


@dataclass(frozen=True)
class ClusterRules:
    loops: LoopRules = field(default_factory=LoopRules)
    # provider -> seconds; a provider absent caches nothing (the price table has no facts for it)
    cache_lifetimes: Mapping[str, float] = field(default_factory=default_cache_lifetimes)
    extended_cache_lifetimes: Mapping[str, float] = field(default_factory=extended_cache_lifetimes)
    # model -> minimum cacheable prompt (pricing's min_cacheable_tokens); a model absent has no prompt cache
    min_cacheable_tokens: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterResult:
    clusters: pd.DataFrame  # one row per repeated hash, ordered by prompt_hash
    incidents: pd.DataFrame  # clustering.loops.INCIDENT_COLUMNS
    requests: int  # rows looked at
    null_hash_requests: int  # rows skipped because their prompt_hash is null


def cluster_requests(frame: pd.DataFrame, rules: ClusterRules) -> ClusterResult:
    """Clusters and loop incidents of the rows of `frame`, which must hold every row of each of its
    hashes in the window (one workspace). Needs the columns prompt_hash, started_at, device_id,
    project_id, model, provider, status_code, the token columns and cost_nanos (`id` breaks ties)."""
    codes, hashes = hash_codes(frame["prompt_hash"])
    null_rows = int((codes < 0).sum())
    counts = np.bincount(codes[codes >= 0], minlength=len(hashes))
    keep = (codes >= 0) & (counts[np.maximum(codes, 0)] > 1)
    repeated = frame.loc[keep].reset_index(drop=True)
    # the strings are coded once; every later grouping works on the codes
    repeated["prompt_hash"] = pd.Categorical.from_codes(codes[keep], categories=pd.Index(hashes))
    incidents = find_loop_incidents(repeated, rules.loops)
    clusters = _clusters(repeated, rules, incidents) if len(repeated) else empty_clusters()
    return ClusterResult(clusters, incidents, len(frame), null_rows)


def _clusters(frame: pd.DataFrame, rules: ClusterRules, incidents: pd.DataFrame) -> pd.DataFrame:
    codes, hashes = hash_codes(frame["prompt_hash"])
    ids = frame["id"].to_numpy(np.int64) if "id" in frame else np.zeros(len(frame), dtype=np.int64)
    times = micros(frame["started_at"])
    rows = Sorted.by(codes, times, ids)
    g, t, _ = rows.keys
    starts = group_starts(g)
    ends = np.append(starts[1:], len(g))
    n = len(starts)
    cluster = np.repeat(np.arange(n), ends - starts)
    cost = rows.take(frame["cost_nanos"].to_numpy(np.int64))
    ok = rows.take(is_ok(frame))
    position = np.arange(len(g)) - starts[cluster]
    first_ok = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_ok, cluster[ok], position[ok])
    duplicate = position > first_ok[cluster]
    model_codes, model_names = labels(frame["model"].astype("category"))
    provider_codes, provider_names = labels(frame["provider"].astype("category"))
    models = rows.take(model_codes)
    projects = rows.take(frame["project_id"].to_numpy(np.int64))
    attributed = projects != NO_PROJECT
    tokens = rows.take(prompt_tokens(frame))
    out = pd.DataFrame({
        "prompt_hash": hashes[g[starts]],
        "requests": ends - starts,
        "devices": distinct_counts(cluster, rows.take(frame["device_id"].to_numpy(np.int64)), n),
        "projects": distinct_counts(cluster, projects, n, ignore=NO_PROJECT),
        "first_at": pd.to_datetime(t[starts], unit="us", utc=True),
        "last_at": pd.to_datetime(t[ends - 1], unit="us", utc=True),
        "cost_nanos": segment_sums(cost, starts, ends),
        "duplicate_requests": segment_sums(duplicate.astype(np.int64), starts, ends),
        "avoidable_nanos": segment_sums(np.where(duplicate, cost, 0), starts, ends),
        "project_id": modes(cluster[attributed], projects[attributed], NO_PROJECT, n),
        "model": _names(modes(cluster, models, -1, n), model_names),
        "provider": _names(modes(cluster, rows.take(provider_codes), -1, n), provider_names),
        "models": distinct_lists(cluster, models, n, names=model_names),
        "median_prompt_tokens": _medians(cluster, tokens, n),
        "median_output_tokens": _medians(cluster, rows.take(frame["output_tokens"].to_numpy(np.int64)), n),
        "median_gap_seconds": _median_gaps(cluster, t, n),
    })
    cache = _CacheRepeats.of(frame, codes, times, model_codes, model_names, rules.min_cacheable_tokens)
    for suffix, lifetimes in (("", rules.cache_lifetimes), ("_1h", rules.extended_cache_lifetimes)):
        cacheable = cache.within(lifetimes, provider_codes, provider_names)[rows.order]
        out[f"cacheable_requests{suffix}"] = segment_sums(cacheable.astype(np.int64), starts, ends)
        out[f"cacheable_prompt_tokens{suffix}"] = segment_sums(np.where(cacheable, tokens, 0), starts, ends)
    loops = incidents.groupby("prompt_hash").size() if len(incidents) else pd.Series(dtype=np.int64)
    out["loop_incidents"] = out["prompt_hash"].map(loops).fillna(0).astype(np.int64)
    out["kinds"] = _kinds(out)
    return out


def _names(codes: NDArray[np.int64], names: NDArray[np.object_]) -> NDArray[np.object_]:
    named = np.asarray(names, dtype=object)[np.maximum(codes.astype(np.int64), 0)] if len(names) else codes
    return np.where(codes.astype(np.int64) >= 0, named, "")


@dataclass(frozen=True)
class _CacheRepeats:
    """Per row (the frame's order): a successful repeat of the same prompt to the same model with no
    cache read and a prompt at the model's minimum, and the gap to the previous successful request."""

    eligible: NDArray[np.bool_]
    gap_micros: NDArray[np.int64]

    @classmethod
    def of(cls, frame: pd.DataFrame, codes: NDArray[np.int64], times: NDArray[np.int64],
           model_codes: NDArray[np.int64], model_names: NDArray[np.object_],
           minimums: Mapping[str, int]) -> _CacheRepeats:
        ok = is_ok(frame)
        # failures sort last within equal times, and a failure is never a "previous": nothing was cached
        rows = Sorted.by(codes, model_codes, times, (~ok).astype(np.int64))
        g, m, t, failed = rows.keys
        ok_sorted = failed == 0
        index = np.where(ok_sorted, np.arange(len(g)), -1)
        previous = np.maximum(np.maximum.accumulate(np.concatenate([[-1], index[:-1]])), -1) if len(g) else index
        at = np.maximum(previous, 0)
        same = (previous >= 0) & (g[at] == g) & (m[at] == m)
        minimum_of_model = np.array([minimums.get(str(name), 0) for name in model_names], dtype=np.int64)
        minimum = minimum_of_model[np.maximum(m, 0)] if len(model_names) else np.zeros(len(g), dtype=np.int64)
        long_enough = (minimum > 0) & (rows.take(prompt_tokens(frame)) >= minimum)
        not_read = rows.take(frame["cache_read_tokens"].to_numpy(np.int64)) == 0
        eligible = np.zeros(len(g), dtype=bool)
        gap = np.zeros(len(g), dtype=np.int64)
        eligible[rows.order] = ok_sorted & same & long_enough & not_read
        gap[rows.order] = t - t[at]
        return cls(eligible, gap)

    def within(self, lifetimes: Mapping[str, float], provider_codes: NDArray[np.int64],
               provider_names: NDArray[np.object_]) -> NDArray[np.bool_]:
        seconds = np.array([lifetimes.get(str(name), 0.0) for name in provider_names], dtype=np.float64)
        lifetime = seconds[np.maximum(provider_codes, 0)] if len(seconds) else np.zeros(len(self.gap_micros))
        return np.asarray(self.eligible & (self.gap_micros <= lifetime * 1_000_000))


def _medians(cluster: NDArray[np.intp], values: NDArray[np.int64], count: int) -> NDArray[np.int64]:
    medians = pd.Series(values).groupby(cluster).median()
    return np.asarray(np.round(medians.reindex(range(count)).fillna(0).to_numpy()), dtype=np.int64)


def _median_gaps(cluster: NDArray[np.intp], t: NDArray[np.int64], count: int) -> NDArray[np.float64]:
    """Median seconds between consecutive requests of each cluster (any device)."""
    inside = cluster[1:] == cluster[:-1]
    gaps = pd.Series((t[1:] - t[:-1])[inside] / 1_000_000).groupby(cluster[1:][inside]).median()
    return np.asarray(gaps.reindex(range(count)).fillna(0.0).round(3).to_numpy(), dtype=np.float64)


def _kinds(out: pd.DataFrame) -> list[list[str]]:
    flags = [out["duplicate_requests"].to_numpy() > 0, out["cacheable_requests"].to_numpy() > 0,
             out["loop_incidents"].to_numpy() > 0]
    combination = np.zeros(len(out), dtype=np.int64)
    for bit, on in enumerate(flags):
        combination |= on.astype(np.int64) << bit
    # eight possible lists: made once, not once per cluster
    lists = [[kind for bit, kind in enumerate(KINDS) if c >> bit & 1] for c in range(1 << len(KINDS))]
    return [list(lists[c]) for c in combination.tolist()]


CLUSTER_COLUMNS = ("prompt_hash", "requests", "devices", "projects", "first_at", "last_at", "cost_nanos",
                   "duplicate_requests", "avoidable_nanos", "project_id", "model", "provider", "models",
                   "median_prompt_tokens", "median_output_tokens", "median_gap_seconds", "cacheable_requests",
                   "cacheable_prompt_tokens", "cacheable_requests_1h", "cacheable_prompt_tokens_1h",
                   "loop_incidents", "kinds")


def empty_clusters() -> pd.DataFrame:
    """A frame of no cluster (a copy: building one column by column costs 1.5 ms, a copy 10 µs)."""
    return _empty_clusters().copy()


@functools.cache
def _empty_clusters() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype=object) for name in CLUSTER_COLUMNS})
