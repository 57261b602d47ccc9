"""The column layout of generated rows: small integer codes until they are written."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntFlag
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Columns = dict[str, NDArray[Any]]

SERVICE_TIERS: tuple[str, ...] = ("standard", "batch", "flex", "priority")
ATTRIBUTION_TIERS: tuple[str, ...] = ("header", "repo", "directory", "default")


class Mark(IntFlag):
    """Which planted pattern a row belongs to (a row can carry several)."""

    OVERPOWERED = 1
    HOT_PROMPT = 2
    LOOP = 4
    LONG_CONTEXT = 8
    NIGHTLY = 16
    UNATTRIBUTED = 32
    STALE_RATE = 64
    LEGACY = 128
    CACHE_WASTE = 256
    REASONING = 512
    SPIKE = 1024
    CACHEABLE = 2048


# The draft: what the traffic generators decide before `finish` adds the rest.
DRAFT_DTYPES: dict[str, type[np.generic]] = {
    "origin": np.int16,  # the project whose traffic it is
    "project": np.int16,  # the project it is attributed to, -1 when unattributed
    "device": np.int16,
    "model": np.int16,
    "tier": np.int8,
    "attribution": np.int8,  # into ATTRIBUTION_TIERS, -1 when unattributed
    "started": np.int64,  # UTC microseconds
    "prompt": np.int64,  # prompt tokens, cached prefix included
    "visible": np.int64,  # output tokens before reasoning
    "max_tokens": np.int64,  # -1: no cap sent
    "prompt_id": np.uint64,
    "mark": np.int16,
}


def empty_draft(count: int) -> Columns:
    return {name: np.zeros(count, dtype=dtype) for name, dtype in DRAFT_DTYPES.items()}


def categorical(codes: NDArray[Any], names: Sequence[str]) -> pd.Categorical[str]:
    """Text from small integer codes (-1: null), without building a string per row."""
    return pd.Categorical.from_codes(codes.astype(np.int64), categories=pd.Index(list(names)))


def concat(parts: Sequence[Columns]) -> Columns:
    if not parts:
        return empty_draft(0)
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
