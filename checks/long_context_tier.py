"""long-context-tier: prompts just over a long-context price threshold.

Rule: successful requests whose prompt (input + cache read + cache write) is above the model's
long-context threshold but within a quarter of it (threshold < prompt <= 1.25 x threshold), at least
5 per project. Trimming such a prompt below the line bills the whole request at base rates.
Saving: what those requests paid minus the same tokens at the base (below-threshold) rates of their
tier and date, scaled to a 30-day month.
Confidence: medium (trimming a prompt is work, and not every prompt can lose a fifth).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from checks.base import (
    Check,
    CheckInputs,
    Finding,
    dollars,
    groups,
    price,
    project_or_none,
    prompt_tokens,
    samples,
    successful,
)
from pricing import RateTable

ID = "long-context-tier"
MIN_REQUESTS = 5
MARGIN = 1.25


def base_cost(rows: pd.DataFrame, rates: RateTable) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Each row's tokens at its tier's base (below-threshold) rates of the version in force that day,
    rounded half up to nanos like the cost function."""
    cost = np.zeros(len(rows), dtype=np.int64)
    ok = np.zeros(len(rows), dtype=bool)
    day = rows["started_at"].dt.date.to_numpy()
    # one look-up per (model, tier, version) rather than per day: versions change at a few midnights
    version_of = {d: rates.version_at(d) for d in set(day.tolist())}
    version = np.array([version_of[d] for d in day.tolist()], dtype=object)
    keys: Any = pd.MultiIndex.from_arrays([rows["model"].astype(str), rows["service_tier"].astype(str), version])
    codes, uniques = pd.factorize(keys)
    first_day = {v: min(d for d, w in version_of.items() if w == v) for v in set(version_of.values())}
    for code, (model, tier, version_id) in enumerate(uniques):
        mask = codes == code
        info = rates.model_info(model, at=first_day[version_id])
        tier_rates = info.rates.get(tier) if info else None
        if tier_rates is None:
            continue
        part = rows[mask]
        pico = (np.asarray(part["input_tokens"], np.int64) * tier_rates.input
                + np.asarray(part["cache_read_tokens"], np.int64) * tier_rates.cache_read
                + np.asarray(part["cache_write_tokens"], np.int64) * tier_rates.cache_write
                + np.asarray(part["output_tokens"], np.int64) * tier_rates.output)
        cost[mask] = (pico + 500) // 1000
        ok[mask] = True
    return cost, ok


def run(inputs: CheckInputs) -> list[Finding]:
    findings: list[Finding] = []
    frame = successful(inputs.usage.odd)  # every prompt above a threshold is one of the window's odd requests
    model = frame["model"].astype("category")
    infos = [inputs.rates.model_info(str(m), at=inputs.as_of) for m in model.cat.categories]
    # one look-up per model, then per row by the categorical's codes (a Python call per row is slow)
    by_code = np.array([(info.long_context_threshold or 0) if info else 0 for info in infos] + [0], dtype=np.int64)
    limit = by_code[np.asarray(model.cat.codes)]
    prompts = prompt_tokens(frame)
    near = (limit > 0) & (prompts > limit) & (prompts <= limit * MARGIN)
    frame = frame.assign(threshold=limit)[near]
    for (project_id,), rows in groups(frame, ["project_id"]):
        if len(rows) < MIN_REQUESTS:
            continue
        paid = price(rows, inputs.rates)
        base, ok = base_cost(rows, inputs.rates)
        both = paid.priced & ok
        actual, counterfactual = int(paid.cost_nanos[both].sum()), int(base[both].sum())
        monthly = inputs.monthly(actual - counterfactual)
        if monthly <= 0:
            continue
        per_model = rows.groupby(rows["model"].astype(str))["threshold"].agg(["first", "count"])
        models = {str(m): {"threshold_tokens": int(r["first"]), "requests": int(r["count"])}
                  for m, r in per_model.iterrows()}
        lines = ", ".join(f"{m} {v['threshold_tokens']:,}" for m, v in models.items())
        label = inputs.project_label(int(project_id))
        findings.append(Finding(
            check_id=ID, project_id=project_or_none(int(project_id)), subject="prompts-over-threshold",
            title=f"Trim {label}'s prompts under the long-context line",
            rationale=(f"{len(rows):,} requests had prompts within a quarter above the long-context threshold "
                       f"({lines}) and paid long-context rates on every token: {dollars(actual)} instead of "
                       f"{dollars(counterfactual)} at base rates."),
            monthly_saving_nanos=monthly, confidence="medium", request_count=len(rows),
            sample_request_ids=samples(rows),
            evidence={"models": models, "actual_nanos": actual, "counterfactual_nanos": counterfactual,
                      "window_saving_nanos": actual - counterfactual, "days_observed": inputs.days_observed,
                      "unpriced_requests": int((~both).sum())},
        ))
    return findings


CHECK = Check(ID, "Stay under the long-context threshold", "Prompts just over a long-context price line "
              "that bill the whole request at the higher rate.", ("context", "cost"), run)
