"""Request shapes: a project's traffic grouped into a few shapes (model, prompt-size and output-size
bands, time-of-day profile) with weighted k-means (clustering.kmeans), so a report can say "82 % of this project's
spend is one shape: long prompts, short answers, nightly".

The input is not raw rows but a grid of cells (project, model, log2 prompt-size bin, log2 output-size
bin, local hour) with their request counts and cost, summed in SQL per day: a workspace with tens of
millions of requests is a few thousand cells per project, so the fit is small and memory bounded.
k-means runs on the cells weighted by requests, so it sees the traffic as it is.

Deterministic: cells are sorted before fitting and k-means gets a fixed seed and number of starts;
the same cells with the same seed give the same shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from clustering.kmeans import weighted_kmeans

MAX_SHAPES = 6
# k grows until the weighted within-shape spread falls under this share of the one-shape spread
GOOD_ENOUGH = 0.2
MODEL_WEIGHT = 10.0  # distance between two models: far more than any size or hour difference
SIZE_WEIGHT = 0.5  # per log2 bin: a factor of 4 in tokens is one unit
HOUR_WEIGHT = 1.5  # radius of the clock circle

CELL_COLUMNS = ("project_id", "model", "provider", "prompt_bin", "output_bin", "hour", "requests", "cost_nanos")
SHAPE_COLUMNS = ("project_id", "shape", "model", "provider", "prompt_band", "output_band", "time_profile", "label",
                 "requests", "cost_nanos", "request_share", "cost_share", "typical_prompt_tokens",
                 "typical_output_tokens", "hours")

# (upper bound of log2 bin, exclusive; name): prompts under 1k tokens are short, 8k medium, 128k long
PROMPT_BANDS = ((10, "short prompts"), (13, "medium prompts"), (17, "long prompts"), (99, "very long prompts"))
OUTPUT_BANDS = ((8, "short answers"), (11, "medium answers"), (99, "long answers"))
NIGHT, WORKING, EVENING = range(0, 6), range(8, 19), range(18, 24)


@dataclass(frozen=True)
class Cells:
    """The cell grid as numpy columns (CELL_COLUMNS, a row per cell, in any order): what the store reads and
    the shapes are fitted on. Columns, not a DataFrame: on a small workspace's few hundred cells building a
    frame and taking its columns out again cost more than the fits. Models and providers as codes into their
    distinct names sorted by code point (so codes sort like names)."""

    project_id: NDArray[np.int64]  # -1: the unattributed traffic
    model: NDArray[np.int64]
    provider: NDArray[np.int64]
    prompt_bin: NDArray[np.int64]
    output_bin: NDArray[np.int64]
    hour: NDArray[np.int64]
    requests: NDArray[np.int64]
    cost_nanos: NDArray[np.int64]
    model_names: list[str]
    provider_names: list[str]

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[Any]]) -> Cells:
        """From rows in CELL_COLUMNS order."""
        if not rows:
            return cls.from_frame(pd.DataFrame([], columns=list(CELL_COLUMNS)))
        return cls.from_columns(*zip(*rows, strict=True))

    @classmethod
    def from_columns(cls, project_id: Sequence[int], model: Sequence[str], provider: Sequence[str],
                     *numbers: Sequence[int]) -> Cells:
        """From one sequence per column (CELL_COLUMNS' order, not empty)."""
        (models, model_names), (providers, provider_names) = _coded(model), _coded(provider)
        prompt_bin, output_bin, hour, requests, cost = (np.array(column, dtype=np.int64) for column in numbers)
        return cls(np.array(project_id, dtype=np.int64), models, providers, prompt_bin, output_bin, hour, requests,
                   cost, model_names, provider_names)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Cells:
        model_names, model = np.unique(frame["model"].to_numpy(dtype=str), return_inverse=True)
        provider_names, provider = np.unique(frame["provider"].to_numpy(dtype=str), return_inverse=True)
        prompt_bin, output_bin, hour, requests, cost = (frame[name].to_numpy(np.int64) for name in CELL_COLUMNS[3:])
        return cls(frame["project_id"].to_numpy(np.int64), model.astype(np.int64), provider.astype(np.int64),
                   prompt_bin, output_bin, hour, requests, cost, model_names.tolist(), provider_names.tolist())

    def __len__(self) -> int:
        return len(self.project_id)


def _coded(values: Sequence[str]) -> tuple[NDArray[np.int64], list[str]]:
    """Each value's code and the distinct values sorted by code point, as np.unique gives them, by a dict
    (np.unique would first copy the strings into a fixed-width array and sort them all)."""
    seen: dict[str, int] = {}
    first_seen = np.fromiter((seen.setdefault(value, len(seen)) for value in values), dtype=np.int64,
                             count=len(values))
    names = sorted(seen)
    rank = np.empty(len(names), dtype=np.int64)
    rank[[seen[name] for name in names]] = np.arange(len(names))
    return rank[first_seen], names


def request_shapes(cells: pd.DataFrame | Cells, seed: int = 0) -> pd.DataFrame:
    """SHAPE_COLUMNS, one row per shape, shapes numbered 1.. per project by cost (largest first): shape_rows
    as a frame."""
    rows = shape_rows(cells if isinstance(cells, Cells) else Cells.from_frame(cells), seed)
    if not rows:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in SHAPE_COLUMNS})
    return pd.DataFrame(rows, columns=list(SHAPE_COLUMNS))


