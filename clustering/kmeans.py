"""Weighted k-means (k-means++ seeding, Lloyd's iterations) in numpy, for the request shapes' cell grid.

Why not scikit-learn's KMeans, which this replaced: each fit costs about 2.5 ms of fixed overhead
(parameter validation, array-API dispatch, thread-pool control) before any arithmetic, and the shapes
fit one to six k per project of every workspace every night. On a small workspace's few dozen cells
that overhead was most of the clustering stage (issue 18: the fixed cost of a small workspace); the
arithmetic itself is microseconds. The grid is at most a few thousand cells a project, so the plain
algorithm below is enough: scikit-learn's seeding (greedy k-means++ with 2 + ln k candidates per centre),
then Lloyd's iterations until the labels stop changing, best of `n_init` starts. Unlike scikit-learn, a
centre left without points stays where it was (it does not jump to a far point): on these grids a start
that empties a centre is simply beaten by another start.

Deterministic: a seeded numpy Generator, and ties broken by the lowest index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MAX_ITERATIONS = 300


@dataclass(frozen=True)
class Fit:
    labels: NDArray[np.int64]  # a centre index per point
    inertia: float  # sum of weight × squared distance to its centre


def weighted_kmeans(points: NDArray[np.float64], weights: NDArray[np.float64], k: int, *, seed: int,
                    n_init: int = 4) -> Fit:
    """The lowest-inertia of `n_init` k-means runs of `points` (n × d) weighted by `weights` (n, > 0)."""
    if not 1 <= k <= len(points):
        raise ValueError(f"k must be between 1 and the {len(points)} points, not {k}")
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(weights)  # the first centre's draw, the same for every start
    best: Fit | None = None
    for _ in range(n_init):
        fit = _lloyd(points, weights, _seed_centres(points, weights, cumulative, k, rng))
        if best is None or fit.inertia < best.inertia:
            best = fit
    assert best is not None  # n_init >= 1
    return best


def _squared_distances(points: NDArray[np.float64], centres: NDArray[np.float64]) -> NDArray[np.float64]:
    """n × k squared distances (the direct difference: exact, and n × k × d is small here). The ufuncs called
    directly: `** 2` is np.square and .sum is np.add.reduce, without their Python wrappers (a few dozen
    points cost less than the calls)."""
    distances: NDArray[np.float64] = np.add.reduce(np.square(points[:, None, :] - centres[None, :, :]), axis=2)
    return distances


def _seed_centres(points: NDArray[np.float64], weights: NDArray[np.float64], cumulative_weights: NDArray[np.float64],
                  k: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """Greedy k-means++: each next centre is the best (least total weighted distance) of a few candidates
    drawn in proportion to weight × squared distance to the nearest centre so far (the first in proportion
    to weight: `cumulative_weights` is their running sum)."""
    trials = 2 + int(math.log(k))
    # one draw as a scalar: the same number from the generator (and the same product) as an array of one
    first = int(np.searchsorted(cumulative_weights, rng.random() * cumulative_weights[-1], side="right"))
    centres = [points[min(first, len(points) - 1)]]
    nearest = _squared_distances(points, centres[0][None, :])[:, 0]
    for _ in range(1, k):
        # the running sum of non-negative masses ends at 0 exactly when they are all 0, as their sum does
        cumulative = np.cumsum(weights * nearest)
        if cumulative[-1] <= 0:  # every point sits on a centre: fewer distinct points than k (callers avoid it)
            break
        candidates = _draw(cumulative, trials, rng)
        options = np.minimum(nearest[None, :], _squared_distances(points, points[candidates]).T)
        best = int(np.argmin(options @ weights))
        centres.append(points[candidates[best]])
        nearest = options[best]
    return np.array(centres)


def _draw(cumulative: NDArray[np.float64], size: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """`size` indices drawn with replacement in proportion to the masses whose running sum is `cumulative`
    (what Generator.choice(p=...) does, without its checks of p, which cost more than the draw on a few dozen
    points)."""
    found = np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")
    return np.asarray(np.minimum(found, len(cumulative) - 1), dtype=np.int64)


def _lloyd(points: NDArray[np.float64], weights: NDArray[np.float64], centres: NDArray[np.float64]) -> Fit:
    """Assign each point to its nearest centre and move each centre to its points' weighted mean, until no
    label changes (an emptied centre stays where it was)."""
    labels = np.full(len(points), -1, dtype=np.int64)
    rows = np.arange(len(points))
    distances: NDArray[np.float64] | None = None
    for _ in range(MAX_ITERATIONS):
        distances = _squared_distances(points, centres)
        moved = distances.argmin(axis=1).astype(np.int64, copy=False)
        if (moved == labels).all():
            break
        labels = moved
        members = np.zeros((len(points), len(centres)))
        members[rows, labels] = weights  # each point's weight, in its centre's column
        mass = members.sum(axis=0)
        filled = mass > 0
        centres[filled] = (members.T @ points)[filled] / mass[filled, None]
        distances = None  # the centres moved
    if distances is None:  # stopped by MAX_ITERATIONS: the distances to where the centres went
        distances = _squared_distances(points, centres)
    # converged: the centres have not moved since `distances` was computed
    inertia = float(weights @ distances[rows, labels])
    return Fit(labels, inertia)
