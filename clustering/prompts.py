"""Prompt clusters: every prompt_hash seen more than once, what its repeats cost and what could
have answered them (a response cache, a prompt cache), and whether it looped.

Definitions (what the checks of the catalog quote from):
- duplicate_requests: the requests of a hash after its first successful answer; a response cache
  keyed by the normalised prompt could have answered every one of them. avoidable_nanos is their cost.
- cacheable (kind), cacheable_requests: successful repeats of the same prompt to the same model
  whose previous successful request was at most the provider's cache lifetime before, whose prompt
  reaches the model's minimum cacheable length, and which read nothing from the cache. The
  `_1h` columns use the extended lifetimes (Anthropic's 1-hour cache, OpenAI's 24-hour retention).
- loop (kind): the hash has at least one loop incident (clustering.loops).
A prompt cache lives per model and organisation, so the gaps are measured per (hash, model) across
the workspace's devices; a cluster never spans workspaces because its input is one workspace's rows.
"""

from __future__ import annotations

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
    micros,
    modes,
    prompt_tokens,
    segment_sums,
)
from clustering.loops import LoopRules, find_loop_incidents

# Seconds a cached prefix lives after its last use (see shared/reference/cost-levers.md). OpenAI's
# in-memory cache is "usually cleared after 5-10 minutes": the lower bound is what one can count on.
DEFAULT_CACHE_LIFETIMES: Mapping[str, float] = {"anthropic": 300.0, "openai": 300.0, "gemini": 300.0, "xai": 300.0}
EXTENDED_CACHE_LIFETIMES: Mapping[str, float] = {"anthropic": 3600.0, "openai": 86400.0, "gemini": 3600.0,
                                                 "xai": 300.0}
KINDS = ("duplicate", "cacheable", "loop")


@dataclass(frozen=True)
class ClusterRules:
    loops: LoopRules = field(default_factory=LoopRules)
    cache_lifetimes: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_CACHE_LIFETIMES))
    extended_cache_lifetimes: Mapping[str, float] = field(default_factory=lambda: dict(EXTENDED_CACHE_LIFETIMES))
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
    repeated = frame.loc[(codes >= 0) & (counts[np.maximum(codes, 0)] > 1)].reset_index(drop=True)
    incidents = find_loop_incidents(repeated, rules.loops)
    clusters = _clusters(repeated, rules, incidents) if len(repeated) else empty_clusters()
    return ClusterResult(clusters, incidents, len(frame), null_rows)


def _clusters(frame: pd.DataFrame, rules: ClusterRules, incidents: pd.DataFrame) -> pd.DataFrame:
    codes, hashes = hash_codes(frame["prompt_hash"])
    ids = frame["id"].to_numpy(np.int64) if "id" in frame else np.zeros(len(frame), dtype=np.int64)
    rows = Sorted.by(codes, micros(frame["started_at"]), ids)
    g, t, _ = rows.keys
    starts = group_starts(g)
    ends = np.append(starts[1:], len(g))
    n = len(starts)
    cluster = np.cumsum(np.isin(np.arange(len(g)), starts)) - 1
    cost = rows.take(frame["cost_nanos"].to_numpy(np.int64))
    ok = rows.take(is_ok(frame))
    position = np.arange(len(g)) - starts[cluster]
    first_ok = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_ok, cluster[ok], position[ok])
    duplicate = position > first_ok[cluster]
    models = rows.take(frame["model"].astype(str).to_numpy(dtype=object))
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
        "model": modes(cluster, models, "", n),
        "provider": modes(cluster, rows.take(frame["provider"].astype(str).to_numpy(dtype=object)), "", n),
        "models": distinct_lists(cluster, models, n),
        "median_prompt_tokens": _medians(cluster, tokens, n),
        "median_output_tokens": _medians(cluster, rows.take(frame["output_tokens"].to_numpy(np.int64)), n),
        "median_gap_seconds": _median_gaps(cluster, t, n),
    })
    for suffix, lifetimes in (("", rules.cache_lifetimes), ("_1h", rules.extended_cache_lifetimes)):
        cacheable = _cacheable(frame, lifetimes, rules.min_cacheable_tokens)[rows.order]
        out[f"cacheable_requests{suffix}"] = segment_sums(cacheable.astype(np.int64), starts, ends)
        out[f"cacheable_prompt_tokens{suffix}"] = segment_sums(np.where(cacheable, tokens, 0), starts, ends)
    loops = incidents.groupby("prompt_hash").size() if len(incidents) else pd.Series(dtype=np.int64)
    out["loop_incidents"] = out["prompt_hash"].map(loops).fillna(0).astype(np.int64)
    out["kinds"] = _kinds(out)
    return out