def shape_rows(cells: Cells, seed: int = 0) -> list[tuple[Any, ...]]:
    """One tuple per shape (SHAPE_COLUMNS' order; project_id -1 for the unattributed traffic, the hours a list),
    by project, then shape: numbered 1.. per project by cost (largest first)."""
    if not len(cells):
        return []
    # numpy, not pandas: on a small workspace's few hundred cells the pandas calls (a sort of Arrow strings, a
    # groupby) cost more than the fits. Models and providers as codes in code-point order.
    columns = _Cells(cells.project_id, cells.model, cells.provider, cells.prompt_bin, cells.output_bin, cells.hour,
                     cells.requests, cells.cost_nanos)
    # by project, model, provider, prompt bin, output bin, hour: the cells' whole key, so the order (and the
    # fit) never depends on the order they came in (lexsort: the last key sorts first)
    ordered = columns.take(np.lexsort((columns.hour, columns.output_bin, columns.prompt_bin, columns.provider,
                                       columns.model, columns.project_id)))
    projects, starts = np.unique(ordered.project_id, return_index=True)  # each project is one run of rows
    ends = [*starts[1:], len(ordered.project_id)]
    # each project fitted alone; its shapes numbered after the projects' before it, so that all the projects'
    # shapes are described at once (a numpy call per project cost more than the description's arithmetic)
    shape = np.empty(len(ordered.project_id), dtype=np.int64)
    project_of: list[int] = []  # per shape: its project's index
    for index, (start, end) in enumerate(zip(starts.tolist(), ends, strict=True)):
        project = ordered.take(slice(start, end))
        labels = _fit(_features(project), project.requests.astype(np.float64), seed, len(np.unique(project.model)),
                      _distinct_points(project))
        _, local = np.unique(labels, return_inverse=True)  # 0..m-1 in label order
        shape[start:end] = local + len(project_of)
        project_of += [index] * (int(local.max()) + 1)
    described = _describe(ordered, shape, project_of, np.add.reduceat(ordered.requests, starts).tolist(),
                          np.add.reduceat(ordered.cost_nanos, starts).tolist(), cells.model_names,
                          cells.provider_names)
    rows: list[tuple[Any, ...]] = []
    first = 0
    for index, project_id in enumerate(projects.tolist()):
        end = first + project_of.count(index)
        shapes = described[first:end]  # in label order
        shapes.sort(key=_largest_first)  # stable: equal shapes keep their label order
        rows += [(project_id, number, *described_shape) for number, described_shape in enumerate(shapes, start=1)]
        first = end
    return rows


