"""The largest-remainder allocation of the FOCUS export: a rollup row's cost split over its token kinds in whole
nanos, exactly (int64 arrays when the amounts allow, Python integers otherwise; both give the same shares)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def allocate(cost: npt.NDArray[Any], weights: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Split each row's integer cost over its columns in proportion to `weights` (non-negative integers, a
    row summing to more than 0), in whole units, by the largest-remainder rule: shares are the floors of the
    exact quotas, and the units left go to the largest remainders (the leftmost first on a tie). Each row's
    shares sum to its cost exactly. A negative cost is split as its magnitude, signs kept.

    Whole int64 arrays when the amounts allow it (every row's total weight below 2**62, every cost below 2**50:
    a month of any workspace), exact Python integers otherwise; both give the same shares."""
    fast = _allocate_int64(np.asarray(cost), np.asarray(weights))
    return fast if fast is not None else _allocate_exact(cost, weights)


def _allocate_exact(cost: npt.NDArray[Any], weights: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """`allocate` in Python integers (object arrays): any magnitude."""
    cost_o = np.asarray(cost).astype(object)
    w = np.asarray(weights).astype(object)
    sign = np.where(cost_o < 0, -1, 1).astype(object)
    magnitude = cost_o * sign
    total = w.sum(axis=1)
    if len(total) and (total <= 0).any():
        raise ValueError("every row needs a positive total weight")
    scaled = w * magnitude[:, None]
    quota = scaled // total[:, None]
    remainder = scaled - quota * total[:, None]
    left = magnitude - quota.sum(axis=1)
    # rank of each column by remainder, largest first, leftmost first on a tie (a stable sort of the negation)
    order = np.argsort(-remainder.astype(float) if _fits_float(remainder) else -remainder, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(w.shape[1])[None, :].repeat(len(w), axis=0), axis=1)
    shares = quota + (rank < left.astype(np.int64)[:, None]).astype(object)
    result: npt.NDArray[np.int64] = (shares * sign[:, None]).astype(np.int64)
    return result


def _allocate_int64(cost: npt.NDArray[Any], weights: npt.NDArray[Any]) -> npt.NDArray[np.int64] | None:
    """`allocate` in int64 arithmetic, or None when the amounts are too large for it.

    The quota floor(w × c / T) is first estimated in floats (off by at most one unit while c < 2**50), then
    made exact: w × c − q × T is computed modulo 2**64 (numpy's integers wrap), and the true remainder lies in
    [−T, 2T), within int64 while T < 2**62, so one step up or down lands it in [0, T) exactly."""
    if cost.ndim != 1 or weights.ndim != 2 or len(cost) != len(weights):
        return None
    if len(cost) == 0:
        return np.zeros(weights.shape, dtype=np.int64)
    if not (np.issubdtype(cost.dtype, np.integer) or cost.dtype == object) or \
            not (np.issubdtype(weights.dtype, np.integer) or weights.dtype == object):
        return None
    limit_w, limit_c = 2**62 // max(1, weights.shape[1]), 2**50
    if int(np.min(weights)) < 0 or int(np.max(weights)) >= limit_w or largest_magnitude(cost) >= limit_c:
        return None
    w = weights.astype(np.int64)
    c = cost.astype(np.int64)
    sign = np.where(c < 0, -1, 1).astype(np.int64)
    magnitude = c * sign
    total = w.sum(axis=1)
    if (total <= 0).any():
        raise ValueError("every row needs a positive total weight")
    quota = np.floor(w.astype(np.float64) * magnitude[:, None].astype(np.float64)
                     / total[:, None].astype(np.float64)).astype(np.int64)
    with np.errstate(over="ignore"):
        remainder = w * magnitude[:, None] - quota * total[:, None]  # exact modulo 2**64, hence exact here
    for _ in range(2):  # one unit up (a remainder of T or more) or down (a negative one), until none is off
        step = (remainder >= total[:, None]).astype(np.int64) - (remainder < 0)
        if not step.any():
            break
        quota += step
        remainder -= step * total[:, None]
    else:
        if (remainder < 0).any() or (remainder >= total[:, None]).any():
            return None  # never expected: the exact path decides
    left = magnitude - quota.sum(axis=1)
    order = np.argsort(-remainder, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(w.shape[1])[None, :].repeat(len(w), axis=0), axis=1)
    shares = quota + (rank < left[:, None]).astype(np.int64)
    result: npt.NDArray[np.int64] = shares * sign[:, None]
    return result


def largest_magnitude(values: npt.NDArray[Any]) -> int:
    """The largest absolute value, as a Python integer (no int64 overflow on its most negative value)."""
    return max(int(values.max()), -int(values.min())) if len(values) else 0


def _fits_float(values: npt.NDArray[Any]) -> bool:
    """Remainders small enough that floats order them exactly (below 2**53)."""
    return len(values) == 0 or int(np.max(values)) < 2**53
