"""Hand-made inputs for the catalog's pure tests: small request frames shaped like store.frames'."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from checks import REQUEST_COLUMNS, CheckInputs
from pricing import load_rates
from store.catalog_reads import CLUSTER_COLUMNS, DAILY_COLUMNS, LOOP_COLUMNS

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)  # rates version 2026-08-21 is in force
START = AS_OF - timedelta(days=30)
PROVIDER = {"claude": "anthropic", "gpt": "openai", "gemini": "gemini", "grok": "xai"}

_next_id = [1000]


def rows(count: int, *, model: str = "claude-sonnet-4-6", project: int = 1, device: int = 1, input: int = 1000,
         output: int = 100, reasoning: int = 0, cache_read: int = 0, cache_write: int = 0, tier: str = "standard",
         start: datetime = START, every: timedelta = timedelta(hours=1), status: int = 200, cost: int = 0,
         prompt_key: int = 0) -> list[dict[str, Any]]:
    """`count` identical requests, `every` apart from `start`."""
    out = []
    for i in range(count):
        _next_id[0] += 1
        out.append({"id": _next_id[0], "started_at": start + i * every, "device_id": device, "project_id": project,
                    "provider": PROVIDER[model.split("-")[0]], "model": model, "service_tier": tier,
                    "status_code": status, "input_tokens": input, "cache_read_tokens": cache_read,
                    "cache_write_tokens": cache_write, "output_tokens": output, "reasoning_tokens": reasoning,
                    "cost_nanos": cost, "prompt_key": prompt_key})
    return out


def frame(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    data = pd.DataFrame(list(records), columns=list(REQUEST_COLUMNS))
    data["started_at"] = pd.to_datetime(data["started_at"], utc=True).astype("datetime64[us, UTC]")
    for name in ("provider", "model", "service_tier"):
        data[name] = data[name].astype("category")
    for name in REQUEST_COLUMNS:
        if name not in ("started_at", "provider", "model", "service_tier"):
            data[name] = data[name].astype("int64")
    return data


def inputs(records: Sequence[dict[str, Any]], *, daily: pd.DataFrame | None = None,
           clusters: Sequence[dict[str, Any]] = (), loops: Sequence[dict[str, Any]] = (),
           timezone: str = "UTC", as_of: datetime = AS_OF) -> CheckInputs:
    return CheckInputs(
        workspace_id=1, window_start=as_of - timedelta(days=30), as_of=as_of, requests=frame(records),
        daily=daily if daily is not None else pd.DataFrame(columns=DAILY_COLUMNS),
        clusters=pd.DataFrame(list(clusters), columns=CLUSTER_COLUMNS),
        loops=pd.DataFrame(list(loops), columns=LOOP_COLUMNS), rates=load_rates(), timezone=timezone,
        project_names={1: "acme-summariser", 2: "acme-other"}, device_names={1: "worker-1", 2: "laptop-2"},
    )


def cluster(prompt_key: int, *kinds: str) -> dict[str, Any]:
    return {"prompt_hash": f"{prompt_key & (2**64 - 1):016x}" + "0" * 48, "prompt_key": prompt_key, "requests": 2,
            "devices": 1, "projects": 1, "first_at": START, "last_at": AS_OF, "cost_nanos": 0,
            "duplicate_requests": 1, "avoidable_nanos": 0, "kinds": list(kinds)}
