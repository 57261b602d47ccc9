"""Hand-made request timelines for the clustering tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

T0 = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)
HASH_A = "a" * 64
HASH_B = "b" * 64


def timeline(offsets_seconds: list[float] | np.ndarray, *, prompt_hash: str | None = HASH_A, device: int = 1,
             project: int = 10, model: str = "claude-sonnet-4-6", provider: str = "anthropic",
             status: list[int] | None = None, cost: int = 1_000_000, input_tokens: int = 5000,
             cache_read: int = 0, start: datetime = T0) -> pd.DataFrame:
    n = len(offsets_seconds)
    started = [start + timedelta(seconds=float(s)) for s in offsets_seconds]
    return pd.DataFrame({
        "id": np.arange(n, dtype=np.int64),
        "prompt_hash": pd.Series([prompt_hash] * n, dtype=object),
        "started_at": pd.to_datetime(started, utc=True).astype("datetime64[us, UTC]"),
        "device_id": np.full(n, device, dtype=np.int64),
        "project_id": np.full(n, project, dtype=np.int64),
        "model": pd.Categorical([model] * n),
        "provider": pd.Categorical([provider] * n),
        "status_code": np.array(status if status is not None else [200] * n, dtype=np.int16),
        "input_tokens": np.full(n, input_tokens, dtype=np.int64),
        "cache_read_tokens": np.full(n, cache_read, dtype=np.int64),
        "cache_write_tokens": np.zeros(n, dtype=np.int64),
        "output_tokens": np.full(n, 200, dtype=np.int64),
        "cost_nanos": np.full(n, cost, dtype=np.int64),
    })


def joined(*frames: pd.DataFrame) -> pd.DataFrame:
    out = pd.concat(frames, ignore_index=True)
    out["id"] = np.arange(len(out), dtype=np.int64)
    for name in ("model", "provider"):
        out[name] = out[name].astype(str).astype("category")
    return out
