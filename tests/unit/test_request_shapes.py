"""Request shapes (weighted k-means) on hand-made cells: bands, profiles, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clustering import request_shapes, time_profile
from clustering.shapes import Cells, _Cells, _distinct_points, _features, shape_rows


def cells() -> pd.DataFrame:
    rows = []
    # project 1: a nightly job with long prompts and short answers (most of the spend) ...
    for hour in range(0, 5):
        for prompt_bin in (15, 16):
            rows.append((1, "claude-sonnet-4-6", "anthropic", prompt_bin, 6, hour, 400, 90_000_000))
    # ... and daytime chat with short prompts and medium answers on another model
    for hour in range(9, 18):
        rows.append((1, "gpt-5-mini", "openai", 8, 9, hour, 100, 2_000_000))
    # project 2: one shape only
    rows.append((2, "claude-haiku-4-5", "anthropic", 11, 7, 14, 50, 1_000_000))
    return pd.DataFrame(rows, columns=["project_id", "model", "provider", "prompt_bin", "output_bin", "hour",
                                       "requests", "cost_nanos"])


def test_a_project_is_split_into_its_shapes_with_bands_profile_and_shares() -> None:
    shapes = request_shapes(cells(), seed=0)
    first = shapes[shapes["project_id"] == 1].iloc[0]
    assert first["shape"] == 1
    assert first["model"] == "claude-sonnet-4-6"
    assert first["label"] == "long prompts, short answers, nightly"
    assert first["requests"] == 4000 and first["cost_nanos"] == 900_000_000
    assert first["cost_share"] == round(900_000_000 / (900_000_000 + 18_000_000), 4)
    second = shapes[shapes["project_id"] == 1].iloc[1]
    assert second["label"] == "short prompts, medium answers, working hours"
    assert second["model"] == "gpt-5-mini" and second["provider"] == "openai"
    only = shapes[shapes["project_id"] == 2]
    assert len(only) == 1 and only.iloc[0]["cost_share"] == 1.0


def test_the_same_cells_and_seed_give_the_same_shapes_in_any_row_order() -> None:
    one = request_shapes(cells(), seed=5)
    two = request_shapes(cells().sample(frac=1.0, random_state=2), seed=5)
    pd.testing.assert_frame_equal(one, two)


def test_one_model_from_two_providers_gives_the_same_shapes_in_any_row_order() -> None:
    data = pd.concat([cells(), cells().assign(provider="bedrock", requests=cells()["requests"] // 2)],
                     ignore_index=True)
    one = request_shapes(data, seed=3)
    for state in range(3):
        pd.testing.assert_frame_equal(one, request_shapes(data.sample(frac=1.0, random_state=state), seed=3))


def test_shapes_of_a_project_add_up_to_its_traffic() -> None:
    data = cells()
    shapes = request_shapes(data, seed=0)
    totals = shapes.groupby("project_id")[["requests", "cost_nanos"]].sum()
    expected = data.groupby("project_id")[["requests", "cost_nanos"]].sum()
    pd.testing.assert_frame_equal(totals, expected, check_dtype=False)


def test_time_profiles() -> None:
    night = np.zeros(24, dtype=np.int64)
    night[1:5] = 10
    assert time_profile(night) == "nightly"
    assert time_profile(np.ones(24, dtype=np.int64)) == "round the clock"


def test_no_cells_no_shapes() -> None:
    assert request_shapes(cells().iloc[0:0]).empty


def test_shape_rows_from_the_stores_rows_are_the_frames_rows() -> None:
    data = pd.concat([cells(), cells().assign(project_id=-1, requests=cells()["requests"] * 3)], ignore_index=True)
    rows = shape_rows(Cells.from_rows(list(data.itertuples(index=False, name=None))), seed=4)
    assert rows == list(request_shapes(data, seed=4).itertuples(index=False, name=None))
    assert all(type(value) in (int, float, str, list) for row in rows for value in row)
    assert shape_rows(Cells.from_rows([]), seed=4) == []


def test_distinct_points_counts_the_distinct_feature_rows() -> None:
    rng = np.random.default_rng(8)
    for _ in range(50):
        size = int(rng.integers(1, 60))
        grid = _Cells(np.zeros(size, dtype=np.int64), rng.integers(0, 3, size), np.zeros(size, dtype=np.int64),
                      rng.integers(0, 4, size), rng.integers(0, 3, size), rng.integers(0, 24, size),
                      np.ones(size, dtype=np.int64), np.ones(size, dtype=np.int64))
        assert _distinct_points(grid) == len(np.unique(_features(grid), axis=0))