def _features(cells: _Cells) -> NDArray[np.float64]:
    _, model_index = np.unique(cells.model, return_inverse=True)  # the project's models as 0..m-1
    models = np.eye(int(model_index.max()) + 1)[model_index] * MODEL_WEIGHT
    angle = cells.hour.astype(np.float64) / 24 * 2 * np.pi
    return np.column_stack([models, cells.prompt_bin * SIZE_WEIGHT, cells.output_bin * SIZE_WEIGHT,
                            np.cos(angle) * HOUR_WEIGHT, np.sin(angle) * HOUR_WEIGHT])


def _fit(features: NDArray[np.float64], weights: NDArray[np.float64], seed: int, models: int,
         distinct: int) -> NDArray[np.int64]:
    """Labels of the smallest k (at least one per model, at most MAX_SHAPES, at most the `distinct` points) that
    explains the traffic."""
    first = min(max(models, 1), MAX_SHAPES, distinct)
    baseline = float(np.sum(weights * ((features - np.average(features, axis=0, weights=weights)) ** 2).sum(axis=1)))
    labels = np.zeros(len(features), dtype=np.int64)
    for k in range(first, min(MAX_SHAPES, distinct) + 1):
        fit = weighted_kmeans(features, weights, k, seed=seed)
        labels = fit.labels
        if baseline == 0 or fit.inertia <= GOOD_ENOUGH * baseline:
            break
    return labels


@dataclass(frozen=True)
class _Cells:
    """Cells as numpy columns: a shape's description indexes arrays, not a DataFrame."""

    project_id: NDArray[np.int64]
    model: NDArray[np.int64]  # a code: the index of its name in the sorted names
    provider: NDArray[np.int64]  # likewise
    prompt_bin: NDArray[np.int64]
    output_bin: NDArray[np.int64]
    hour: NDArray[np.int64]
    requests: NDArray[np.int64]
    cost_nanos: NDArray[np.int64]

    def take(self, rows: NDArray[np.bool_] | NDArray[np.int64] | slice) -> _Cells:
        columns: list[NDArray[Any]] = [getattr(self, f.name)[rows] for f in fields(self)]
        return _Cells(*columns)


def _distinct_points(cells: _Cells) -> int:
    """How many distinct feature rows the cells make: a cell's features are its model, bins and hour, each
    told apart by them (one-hot, scaled bins, an hour's point on the clock), so counting the distinct
    (model, prompt bin, output bin, hour) is counting the rows (np.unique(features, axis=0) cost 0.1 ms)."""
    key = cells.model
    for column, span in ((cells.prompt_bin, 1 + int(cells.prompt_bin.max())),
                         (cells.output_bin, 1 + int(cells.output_bin.max())), (cells.hour, 24)):
        key = key * span + column
    return len(np.unique(key))


def _largest_first(shape: tuple[Any, ...]) -> tuple[int, int, str]:
    """Largest cost first, then most requests, then by label."""
    return -shape[_COST], -shape[_REQUESTS], shape[_LABEL]


# positions in a shape's description (SHAPE_COLUMNS after project_id and shape)
_LABEL, _REQUESTS, _COST = 5, 6, 7


