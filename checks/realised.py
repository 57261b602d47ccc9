"""Realised savings of accepted recommendations: what the traffic since acceptance would have cost the
way it ran before (the counterfactual), minus what it cost, per UTC month.

Only recommendations whose evidence names a counterfactual can be measured this way:
- {"kind": "model", "from": A, "to": B}: the scope's requests on B since acceptance, priced on A;
- {"kind": "tier", "model": M, "from": "standard", "to": "batch"}: the scope's requests on M at the
  batch tier since acceptance, priced at the standard tier.
Both sides are priced with the same table (rates in force at each request's start), over the rows
both can price, so a daemon's stale rates do not show up as a saving.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from checks.base import NO_PROJECT, price
from pricing import RateTable

#: per-request columns the realised-savings stage reads
REALISED_COLUMNS: tuple[str, ...] = (
    "id", "started_at", "project_id", "model", "service_tier", "status_code", "input_tokens",
    "cache_read_tokens", "cache_write_tokens", "output_tokens", "cost_nanos",
)


@dataclass(frozen=True)
class Decision:
    fingerprint: str
    project_id: int | None  # None: the whole workspace
    decided_at: datetime
    counterfactual: dict[str, Any] | None


def measurable(counterfactual: object) -> bool:
    return isinstance(counterfactual, dict) and counterfactual.get("kind") in ("model", "tier")


def realised(decisions: Sequence[Decision], requests: pd.DataFrame,
             rates: RateTable) -> list[tuple[str, date, int, int]]:
    """(fingerprint, month, counterfactual_nanos, actual_nanos) per decision and month with traffic."""
    out: list[tuple[str, date, int, int]] = []
    if not len(requests):
        return out
    # one lookup per distinct model, not a Python call per request
    codes, names = pd.factorize(requests["model"].astype(str))
    canonical = pd.Series(np.array([rates.canonical(n) or n for n in names], dtype=object)[codes],
                          index=requests.index)
    for decision in decisions:
        spec = decision.counterfactual
        if spec is None or not measurable(spec):
            continue
        scope = (requests["status_code"] == 200) & (requests["started_at"] >= pd.Timestamp(decision.decided_at))
        if decision.project_id is not None:
            scope &= requests["project_id"] == decision.project_id
        else:
            scope &= requests["project_id"] != NO_PROJECT
        if spec["kind"] == "model":
            rows = requests[scope & (canonical == spec["to"])]
            actual, counterfactual = price(rows, rates), price(rows, rates, as_model=str(spec["from"]))
        else:
            rows = requests[scope & (canonical == spec["model"]) & (requests["service_tier"] == spec["to"])]
            actual, counterfactual = price(rows, rates), price(rows, rates, service_tier=str(spec["from"]))
        both = actual.priced & counterfactual.priced
        month = rows["started_at"].dt.tz_localize(None).dt.to_period("M").to_numpy()
        for period in sorted(set(month[both].tolist())):
            in_month = both & (month == period)
            out.append((decision.fingerprint, period.to_timestamp().date(),
                        int(counterfactual.cost_nanos[in_month].sum()), int(actual.cost_nanos[in_month].sum())))
    return out


__all__ = ["REALISED_COLUMNS", "Decision", "measurable", "realised"]
