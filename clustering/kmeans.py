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
    starts = _seed_starts(points, weights, cumulative, k, n_init, rng) if len(points) <= SIDE_BY_SIDE_POINTS else None
    fits = (_lloyd_starts(points, weights, starts) if starts is not None
            else [_lloyd(points, weights, _seed_centres(points, weights, cumulative, k, rng)) for _ in range(n_init)])
    best: Fit | None = None
    for fit in fits:
        if best is None or fit.inertia < best.inertia:
            best = fit
    assert best is not None  # n_init >= 1
    return best


# Up to this many points the starts run side by side (below); above it one after the other, where the arithmetic
# outweighs the calls and the side-by-side arrays (starts × points × k × d) cost more than they save (400 points:
# 3.9 against 2.5 ms; 30 points: 0.40 against 0.50 ms).
SIDE_BY_SIDE_POINTS = 256

# The starts side by side: the same numbers as _seed_centres and _lloyd run one start after the other (what the
# fallback still does), with the numpy calls that cost more than their arithmetic on a few dozen points made once
# for all the starts. Each value is computed by the same operation on the same operands in the same order (the
# distances' sums over the last axis, the running sums, the draws, which the generator gives in the same sequence
# whether asked one at a time or all at once); the BLAS products (the candidates' masses, the centres' sums) stay
# one start at a time with the operands laid out as before, so their rounding is the same. A small workspace's
# shapes run a few dozen starts on a few dozen points.

def _batched_distances(points: NDArray[np.float64], centres: NDArray[np.float64]) -> NDArray[np.float64]:
    """_squared_distances of each start's centres (s × k × d): s × n × k."""
    distances: NDArray[np.float64] = np.add.reduce(np.square(points[None, :, None, :] - centres[:, None, :, :]),
                                                   axis=3)
    return distances


def _seed_starts(points: NDArray[np.float64], weights: NDArray[np.float64], cumulative_weights: NDArray[np.float64],
                 k: int, starts: int, rng: np.random.Generator) -> NDArray[np.float64] | None:
    """_seed_centres of `starts` starts drawn one after the other, as starts × k × d; None (and nothing drawn)
    when a start would stop short of k centres (fewer distinct points than k; callers avoid it), for the
    one-at-a-time path to draw them."""
    trials = 2 + int(math.log(k))
    per_start = 1 + (k - 1) * trials
    # the generator's state, to hand back untouched when falling back
    state = rng.bit_generator.state
    draws = rng.random(starts * per_start).reshape(starts, per_start)
    centres = np.empty((starts, k, points.shape[1]))
    centres[:, 0] = points[_pick(cumulative_weights, draws[:, 0] * cumulative_weights[-1])]
    nearest = np.add.reduce(np.square(points[None, :, :] - centres[:, 0][:, None, :]), axis=2)  # starts × n
    for index in range(1, k):
        cumulative = np.cumsum(weights * nearest, axis=1)
        if (cumulative[:, -1] <= 0).any():
            rng.bit_generator.state = state
            return None
        at = 1 + (index - 1) * trials
        targets = draws[:, at:at + trials] * cumulative[:, -1:]
        candidates = _pick(cumulative, targets)
        distances = _batched_distances(points, points[candidates])  # starts × n × trials
        for start in range(starts):
            options = np.minimum(nearest[start][None, :], distances[start].T)
            best = int(np.argmin(options @ weights))
            centres[start, index] = points[candidates[start, best]]
            nearest[start] = options[best]
    return centres


def _lloyd_starts(points: NDArray[np.float64], weights: NDArray[np.float64], centres: NDArray[np.float64]) -> list[Fit]:
    """_lloyd of each start's centres (starts × k × d, moved in place), the starts' iterations side by side."""
    starts, k = centres.shape[0], centres.shape[1]
    n = len(points)
    rows = np.arange(n)
    labels = np.full((starts, n), -1, dtype=np.int64)
    fits: list[Fit | None] = [None] * starts
    active = list(range(starts))
    for _ in range(MAX_ITERATIONS):
        distances = _batched_distances(points, centres[active])
        moved = distances.argmin(axis=2).astype(np.int64, copy=False)
        still = []
        for row, start in enumerate(active):
            if (moved[row] == labels[start]).all():
                fits[start] = Fit(labels[start].copy(), float(weights @ distances[row][rows, labels[start]]))
                continue
            labels[start] = moved[row]
            members = np.zeros((n, k))
            members[rows, labels[start]] = weights
            mass = members.sum(axis=0)
            filled = mass > 0
            centres[start][filled] = (members.T @ points)[filled] / mass[filled, None]
            still.append(start)
        active = still
        if not active:
            break
    for start in active:  # stopped by MAX_ITERATIONS: the distances to where the centres went
        fits[start] = Fit(labels[start].copy(),
                          float(weights @ _squared_distances(points, centres[start])[rows, labels[start]]))
    return [fit for fit in fits if fit is not None]


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
    return _pick(cumulative, rng.random(size) * cumulative[-1])


def _pick(cumulative: NDArray[np.float64], targets: NDArray[np.float64]) -> NDArray[np.int64]:
    """The index of each target in the running sum of the masses (searchsorted(side="right"): the first mass whose
    running sum exceeds it), a target at the total kept on the last point. `cumulative` is one running sum (n) or
    one a start (starts × n, with the targets starts × m): numpy's searchsorted has no form for rows, so there it
    counts the values at most the target, the same index on a non-decreasing sum."""
    if cumulative.ndim == 1:
        found = np.searchsorted(cumulative, targets, side="right")
    else:
        found = (cumulative[:, None, :] <= targets[:, :, None]).sum(axis=2)
    return np.asarray(np.minimum(found, cumulative.shape[-1] - 1), dtype=np.int64)


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
