"""The FOCUS export's largest-remainder allocation: the int64 path gives the Python-integer path's shares."""

from __future__ import annotations

import numpy as np

from exports import allocation


def test_the_int64_allocation_gives_the_same_shares_as_the_exact_integers() -> None:
    rng = np.random.default_rng(19)
    for trial in range(60):
        weights = rng.integers(0, 10 ** int(rng.integers(1, 16)), size=(200, 4)).astype(np.int64)
        if trial % 3 == 0:
            weights[:, 1] = weights[:, 0]  # ties
        weights[weights.sum(axis=1) == 0, 0] = 1
        bound = 10 ** int(rng.integers(1, 15))
        cost = rng.integers(-bound, bound, size=200).astype(np.int64)
        fast = allocation.allocate(cost, weights)
        assert allocation._allocate_int64(cost, weights) is not None  # the int64 path took them
        assert fast.tolist() == allocation._allocate_exact(cost, weights).tolist()
        assert (fast.sum(axis=1) == cost).all()


def test_amounts_too_large_for_int64_take_the_exact_path() -> None:
    cost, weights = np.array([2**62]), np.array([[2**61, 3, 2**40, 1]])
    assert allocation._allocate_int64(cost, weights) is None
    assert int(allocation.allocate(cost, weights).sum()) == 2**62