def _describe(cells: _Cells, shape: NDArray[np.int64], project_of: list[int], project_requests: list[int],
              project_costs: list[int], names: list[str], providers: list[str]) -> list[tuple[Any, ...]]:
    """Each shape's description (SHAPE_COLUMNS from model on), in shape order: every shape at once, by shape index
    (`shape`: each cell's, 0..count-1; `project_of`: each shape's project, whose requests and cost in all the
    shares are of); a numpy call per shape cost more than the fit on a few dozen cells."""
    count = len(project_of)
    requests, costs = cells.requests, cells.cost_nanos
    by_shape = np.argsort(shape, kind="stable")
    starts = np.searchsorted(shape[by_shape], np.arange(count))
    shape_requests = np.add.reduceat(requests[by_shape], starts).tolist()
    shape_costs = np.add.reduceat(costs[by_shape], starts).tolist()
    # the model with the most requests; a tie goes to the first by code point (the lowest code: argmax takes
    # the first of equal sums); its provider is that of the shape's first cell of it
    per_model = np.zeros((count, len(names)), dtype=np.int64)
    np.add.at(per_model, (shape, cells.model), requests)
    model = per_model.argmax(axis=1)
    first = np.full(count, len(shape), dtype=np.int64)
    with_model = np.flatnonzero(cells.model == model[shape])
    np.minimum.at(first, shape[with_model], with_model)
    hours = np.zeros((count, 24), dtype=np.int64)
    np.add.at(hours, (shape, cells.hour), requests)
    spans = [hours[:, span].sum(axis=1).tolist() for span in (_NIGHT, _WORKING, _EVENING)]
    described = []
    for index, (prompt_bin, output_bin, spent, asked, project) in enumerate(zip(
            _weighted_medians(shape, count, cells.prompt_bin, requests),
            _weighted_medians(shape, count, cells.output_bin, requests), shape_costs, shape_requests, project_of,
            strict=True)):
        prompt_band = _band(prompt_bin, PROMPT_BANDS)
        output_band = _band(output_bin, OUTPUT_BANDS)
        profile = _profile(asked, spans[0][index], spans[1][index], spans[2][index])
        total_requests, total_cost = project_requests[project], project_costs[project]
        described.append((
            names[model[index]], providers[cells.provider[first[index]]], prompt_band, output_band, profile,
            f"{prompt_band}, {output_band}, {profile}", asked, spent,
            round(asked / total_requests, 4) if total_requests else 0.0,
            round(spent / total_cost, 4) if total_cost else 0.0,
            round(2 ** (prompt_bin + 0.5)), round(2 ** (output_bin + 0.5)), hours[index].tolist()))
    return described


def _weighted_medians(shape: NDArray[np.int64], count: int, values: NDArray[np.int64],
                      weights: NDArray[np.int64]) -> list[int]:
    """Each shape's weighted median of `values`: the first value, in value order, at which the shape's
    cumulative weight reaches half its total (integer sums, compared with the half as a float)."""
    order = np.lexsort((values, shape))
    segment, cumulative = shape[order], np.cumsum(weights[order])
    ends = np.searchsorted(segment, np.arange(1, count + 1))
    before = np.concatenate([np.zeros(1, dtype=np.int64), cumulative[ends[:-1] - 1]])
    inside = cumulative - before[segment]
    half = (inside[ends - 1] / 2)[segment]
    # within a shape `inside` only grows, so the rows short of half are its first ones
    short = np.bincount(segment, weights=inside < half, minlength=count).astype(np.int64)
    medians: list[int] = values[order][np.r_[0, ends[:-1]] + short].tolist()
    return medians


def time_profile(hours: NDArray[np.int64]) -> str:
    """'nightly', 'working hours', 'evenings' or 'round the clock' from 24 local-hour counts."""
    return _profile(int(hours.sum()), *(int(hours[span].sum()) for span in (_NIGHT, _WORKING, _EVENING)))


_NIGHT, _WORKING, _EVENING = (np.array(span) for span in (NIGHT, WORKING, EVENING))


def _profile(total: int, night: int, working: int, evening: int) -> str:
    """time_profile from the hours' total and the three spans' sums (integers: exact, whatever their size)."""
    if total == 0:
        return "round the clock"
    for name, spent, share in (("nightly", night, 0.6), ("working hours", working, 0.7), ("evenings", evening, 0.6)):
        if spent >= share * total:
            return name
    return "round the clock"


def _band(log2_bin: int, bands: tuple[tuple[int, str], ...]) -> str:
    return next(name for upper, name in bands if log2_bin < upper)
