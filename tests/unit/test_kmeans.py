"""Weighted k-means (clustering.kmeans): it finds separated groups, weights count, and it is repeatable."""

from __future__ import annotations

import numpy as np
import pytest

from clustering import kmeans
from clustering.kmeans import weighted_kmeans


def three_groups() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = np.concatenate([c + rng.normal(scale=0.3, size=(20, 2)) for c in centres])
    return points, np.ones(len(points))


def test_separated_groups_are_found_whole() -> None:
    points, weights = three_groups()
    fit = weighted_kmeans(points, weights, 3, seed=0)
    groups = [set(fit.labels[i * 20:(i + 1) * 20].tolist()) for i in range(3)]
    assert all(len(g) == 1 for g in groups) and len(set.union(*groups)) == 3
    within = sum(((points[fit.labels == c] - points[fit.labels == c].mean(axis=0)) ** 2).sum() for c in range(3))
    assert fit.inertia == pytest.approx(within)


def test_a_heavy_point_pulls_its_centre_to_itself() -> None:
    points = np.array([[0.0], [1.0], [10.0]])
    fit = weighted_kmeans(points, np.array([1.0, 99.0, 1.0]), 2, seed=0)
    assert fit.labels[0] == fit.labels[1] != fit.labels[2]
    # the centre of {0, 1} weighted 1:99 is 0.99: inertia 1 × 0.99² + 99 × 0.01²
    assert fit.inertia == pytest.approx(0.99**2 + 99 * 0.01**2)


def test_the_same_input_and_seed_give_the_same_labels() -> None:
    rng = np.random.default_rng(1)
    points, weights = rng.normal(size=(200, 4)), rng.integers(1, 50, 200).astype(float)
    one, two = (weighted_kmeans(points, weights, 5, seed=7) for _ in range(2))
    assert np.array_equal(one.labels, two.labels) and one.inertia == two.inertia


def test_the_best_of_several_starts_is_kept() -> None:
    """The same seed begins with the same start, so eight starts can only match or beat the first alone (this
    fails if the fit kept another start than the best, e.g. the last)."""
    rng = np.random.default_rng(2)
    points, weights = rng.normal(size=(300, 3)), np.ones(300)
    assert weighted_kmeans(points, weights, 6, seed=0, n_init=8).inertia <= \
        weighted_kmeans(points, weights, 6, seed=0, n_init=1).inertia + 1e-9


def test_k_outside_one_to_the_points_is_refused() -> None:
    with pytest.raises(ValueError, match="between 1 and the 2 points"):
        weighted_kmeans(np.zeros((2, 1)), np.ones(2), 3, seed=0)


@pytest.mark.parametrize("case", range(12))
def test_the_starts_side_by_side_give_the_one_at_a_time_fit_bit_for_bit(case: int,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Up to SIDE_BY_SIDE_POINTS points the starts are seeded and iterated side by side; above it (and when a
    start would stop short of k centres) one after the other. Both give the same labels and inertia exactly."""
    rng = np.random.default_rng(100 + case)
    n, d = int(rng.integers(3, 80)), int(rng.integers(1, 4))
    points = rng.normal(size=(n, d)) if case % 3 else np.round(rng.normal(size=(n, d)))  # gridded: repeated points
    if case == 11:
        points = np.repeat(points[:2], (n + 1) // 2, axis=0)[:n]  # two distinct points: k > 2 falls back
    weights = rng.integers(1, 50, n).astype(float)
    k = int(rng.integers(1, min(n, 7) + 1)) if case != 11 else min(n, 4)
    side_by_side = kmeans.weighted_kmeans(points, weights, k, seed=case, n_init=4)
    monkeypatch.setattr(kmeans, "SIDE_BY_SIDE_POINTS", 0)
    one_at_a_time = kmeans.weighted_kmeans(points, weights, k, seed=case, n_init=4)
    assert np.array_equal(side_by_side.labels, one_at_a_time.labels)
    assert side_by_side.inertia == one_at_a_time.inertia
