"""checks.usage.day_keys_of, the odd requests' time keys converted one by one (zoneinfo) for a few rows, gives
what day_keys gives through pandas: the same UTC and local days (datetime.date objects) and night flags, around
daylight-saving changes and local midnights in zones east and west of UTC, half-hour ones, and on no rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from checks.usage import FEW_ROWS, day_keys, day_keys_of

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "America/St_Johns", "Asia/Kolkata", "Australia/Lord_Howe",
         "Pacific/Chatham", "Pacific/Kiritimati", "America/Santiago", "Etc/GMT+12"]


def instants(rows: int, seed: int) -> np.ndarray:
    """The first `rows` of: every half hour (and a microsecond before) of the days of some clock changes (Europe,
    US, the southern hemisphere), then random microseconds over 2024-2027."""
    rng = np.random.default_rng(seed)
    lo = np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64)
    hi = np.datetime64("2028-01-01T00:00:00", "us").astype(np.int64)
    spread = rng.integers(lo, hi, rows)
    edges = [np.datetime64(day, "us") + np.timedelta64(30, "m") * np.arange(48) - np.timedelta64(1, "us") * k
             for day in ("2026-03-29", "2026-10-25", "2026-03-08", "2026-11-01", "2026-04-05", "2026-09-06")
             for k in (0, 1)]
    return np.concatenate([*edges, spread.astype("datetime64[us]")])[:rows]


def assert_same(utc: np.ndarray, zone: str) -> None:
    want = day_keys(pd.Series(utc).dt.tz_localize("UTC"), zone)
    got = day_keys_of(utc, zone)
    assert got.keys() == want.keys()
    for key in want:
        assert got[key].dtype == want[key].dtype, key
        assert got[key].tolist() == want[key].tolist(), (zone, key)


@pytest.mark.parametrize("zone", ZONES)
def test_few_rows_match_pandas(zone: str) -> None:
    utc = instants(4 * FEW_ROWS, seed=len(zone))
    for at in range(0, len(utc), FEW_ROWS):  # FEW_ROWS at a time: the one-by-one path
        assert_same(utc[at:at + FEW_ROWS], zone)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Kolkata"])
def test_more_rows_and_none(zone: str) -> None:
    assert_same(instants(FEW_ROWS + 300, seed=5), zone)  # through pandas
    assert_same(np.array([], dtype="datetime64[us]"), zone)
    assert_same(instants(1, seed=2), zone)
