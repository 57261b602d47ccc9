"""Grouping: `frame.groupby(keys, sort=True)` in numpy for the few hundred rows of the catalog's views
(checks/usage.py)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd


@dataclass(frozen=True)
class Grouping:
    """`frame.groupby(keys, sort=True)` for the sums, maxima and distinct counts the checks take of a few
    hundred rows, in numpy: a pandas groupby costs about a millisecond per call however few the rows. Sums
    stay int64 (exact). The keys hold no nulls (the groups' keys are never null)."""

    names: tuple[str, ...]  # the keys
    uniques: tuple[npt.NDArray[Any], ...]  # each key's sorted distinct values
    places: tuple[npt.NDArray[np.intp], ...]  # each group's place among each key's distinct values
    dtypes: tuple[Any, ...]  # each key's column's dtype (the index's levels keep it)
    order: npt.NDArray[np.intp]  # the rows sorted by group
    starts: npt.NDArray[np.intp]  # where each group's rows start in `order`
    at: npt.NDArray[np.intp]  # each row's group

    @classmethod
    def of(cls, frame: pd.DataFrame | dict[str, npt.NDArray[Any]], keys: list[str],
           rows: npt.NDArray[np.bool_] | None = None) -> Grouping:
        """The groups of the frame's `rows` (a mask; default all) by these keys; `frame` may be its columns as
        numpy arrays (checks.usage.Usage.columns)."""
        uniques, codes = [], []
        for key in keys:  # each key's sorted distinct values, and each row's place among them
            values = np.asarray(frame[key]) if rows is None else np.asarray(frame[key])[rows]
            distinct_values, code = np.unique(values, return_inverse=True)
            uniques.append(distinct_values)
            codes.append(code.astype(np.intp))
        dims = tuple(len(u) for u in uniques)
        # a row's key tuple as one number: sorting the numbers sorts the tuples
        some = len(codes[0]) > 0
        flat = np.ravel_multi_index(codes, dims) if some else np.zeros(0, np.intp)
        distinct, at = np.unique(flat, return_inverse=True)
        places = np.unravel_index(distinct, dims) if some else [np.zeros(0, np.intp) for _ in keys]
        order = np.argsort(at, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(at[order]) != 0]) if len(at) else np.zeros(0, np.intp)
        return cls(tuple(keys), tuple(uniques), tuple(np.asarray(p, np.intp) for p in places),
                   tuple(frame[k].dtype for k in keys), order.astype(np.intp), starts.astype(np.intp),
                   at.astype(np.intp))

    @cached_property
    def index(self) -> pd.MultiIndex:
        """The distinct keys in sorted order, as groupby(sort=True) names them (built when asked: a MultiIndex
        costs a fraction of a millisecond, and the checks that walk the groups take `key_tuples` instead)."""
        # levels and codes as they are: from_arrays would factorize the keys again (a Categorical each)
        return pd.MultiIndex(levels=[pd.Index(u, dtype=t) for u, t in zip(self.uniques, self.dtypes, strict=True)],
                             codes=[p.tolist() for p in self.places], names=list(self.names), verify_integrity=False)

    def key_tuples(self) -> list[tuple[Any, ...]]:
        """Each group's key as a tuple of Python values, in the index's order (without building it)."""
        return list(zip(*(u[p].tolist() for u, p in zip(self.uniques, self.places, strict=True)), strict=True))

    def __len__(self) -> int:
        return len(self.places[0])

    def sum(self, values: Any) -> npt.NDArray[np.int64]:
        """Per group: of a column, or of each column of a 2-d array (rows first)."""
        rows = np.asarray(values, dtype=np.int64)[self.order]
        return np.add.reduceat(rows, self.starts, axis=0) if len(rows) else rows

    def max(self, values: Any) -> npt.NDArray[np.int64]:
        column = np.asarray(values, dtype=np.int64)[self.order]
        return np.maximum.reduceat(column, self.starts) if len(column) else column

    def nunique(self, values: Any) -> npt.NDArray[np.int64]:
        """Distinct values per group."""
        _, codes = np.unique(np.asarray(values), return_inverse=True)
        pairs = np.unique(self.at.astype(np.int64) * (int(codes.max(initial=0)) + 1) + codes)
        return np.bincount(pairs // (int(codes.max(initial=0)) + 1), minlength=len(self)).astype(np.int64)

    def frame(self, columns: dict[str, npt.NDArray[np.int64]]) -> pd.DataFrame:
        return pd.DataFrame(columns, index=self.index)
