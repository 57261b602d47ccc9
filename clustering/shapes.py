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


def request_shapes(cells: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """SHAPE_COLUMNS, one row per shape, shapes numbered 1.. per project by cost (largest first)."""
    if cells.empty:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in SHAPE_COLUMNS})
    # numpy, not pandas, from here: on a small workspace's few hundred cells the pandas calls (a sort of
    # Arrow strings, a groupby) cost more than the fits. Models as codes in code-point order.
    names, codes = np.unique(cells["model"].to_numpy(dtype=str), return_inverse=True)
    columns = _Cells(cells["project_id"].to_numpy(np.int64), codes.astype(np.int64),
                     cells["provider"].to_numpy(dtype=object),
                     *(cells[name].to_numpy(np.int64) for name in ("prompt_bin", "output_bin", "hour", "requests",
                                                                   "cost_nanos")))
    # by project, model, provider, prompt bin, output bin, hour: the cells' whole key, so the order (and the
    # fit) never depends on the order they came in (lexsort: the last key sorts first)
    _, providers = np.unique(columns.provider.astype(str), return_inverse=True)
    ordered = columns.take(np.lexsort((columns.hour, columns.output_bin, columns.prompt_bin, providers,
                                       columns.model, columns.project_id)))
    projects, starts = np.unique(ordered.project_id, return_index=True)  # each project is one run of rows
    ends = [*starts[1:], len(ordered.project_id)]
    rows = [row for project, start, end in zip(projects.tolist(), starts.tolist(), ends, strict=True)
            for row in _project_shapes(int(project), ordered.take(slice(start, end)), names, seed)]
    return pd.DataFrame(rows, columns=list(SHAPE_COLUMNS))


def _features(cells: _Cells) -> NDArray[np.float64]:
    _, model_index = np.unique(cells.model, return_inverse=True)  # the project's models as 0..m-1
    models = np.eye(int(model_index.max()) + 1)[model_index] * MODEL_WEIGHT
    angle = cells.hour.astype(np.float64) / 24 * 2 * np.pi
    return np.column_stack([models, cells.prompt_bin * SIZE_WEIGHT, cells.output_bin * SIZE_WEIGHT,
                            np.cos(angle) * HOUR_WEIGHT, np.sin(angle) * HOUR_WEIGHT])


def _fit(features: NDArray[np.float64], weights: NDArray[np.float64], seed: int, models: int) -> NDArray[np.int64]:
    """Labels of the smallest k (at least one per model, at most MAX_SHAPES) that explains the traffic."""
    distinct = len(np.unique(features, axis=0))
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
    provider: NDArray[np.object_]
    prompt_bin: NDArray[np.int64]
    output_bin: NDArray[np.int64]
    hour: NDArray[np.int64]
    requests: NDArray[np.int64]
    cost_nanos: NDArray[np.int64]

    def take(self, rows: NDArray[np.bool_] | NDArray[np.int64] | slice) -> _Cells:
        columns: list[NDArray[Any]] = [getattr(self, f.name)[rows] for f in fields(self)]
        return _Cells(*columns)


def _project_shapes(project_id: int, cells: _Cells, names: NDArray[np.str_], seed: int) -> list[dict[str, Any]]:
    weights = cells.requests.astype(np.float64)
    labels = _fit(_features(cells), weights, seed, len(np.unique(cells.model)))
    total_requests = int(cells.requests.sum())
    total_cost = int(cells.cost_nanos.sum())
    shapes = [_describe(cells.take(labels == label), names, total_requests, total_cost)
              for label in np.unique(labels)]
    shapes.sort(key=_largest_first)  # stable: equal shapes keep their label order
    return [{"project_id": project_id, "shape": number, **shape} for number, shape in enumerate(shapes, start=1)]


def _largest_first(shape: dict[str, Any]) -> tuple[int, int, str]:
    """Largest cost first, then most requests, then by label."""
    return -shape["cost_nanos"], -shape["requests"], shape["label"]


def _describe(cells: _Cells, names: NDArray[np.str_], total_requests: int, total_cost: int) -> dict[str, Any]:
    requests = cells.requests
    # the model with the most requests; a tie goes to the first by code point (the lowest code: argmax
    # takes the first of equal sums, exact in float64 below 2**53 requests)
    code = int(np.argmax(np.bincount(cells.model, weights=requests)))
    model = str(names[code])
    provider = str(cells.provider[int(np.flatnonzero(cells.model == code)[0])])
    prompt_bin = _weighted_median(cells.prompt_bin, requests)
    output_bin = _weighted_median(cells.output_bin, requests)
    hours = np.bincount(cells.hour, weights=requests, minlength=24).astype(np.int64)
    prompt_band = _band(prompt_bin, PROMPT_BANDS)
    output_band = _band(output_bin, OUTPUT_BANDS)
    profile = time_profile(hours)
    cost = int(cells.cost_nanos.sum())
    return {"model": model, "provider": provider, "prompt_band": prompt_band, "output_band": output_band,
            "time_profile": profile, "label": f"{prompt_band}, {output_band}, {profile}",
            "requests": int(requests.sum()), "cost_nanos": cost,
            "request_share": round(int(requests.sum()) / total_requests, 4) if total_requests else 0.0,
            "cost_share": round(cost / total_cost, 4) if total_cost else 0.0,
            "typical_prompt_tokens": round(2 ** (prompt_bin + 0.5)),
            "typical_output_tokens": round(2 ** (output_bin + 0.5)),
            "hours": hours.tolist()}


def time_profile(hours: NDArray[np.int64]) -> str:
    """'nightly', 'working hours', 'evenings' or 'round the clock' from 24 local-hour counts."""
    total = hours.sum()
    if total == 0:
        return "round the clock"
    for name, span, share in (("nightly", NIGHT, 0.6), ("working hours", WORKING, 0.7), ("evenings", EVENING, 0.6)):
        if hours[list(span)].sum() >= share * total:
            return name
    return "round the clock"


def _weighted_median(values: NDArray[np.int64], weights: NDArray[np.int64]) -> int:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return int(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _band(log2_bin: int, bands: tuple[tuple[int, str], ...]) -> str:
    return next(name for upper, name in bands if log2_bin < upper)
