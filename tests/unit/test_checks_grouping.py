"""checks.usage.Grouping, the checks' numpy groupby, gives what pandas' groupby(sort=True) gives: the same
keys in the same order with the same index types, sums exact in int64, maxima, distinct counts; on empty
frames too."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from checks.usage import Grouping, by_project_model, grouped_rows

MODELS = ["gpt-5", "claude-sonnet-4-6", "gemini-2.5-pro", "gpt-5.1", "Zeta", "a"]


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "project_id": rng.integers(-1, 4, rows).astype(np.int64),
        "model": pd.array(rng.choice(MODELS, rows), dtype="str"),
        "requests": rng.integers(0, 1 << 60, rows) // 8,  # sums near int64's range stay exact
        "max_prompt": rng.integers(0, 1 << 40, rows),
        "local_day": np.array([date(2026, 11, 1) + timedelta(days=int(d)) for d in rng.integers(0, 5, rows)],
                              dtype=object),
    })


@pytest.mark.parametrize("rows", [0, 1, 2, 7, 300])
def test_grouping_gives_what_a_sorted_pandas_groupby_gives(rows: int) -> None:
    for data in (frame(rows, seed=rows), frame(rows, seed=rows).iloc[:0]):
        grouped = data.groupby(["project_id", "model"], observed=True, sort=True)
        expected = grouped[["requests"]].sum()
        expected["max_prompt"] = grouped["max_prompt"].max()
        expected["days"] = grouped["local_day"].nunique()
        by = Grouping.of(data, ["project_id", "model"])
        got = by.frame({"requests": by.sum(data["requests"]), "max_prompt": by.max(data["max_prompt"]),
                        "days": by.nunique(data["local_day"])})
        pd.testing.assert_frame_equal(got, expected, check_exact=True, check_index_type=True)
        assert got.index.to_frame().dtypes.to_dict() == expected.index.to_frame().dtypes.to_dict()


def test_grouping_some_rows_by_a_mask_is_grouping_those_rows() -> None:
    data = frame(300, seed=5)
    for rows in (np.asarray(data["project_id"] >= 0), np.zeros(len(data), dtype=bool)):
        expected = data[rows].groupby(["project_id", "model"], observed=True, sort=True)[["requests"]].sum()
        by = Grouping.of(data, ["project_id", "model"], rows=rows)
        got = by.frame({"requests": by.sum(np.asarray(data["requests"])[rows])})
        pd.testing.assert_frame_equal(got, expected, check_exact=True, check_index_type=True)


@pytest.mark.parametrize("rows", [0, 1, 7, 300])
def test_the_groups_walked_without_a_frame_are_the_frames_rows(rows: int) -> None:
    data = frame(rows, seed=rows + 11)
    by = Grouping.of(data, ["project_id", "model"])
    columns = {"requests": by.sum(data["requests"]), "max_prompt": by.max(data["max_prompt"]),
               "days": by.nunique(data["local_day"])}
    assert by.key_tuples() == list(by.index)
    walked = list(grouped_rows(by, columns))
    assert walked == list(by_project_model(by.frame(columns)))
    assert all(type(value) is int for _, _, row in walked for value in row.values())