def _cacheable(frame: pd.DataFrame, lifetimes: Mapping[str, float],
               minimums: Mapping[str, int]) -> NDArray[np.bool_]:
    """Per row of `frame` (its own order): a successful repeat a prompt cache could have served."""
    ok = is_ok(frame)
    codes, _ = hash_codes(frame["prompt_hash"])
    model_codes, _ = hash_codes(frame["model"].astype(str))
    rows = Sorted.by(codes, model_codes, micros(frame["started_at"]), (~ok).astype(np.int64))
    g, m, t, failed = rows.keys
    # the previous successful request of the same prompt to the same model: failures sort last
    # within equal times, and a failure is never a "previous" (its prefix was not cached)
    ok_sorted = failed == 0
    index = np.where(ok_sorted, np.arange(len(g)), -1)
    previous_ok = np.maximum.accumulate(np.concatenate([[-1], index[:-1]])) if len(g) else index
    same = (previous_ok >= 0) & (g[np.maximum(previous_ok, 0)] == g) & (m[np.maximum(previous_ok, 0)] == m)
    gap = t - t[np.maximum(previous_ok, 0)]
    lifetime = rows.take(frame["provider"].astype(str).map(dict(lifetimes)).fillna(0.0).to_numpy(np.float64))
    minimum = rows.take(frame["model"].astype(str).map(dict(minimums)).fillna(0).to_numpy(np.int64))
    long_enough = (minimum > 0) & (rows.take(prompt_tokens(frame)) >= minimum)
    not_read = rows.take(frame["cache_read_tokens"].to_numpy(np.int64)) == 0
    cacheable = ok_sorted & same & (gap <= lifetime * 1_000_000) & long_enough & not_read
    out = np.zeros(len(g), dtype=bool)
    out[rows.order] = cacheable
    return out


def _medians(cluster: NDArray[np.intp], values: NDArray[np.int64], count: int) -> NDArray[np.int64]:
    medians = pd.Series(values).groupby(cluster).median()
    return np.asarray(np.round(medians.reindex(range(count)).fillna(0).to_numpy()), dtype=np.int64)


def _median_gaps(cluster: NDArray[np.intp], t: NDArray[np.int64], count: int) -> NDArray[np.float64]:
    """Median seconds between consecutive requests of each cluster (any device)."""
    inside = cluster[1:] == cluster[:-1]
    gaps = pd.Series((t[1:] - t[:-1])[inside] / 1_000_000).groupby(cluster[1:][inside]).median()
    return np.asarray(gaps.reindex(range(count)).fillna(0.0).round(3).to_numpy(), dtype=np.float64)


def _kinds(out: pd.DataFrame) -> list[list[str]]:
    flags = np.stack([out["duplicate_requests"].to_numpy() > 0, out["cacheable_requests"].to_numpy() > 0,
                      out["loop_incidents"].to_numpy() > 0], axis=1)
    return [[kind for kind, on in zip(KINDS, row, strict=True) if on] for row in flags]


CLUSTER_COLUMNS = ("prompt_hash", "requests", "devices", "projects", "first_at", "last_at", "cost_nanos",
                   "duplicate_requests", "avoidable_nanos", "project_id", "model", "provider", "models",
                   "median_prompt_tokens", "median_output_tokens", "median_gap_seconds", "cacheable_requests",
                   "cacheable_prompt_tokens", "cacheable_requests_1h", "cacheable_prompt_tokens_1h",
                   "loop_incidents", "kinds")


def empty_clusters() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype=object) for name in CLUSTER_COLUMNS})
